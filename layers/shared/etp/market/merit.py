"""The merit order of a slot's bids: the priority the auction (etp.market.clearing) serves them in, and the
order the bid lists and the operator's console show them in. Pure; no numpy, so the API functions that list
bids do not load what the auction needs."""

from collections.abc import Iterable
from operator import attrgetter
from typing import Protocol

_ID, _PRICE = attrgetter("id"), attrgetter("price_milli")


class Ranked(Protocol):
    """What a bid's place in the merit order depends on (a clearing Bid, a StoredBid)."""

    @property
    def id(self) -> str: ...
    @property
    def side(self) -> str: ...
    @property
    def price_milli(self) -> int: ...


def merit_order[B: Ranked](bids: Iterable[B]) -> tuple[list[B], list[B]]:
    """(buys, sells) in priority order: buys highest price first, sells lowest first, equal prices by bid id.
    The price sorts are stable (reverse=True too), so after one sort by id, one integer-key sort a side."""
    by_id = sorted(bids, key=_ID)
    buys = [bid for bid in by_id if bid.side == "buy"]
    sells = [bid for bid in by_id if bid.side == "sell"]
    buys.sort(key=_PRICE, reverse=True)
    sells.sort(key=_PRICE)
    return buys, sells
