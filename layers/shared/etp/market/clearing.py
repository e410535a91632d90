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
- Equal prices are ordered by bid id, so the result never depends on the order the bids arrive in.

Two results. `auction()` answers in columns over the positions of its input (what the market-jobs function
uses): each bid's fill, and each pair as its buy's and sell's positions and its volume. `clear()` answers the
same auction by bid id (fills in id order, pairs with ids and owners): small books, the console, the tests.

Cost of auction(): the bids' prices and volumes read once into numpy int64 columns; one integer argsort a side;
Q* by binary search over the running totals; ids compared only to order the bids that fill at equal prices; the
pairs from the merged ends of the two sides' fills (searchsorted), with no loop per pair. Volumes and prices are
below 2**40 and a slot holds fewer than 2**23 bids, so every running total is exact in int64.
"""

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from functools import partial
from itertools import compress, pairwise
from operator import attrgetter, not_
from typing import Literal, NamedTuple, cast

import numpy as np
from numpy.typing import NDArray

SIDES = ("buy", "sell")
WH_PER_KWH = 1000
AMOUNT_LIMIT = 2**40  # volumes and prices stay below it (the API's limits are far lower)
BIDS_LIMIT = 2**23  # bids a slot: with amounts below 2**40, running totals stay below 2**63
_ID, _PRICE, _VOLUME = attrgetter("id"), attrgetter("price_milli"), attrgetter("volume_wh")
_OWNER, _SIDE = attrgetter("participant"), attrgetter("side")
Positions = NDArray[np.intp]
Amounts = NDArray[np.int64]


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
            if type(value) is not int or not 0 < value < AMOUNT_LIMIT:
                raise ValueError(f"bid {self.id!r}: {name} must be a positive int below 2**40, got {value!r}")


class Pair(NamedTuple):
    """A NamedTuple rather than a frozen dataclass: one per match, and a tuple is several times cheaper to
    create."""

    buy_id: str
    sell_id: str
    buyer: str
    seller: str
    volume_wh: int


@dataclass(frozen=True)
class Clearing:
    """An auction by bid id."""

    volume_wh: int  # Q*
    price_milli: int | None  # p*; None when nothing clears
    fills: dict[str, int]  # every input bid id, in id order -> Wh filled (0 when unfilled)
    pairs: tuple[Pair, ...]
    marginal_buy_milli: int | None  # b
    marginal_sell_milli: int | None  # s


@dataclass(frozen=True, eq=False)
class Auction:
    """An auction in columns over the positions of `bids` (its input, as a list). Pairs are in priority order:
    the filled buys best price first, each taking its Wh from the filled sells best price first."""

    bids: list[Bid]
    volume_wh: int  # Q*
    price_milli: int | None  # p*; None when nothing clears
    marginal_buy_milli: int | None  # b
    marginal_sell_milli: int | None  # s
    fills: Amounts  # fills[i]: the Wh bids[i] filled
    pair_buys: Positions  # each pair's buy, as a position in bids
    pair_sells: Positions
    pair_volumes: Amounts

    def by_id(self) -> Clearing:
        """The same auction by bid id: fills in id order, pairs with ids and owners."""
        ids, filled = list(map(_ID, self.bids)), self.fills.tolist()
        by_id = sorted(range(len(ids)), key=ids.__getitem__)
        fills = dict(zip(map(ids.__getitem__, by_id), map(filled.__getitem__, by_id), strict=True))
        buys = list(map(self.bids.__getitem__, self.pair_buys.tolist()))
        sells = list(map(self.bids.__getitem__, self.pair_sells.tolist()))
        columns = (map(_ID, buys), map(_ID, sells), map(_OWNER, buys), map(_OWNER, sells), self.pair_volumes.tolist())
        pairs = tuple(map(_pair, zip(*columns, strict=True)))
        return Clearing(
            self.volume_wh, self.price_milli, fills, pairs, self.marginal_buy_milli, self.marginal_sell_milli
        )


def clear(bids: Iterable[Bid], k: Fraction | int = Fraction(1, 2)) -> Clearing:
    """Clear one slot by the rules in the module docstring, by bid id. Raises ValueError on invalid k or bids."""
    return auction(bids, k).by_id()


def auction(bids: Iterable[Bid], k: Fraction | int = Fraction(1, 2)) -> Auction:
    """Clear one slot by the rules in the module docstring, in columns. Raises ValueError on invalid k or bids."""
    share = _checked_share(k)
    book = list(bids)
    ids = list(map(_ID, book))
    buying = [side == "buy" for side in map(_SIDE, book)]
    _check_book(ids, list(map(_OWNER, book)), buying)
    prices = np.fromiter(map(_PRICE, book), np.int64, len(book))
    volumes = np.fromiter(map(_VOLUME, book), np.int64, len(book))
    is_buy = np.array(buying, dtype=bool)
    # One ascending sort key for both sides: buys rank by falling price, sells by rising price.
    rank = np.where(is_buy, -prices, prices)
    buys, sells = _Side.of(np.flatnonzero(is_buy), rank, volumes), _Side.of(np.flatnonzero(~is_buy), rank, volumes)
    volume = _cleared_volume(buys, sells)
    fills = np.zeros(len(book), np.int64)
    if volume == 0:
        nothing = np.zeros(0, np.intp)
        return Auction(book, 0, None, None, None, fills, nothing, nothing, np.zeros(0, np.int64))
    high, low = -buys.rank_at(volume), sells.rank_at(volume)
    buy_fills, sell_fills = buys.fills(volume, ids, volumes), sells.fills(volume, ids, volumes)
    for filled, ends in (buy_fills, sell_fills):
        fills[filled] = np.diff(ends, prepend=0)
    pair_buys, pair_sells, pair_volumes = _pairs(buy_fills, sell_fills)
    return Auction(
        book, volume, _uniform_price(high, low, share), high, low, fills, pair_buys, pair_sells, pair_volumes
    )


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


def _check_book(ids: list[str], owners: list[str], buying: list[bool]) -> None:
    """ValueError for a duplicate bid id, a participant on both sides, or more bids than the totals allow."""
    if len(set(ids)) < len(ids):
        duplicates = sorted(bid_id for bid_id, count in Counter(ids).items() if count > 1)
        raise ValueError(f"duplicate bid ids: {duplicates}")
    both = set(compress(owners, buying)).intersection(compress(owners, map(not_, buying)))
    if both:
        raise ValueError(f"participants with both a buy and a sell in the slot: {sorted(both)}")
    if len(ids) >= BIDS_LIMIT:
        raise ValueError(f"{len(ids):,} bids in one slot: at most {BIDS_LIMIT - 1:,}")


@dataclass(frozen=True)
class _Side:
    """One side's bids by rank (equal prices in no particular order: only the bids that fill are put in id order,
    in fills(); Q*, the marginal prices and who fills do not depend on it), their ranks and the running total of
    their volumes."""

    order: Positions
    ranks: Amounts
    totals: Amounts

    @classmethod
    def of(cls, positions: Positions, rank: Amounts, volumes: Amounts) -> "_Side":
        order = positions[np.argsort(rank[positions])]  # not stable: a few times faster
        return cls(order, rank[order], np.cumsum(volumes[order]))

    def rank_at(self, wh: int) -> int:
        """The rank of the bid holding the side's wh-th Wh (its first bid whose running total reaches wh)."""
        return int(self.ranks[np.searchsorted(self.totals, wh)])

    def fills(self, volume: int, ids: list[str], volumes: Amounts) -> tuple[Positions, Amounts]:
        """(the positions of the bids that fill, in priority order with equal prices by id; where each one's fill
        ends on the running total of the side's fills, the last end being Q*). In full before the marginal
        price group, pro-rata within it (a bid whose share rounds to 0 is left out)."""
        marginal = self.rank_at(volume)
        start, end = np.searchsorted(self.ranks, marginal, "left"), np.searchsorted(self.ranks, marginal, "right")
        ahead = np.array(_by_id_within_ranks(self.order[:start], self.ranks[:start], ids), np.intp)
        group = sorted(self.order[start:end].tolist(), key=ids.__getitem__)
        before = int(self.totals[start - 1]) if start else 0
        shares = _pro_rata([int(volumes[n]) for n in group], [ids[n] for n in group], volume - before)
        rationed = np.array(list(compress(group, shares)), np.intp)
        ends = np.cumsum(np.concatenate((volumes[ahead], np.array(list(filter(None, shares)), np.int64))))
        return np.concatenate((ahead, rationed)), ends


def _by_id_within_ranks(order: Positions, ranks: Amounts, ids: list[str]) -> list[int]:
    """The positions in `order` (by rank) with each run of equal ranks put in id order: sorting only the runs
    compares fewer ids than sorting them all and needs no second sort by rank."""
    positions = order.tolist()
    bounds = [0, *(np.flatnonzero(ranks[1:] != ranks[:-1]) + 1).tolist(), len(positions)]
    for start, end in pairwise(bounds):
        if end - start > 1:
            positions[start:end] = sorted(positions[start:end], key=ids.__getitem__)
    return positions


def _cleared_volume(buys: _Side, sells: _Side) -> int:
    """Q*: the largest x whose x-th Wh of demand (highest price first) is priced at least as high as the x-th Wh
    of supply (lowest first). Demand prices only fall and supply prices only rise along x, so the test holds for
    every Wh up to Q* and for none after it: a binary search finds Q*."""
    if not len(buys.totals) or not len(sells.totals):
        return 0
    low, high = 0, int(min(buys.totals[-1], sells.totals[-1]))
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if -buys.rank_at(middle) >= sells.rank_at(middle) else (low, middle - 1)
    return low


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


def _pairs(buys: tuple[Positions, Amounts], sells: tuple[Positions, Amounts]) -> tuple[Positions, Positions, Amounts]:
    """Each filled buy, best price first, takes its Wh from the filled sells in order, best price first: one pair
    per stretch of the running total between two consecutive ends of either side (both sides end at Q*). A
    stretch belongs to the buy and the sell whose fills are the first to reach its end."""
    (buy_positions, buy_ends), (sell_positions, sell_ends) = buys, sells
    ends = np.concatenate((buy_ends, sell_ends))
    ends.sort(kind="stable")  # two ascending runs: merged in one pass
    cuts = ends[np.concatenate(([True], ends[1:] != ends[:-1]))]  # an end both sides share is one cut
    return (
        buy_positions[np.searchsorted(buy_ends, cuts)],
        sell_positions[np.searchsorted(sell_ends, cuts)],
        np.diff(cuts, prepend=0),
    )


def _uniform_price(high: int, low: int, k: Fraction) -> int:
    """p* = low + k·(high - low), rounded half up; stays in [low, high] because both ends are integers."""
    return low + _round_half_up(k * (high - low))
