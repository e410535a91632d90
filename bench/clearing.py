"""Clearing cost: median time of etp.market.clearing.clear() on one slot of random bids, beside (and as a ratio to)
one sorted() of the same bids by price measured in the same run, and beside building the result alone: the
fills dict and the Pair tuples made from columns ready beforehand, the part of clear() no algorithm can skip
while the result is 100 000 dict entries and one tuple a pair.

    .venv/bin/python bench/clearing.py      (targets: clear() <= 1 s and <= 4x the sort, for 100 000 bids)

The book is drawn with a fixed seed: half buys, half sells, volumes 1..100 000 Wh and prices 1 000..10 000
milli-NT$/kWh (uniform), random hex ids, and 20 000 buildings, each only ever on one side (the platform's rule).
Figures only: nothing here fails on time.
"""

import gc
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from operator import attrgetter

from etp.market.clearing import Bid, Clearing, _pair, clear

BIDS = int(os.environ.get("BENCH_BIDS", "100000"))
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
SEED = 20261125
PARTICIPANTS = 20_000
SECONDS_TARGET = 1.0
RATIO_TARGET = 4.0


def random_bids(count: int, rng: random.Random) -> list[Bid]:
    buying = [n < count // 2 for n in range(count)]
    rng.shuffle(buying)  # the sides arrive mixed
    return [
        Bid(
            id=f"{rng.getrandbits(128):032x}",
            # Buyers are the even buildings, sellers the odd ones: nobody is on both sides.
            participant=f"building-{rng.randrange(PARTICIPANTS // 2) * 2 + (not is_buy):05d}",
            side="buy" if is_buy else "sell",
            volume_wh=rng.randint(1, 100_000),
            price_milli=rng.randint(1_000, 10_000),
        )
        for is_buy in buying
    ]


def median_seconds(action: Callable[[], object]) -> float:
    action()  # warm-up
    samples = []
    for _ in range(RUNS):
        gc.collect()  # every run starts from the same heap, not from the last run's garbage
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def result_alone(result: Clearing) -> Callable[[], object]:
    """Build a clearing's fills dict and pairs again from their columns (ids and fills in id order; each pair's
    ids, owners and volume in pair order), as clear() must build them at its end."""
    ids, filled = list(result.fills), list(result.fills.values())
    columns = list(zip(*result.pairs, strict=True))
    # clear()'s own Pair constructor (tuple.__new__, a C call)
    return lambda: (dict(zip(ids, filled, strict=True)), tuple(map(_pair, zip(*columns, strict=True))))


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def main() -> int:
    bids = random_bids(BIDS, random.Random(SEED))  # noqa: S311 (a reproducible book, not a secret)
    by_price = attrgetter("price_milli")
    sort = median_seconds(lambda: sorted(bids, key=by_price))
    clearing = median_seconds(lambda: clear(bids))
    result = clear(bids)
    alone = median_seconds(result_alone(result))
    ratio = clearing / sort
    print(f"clearing: {BIDS:,} bids (seed {SEED}), median of {RUNS} runs")
    print(f"{'sorted() by price':<20}{sort * 1000:>10.1f} ms")
    print(f"{'clear()':<20}{clearing * 1000:>10.1f} ms{ratio:>8.1f}x the sort")
    print(f"{'the result alone':<20}{alone * 1000:>10.1f} ms{alone / sort:>8.1f}x the sort (its fills dict and pairs)")
    print(f"cleared {result.volume_wh:,} Wh at {result.price_milli} milli-NT$/kWh in {len(result.pairs):,} pairs")
    print(
        f"target <= {SECONDS_TARGET:g} s: {verdict(clearing <= SECONDS_TARGET)}; "
        f"target <= {RATIO_TARGET:g}x the sort: {verdict(ratio <= RATIO_TARGET)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
