"""A test-only oracle: the straightforward clearing that etp.market.clearing.clear() replaced (object sorts, a
two-pointer pairing loop, per-bid dict updates). Same rules, same results; kept to check the faster one against."""

from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable
from fractions import Fraction
from itertools import accumulate
from operator import attrgetter

from etp.market.clearing import Bid, Clearing, Pair

_ID, _PRICE, _VOLUME = attrgetter("id"), attrgetter("price_milli"), attrgetter("volume_wh")


def reference_clear(bids: Iterable[Bid], k: Fraction | int = Fraction(1, 2)) -> Clearing:
    share = Fraction(k)
    by_id = sorted(bids, key=_ID)
    fills = dict.fromkeys(map(_ID, by_id), 0)
    if len(fills) < len(by_id):
        duplicates = sorted(bid_id for bid_id, count in Counter(map(_ID, by_id)).items() if count > 1)
        raise ValueError(f"duplicate bid ids: {duplicates}")
    buys = sorted((bid for bid in by_id if bid.side == "buy"), key=_PRICE, reverse=True)
    sells = sorted((bid for bid in by_id if bid.side == "sell"), key=_PRICE)
    both = {bid.participant for bid in buys} & {bid.participant for bid in sells}
    if both:
        raise ValueError(f"participants with both a buy and a sell in the slot: {sorted(both)}")
    buy_totals, sell_totals = list(accumulate(map(_VOLUME, buys))), list(accumulate(map(_VOLUME, sells)))
    volume = _cleared_volume(buys, buy_totals, sells, sell_totals)
    if volume == 0:
        return Clearing(0, None, fills, (), None, None)
    buy_fills, sell_fills = _side_fills(buys, buy_totals, volume), _side_fills(sells, sell_totals, volume)
    fills.update((bid.id, fill) for bid, fill in buy_fills + sell_fills)
    high = buys[bisect_left(buy_totals, volume)].price_milli
    low = sells[bisect_left(sell_totals, volume)].price_milli
    exact = share * (high - low)
    price = low + (2 * exact.numerator + exact.denominator) // (2 * exact.denominator)
    return Clearing(volume, price, fills, _pairs(buy_fills, sell_fills), high, low)


def _cleared_volume(buys: list[Bid], buy_totals: list[int], sells: list[Bid], sell_totals: list[int]) -> int:
    def crosses(wh: int) -> bool:
        return buys[bisect_left(buy_totals, wh)].price_milli >= sells[bisect_left(sell_totals, wh)].price_milli

    low, high = 0, min(buy_totals[-1], sell_totals[-1]) if buys and sells else 0
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if crosses(middle) else (low, middle - 1)
    return low


def _side_fills(ordered: list[Bid], totals: list[int], volume: int) -> list[tuple[Bid, int]]:
    index = bisect_left(totals, volume)
    price = ordered[index].price_milli
    start, end = index, index + 1
    while start and ordered[start - 1].price_milli == price:
        start -= 1
    while end < len(ordered) and ordered[end].price_milli == price:
        end += 1
    group = ordered[start:end]
    before = totals[start - 1] if start else 0
    shares = _pro_rata([bid.volume_wh for bid in group], [bid.id for bid in group], volume - before)
    in_full = [(bid, bid.volume_wh) for bid in ordered[:start]]
    return in_full + [(bid, wh) for bid, wh in zip(group, shares, strict=True) if wh]


def _pro_rata(volumes: list[int], ids: list[str], amount: int) -> list[int]:
    total = sum(volumes)
    shares = [divmod(amount * volume, total) for volume in volumes]
    fills = [whole for whole, _ in shares]
    leftover = amount - sum(fills)
    by_remainder = sorted(range(len(volumes)), key=lambda n: (-shares[n][1], ids[n]))
    for n in by_remainder[:leftover]:
        fills[n] += 1
    return fills


def _pairs(buys: list[tuple[Bid, int]], sells: list[tuple[Bid, int]]) -> tuple[Pair, ...]:
    pairs = []
    j, taken = 0, 0
    for buy, wanted in buys:
        while wanted:
            sell, fill = sells[j]
            volume = min(wanted, fill - taken)
            pairs.append(Pair(buy.id, sell.id, buy.participant, sell.participant, volume))
            wanted -= volume
            taken += volume
            if taken == fill:
                j, taken = j + 1, 0
    return tuple(pairs)
