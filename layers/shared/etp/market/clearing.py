"""Gate-closure clearing of one hourly slot: a sealed-bid uniform-price double auction. Pure, exact integers.

Rules (volumes in Wh, prices in milli-NT$ per kWh):

- Q* = max over prices p of min(D(p), S(p)); D(p) is the volume of buys priced >= p, S(p) of sells priced <= p.
  Equivalently: walk the buys from the highest price down and the sells from the lowest price up, Wh by Wh,
  while the buy price still covers the sell price.
- b is the price of the buy holding the Q*-th Wh of that walk (the lowest buy price needed), s that of the sell
  (the highest sell price needed). Every trade is at p* = s + k·(b - s), rounded half up to a whole milli-NT$:
  p* = floor(s + k·(b - s) + 1/2). Since s and b are integers, s <= p* <= b.
- Bids priced strictly better than their side's marginal price (b or s) fill completely. The bids AT the marginal
  price share what is left of Q* pro-rata to their volume: each gets the floor of its exact share, and the Wh left
  over go one each to the largest remainders, ties to the smaller bid id. Every bid gets at most its volume, and
  each side's fills sum to Q* exactly. Both sides are rationed by the same rule, independently; with this Q* at
  most one side is actually cut (if both marginal groups kept volume, the next Wh would still cross).
- Pairing: the filled buys, best price first, take their Wh from the filled sells, best price first (two
  pointers), so each bid's pairs sum to its fill.
- Self-trades: the platform forbids one participant from having both a buy and a sell in a slot, so such input
  raises ValueError (whether or not both would fill); no pair can then match a participant with itself.
- Equal prices are ordered by bid id, so the result never depends on the order the bids arrive in (fills too are
  listed in bid-id order).

Cost: O(n log n): one sort by id, one stable integer-key sort per side; Q* by binary search; the rest is linear.
"""

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from itertools import accumulate, compress
from operator import attrgetter, sub
from typing import Literal, NamedTuple, Protocol, cast

SIDES = ("buy", "sell")
WH_PER_KWH = 1000
_ID, _PRICE, _VOLUME = attrgetter("id"), attrgetter("price_milli"), attrgetter("volume_wh")
_OWNER = attrgetter("participant")


@dataclass(frozen=True, slots=True)
class Bid:
    id: str
    participant: str
    side: Literal["buy", "sell"]
    volume_wh: int
    price_milli: int  # milli-NT$ per kWh

    def __post_init__(self) -> None:
        for name in ("id", "participant"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"bid {self.id!r}: {name} must be a non-empty string, got {value!r}")
        if self.side not in SIDES:
            raise ValueError(f"bid {self.id!r}: side must be 'buy' or 'sell', got {self.side!r}")
        for name in ("volume_wh", "price_milli"):
            value = getattr(self, name)
            # type() rather than isinstance(): bool is an int subclass and must be refused.
            if type(value) is not int or value <= 0:
                raise ValueError(f"bid {self.id!r}: {name} must be a positive int, got {value!r}")


class Pair(NamedTuple):
    """A NamedTuple rather than a frozen dataclass: a clearing makes one per match, and a tuple is
    several times cheaper to create (it is most of the time of a 100 000-bid clearing otherwise)."""

    buy_id: str
    sell_id: str
    buyer: str
    seller: str
    volume_wh: int


@dataclass(frozen=True)
class Clearing:
    volume_wh: int  # Q*
    price_milli: int | None  # p*; None when nothing clears
    fills: dict[str, int]  # every input bid id, in id order -> Wh filled (0 when unfilled)
    pairs: tuple[Pair, ...]
    marginal_buy_milli: int | None  # b
    marginal_sell_milli: int | None  # s


def clear(bids: Iterable[Bid], k: Fraction | int = Fraction(1, 2)) -> Clearing:
    """Clear one slot by the rules in the module docstring. Raises ValueError on invalid k or bids."""
    share = _checked_share(k)
    by_id = sorted(bids, key=_ID)
    fills = _zero_fills(by_id)
    buys, sells = _priority_orders(by_id)
    buy_totals, sell_totals = list(accumulate(map(_VOLUME, buys))), list(accumulate(map(_VOLUME, sells)))
    volume = _cleared_volume(buys, buy_totals, sells, sell_totals)
    if volume == 0:
        return Clearing(0, None, fills, (), None, None)
    buy_fills, sell_fills = _side_fills(buys, buy_totals, volume), _side_fills(sells, sell_totals, volume)
    for filled in (buy_fills, sell_fills):
        fills.update(zip(filled.ids, map(sub, filled.ends, [0, *filled.ends]), strict=True))
    high = buys[bisect_left(buy_totals, volume)].price_milli
    low = sells[bisect_left(sell_totals, volume)].price_milli
    return Clearing(volume, _uniform_price(high, low, share), fills, _pairs(buy_fills, sell_fills), high, low)


def settlement_milli(price_milli: int, contracted_wh: int, achievement: Fraction | int) -> int:
    """What a contract settles for, in milli-NT$: p* (per kWh) * contracted Wh / 1000 * achievement.

    Achievement is clamped to [0, 1] (over-delivery earns nothing extra, a shortfall below zero costs nothing
    extra here); the exact product is rounded half up to a whole milli-NT$: floor(x + 1/2).
    """
    for name, value in (("price_milli", price_milli), ("contracted_wh", contracted_wh)):
        if type(value) is not int or value < 0:
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    if isinstance(achievement, bool) or not isinstance(achievement, int | Fraction):
        raise ValueError(f"achievement must be a Fraction, got {achievement!r}")
    exact = price_milli * contracted_wh * min(max(Fraction(achievement), Fraction(0)), Fraction(1)) / WH_PER_KWH
    return _round_half_up(exact)


def _round_half_up(value: Fraction) -> int:
    return (2 * value.numerator + value.denominator) // (2 * value.denominator)


def _checked_share(k: Fraction | int) -> Fraction:
    # Floats are refused: the price must be exact.
    if isinstance(k, bool) or not isinstance(k, int | Fraction) or not 0 <= k <= 1:
        raise ValueError(f"k must be a Fraction in [0, 1], got {k!r}")
    return Fraction(k)


def _zero_fills(bids: list[Bid]) -> dict[str, int]:
    fills = dict.fromkeys(map(_ID, bids), 0)
    if len(fills) < len(bids):
        duplicates = sorted(bid_id for bid_id, count in Counter(map(_ID, bids)).items() if count > 1)
        raise ValueError(f"duplicate bid ids: {duplicates}")
    return fills


class Ranked(Protocol):
    """What a bid's place in the merit order depends on (a clearing Bid, a StoredBid)."""

    @property
    def id(self) -> str: ...
    @property
    def side(self) -> str: ...
    @property
    def price_milli(self) -> int: ...


def merit_order[B: Ranked](bids: Iterable[B]) -> tuple[list[B], list[B]]:
    """(buys, sells) in priority order: buys highest price first, sells lowest first, equal prices by
    bid id."""
    return _by_price(sorted(bids, key=_ID))


def _by_price[B: Ranked](by_id: list[B]) -> tuple[list[B], list[B]]:
    """merit_order() of bids already in id order. The sorts are stable (reverse=True too), so equal prices stay
    in id order: one cheap integer-key sort a side instead of tuple keys."""
    buys = [bid for bid in by_id if bid.side == "buy"]
    sells = [bid for bid in by_id if bid.side == "sell"]
    buys.sort(key=_PRICE, reverse=True)
    sells.sort(key=_PRICE)
    return buys, sells


def _priority_orders(by_id: list[Bid]) -> tuple[list[Bid], list[Bid]]:
    """The merit order of a slot's bids (in id order); ValueError when a participant has both a buy and a sell."""
    buys, sells = _by_price(by_id)
    buyers = set(map(_OWNER, buys))
    if not buyers.isdisjoint(map(_OWNER, sells)):
        both = buyers.intersection(map(_OWNER, sells))
        raise ValueError(f"participants with both a buy and a sell in the slot: {sorted(both)}")
    return buys, sells


def _cleared_volume(buys: list[Bid], buy_totals: list[int], sells: list[Bid], sell_totals: list[int]) -> int:
    """Q*: the largest x whose x-th Wh of demand (highest price first) is priced at least as high as the x-th Wh
    of supply (lowest first). Demand prices only fall and supply prices only rise along x, so the test holds for
    every Wh up to Q* and for none after it: a binary search finds Q*."""

    def crosses(wh: int) -> bool:
        # The wh-th Wh of a side lies in its first bid whose running total reaches wh.
        return buys[bisect_left(buy_totals, wh)].price_milli >= sells[bisect_left(sell_totals, wh)].price_milli

    low, high = 0, min(buy_totals[-1], sell_totals[-1]) if buys and sells else 0
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if crosses(middle) else (low, middle - 1)
    return low


class _Filled(NamedTuple):
    """The bids of one side that fill, in priority order: ids, owners, and where each one's fill ends on the
    running total of the side's fills (the last end is Q*)."""

    ids: list[str]
    owners: list[str]
    ends: list[int]


def _side_fills(ordered: list[Bid], totals: list[int], volume: int) -> _Filled:
    """The bids of one side that fill: in full before the marginal price group, pro-rata within it (a bid whose
    share rounds to 0 is left out). The running totals give the ends, so no bid's volume is read again."""
    start, end = _price_group(ordered, bisect_left(totals, volume))
    group = ordered[start:end]
    before = totals[start - 1] if start else 0
    shares = _pro_rata([bid.volume_wh for bid in group], [bid.id for bid in group], volume - before)
    filled = ordered[:start] + list(compress(group, shares))
    ends = totals[:start] + list(accumulate(filter(None, shares), initial=before))[1:]
    return _Filled(list(map(_ID, filled)), list(map(_OWNER, filled)), ends)


def _price_group(ordered: list[Bid], index: int) -> tuple[int, int]:
    """[start, end) of the run of bids sharing ordered[index]'s price."""
    price = ordered[index].price_milli
    start, end = index, index + 1
    while start and ordered[start - 1].price_milli == price:
        start -= 1
    while end < len(ordered) and ordered[end].price_milli == price:
        end += 1
    return start, end


def _pro_rata(volumes: list[int], ids: list[str], amount: int) -> list[int]:
    """Split `amount` (<= sum of volumes) pro-rata to volumes by largest remainder; ties to the smaller id."""
    total = sum(volumes)
    shares = [divmod(amount * volume, total) for volume in volumes]
    fills = [whole for whole, _ in shares]
    leftover = amount - sum(fills)
    by_remainder = sorted(range(len(volumes)), key=lambda n: (-shares[n][1], ids[n]))
    for n in by_remainder[:leftover]:
        fills[n] += 1
    return fills


# Pair.__new__ is Python code; tuple.__new__ (which Pair._make calls) builds the same NamedTuple in C.
_pair = cast(Callable[[tuple[str, str, str, str, int]], Pair], partial(tuple.__new__, Pair))


def _pairs(buys: _Filled, sells: _Filled) -> tuple[Pair, ...]:
    """Each filled buy, best price first, takes its Wh from the filled sells in order, best price first: one pair
    per overlap of a buy's stretch of the running total with a sell's (both sides' ends finish at Q*)."""
    pairs: list[Pair] = []
    add, sell_ids, sellers, sell_ends, last = pairs.append, sells.ids, sells.owners, sells.ends, len(sells.ends) - 1
    j, at, sell_end = 0, 0, sell_ends[0]  # the current sell, where the last pair ended, where the sell's fill ends
    for buy_id, buyer, buy_end in zip(buys.ids, buys.owners, buys.ends, strict=True):
        while sell_end < buy_end:
            add(_pair((buy_id, sell_ids[j], buyer, sellers[j], sell_end - at)))
            at, j = sell_end, j + 1
            sell_end = sell_ends[j]
        add(_pair((buy_id, sell_ids[j], buyer, sellers[j], buy_end - at)))
        at = buy_end
        if sell_end == buy_end and j < last:
            j += 1
            sell_end = sell_ends[j]
    return tuple(pairs)


def _uniform_price(high: int, low: int, k: Fraction) -> int:
    """p* = low + k·(high - low), rounded half up; stays in [low, high] because both ends are integers."""
    return low + _round_half_up(k * (high - low))
