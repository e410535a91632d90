"""Clearing cost: median time of etp.market.clearing.auction() on one slot of random bids (the auction in columns,
as the market-jobs function runs it), beside (and as a ratio to) one sorted() of the same bids by price measured
in the same run; and, for context, clear(): the same auction answered by bid id (a fills dict of every bid in id
order and a Pair tuple a match, as the console and the tests read it).

    .venv/bin/python bench/clearing.py      (targets: auction() <= 1 s and <= 4x the sort, for 100 000 bids)

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

from etp.market.clearing import Bid, auction, clear

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


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def main() -> int:
    bids = random_bids(BIDS, random.Random(SEED))  # noqa: S311 (a reproducible book, not a secret)
    by_price = attrgetter("price_milli")
    sort = median_seconds(lambda: sorted(bids, key=by_price))
    columns = median_seconds(lambda: auction(bids))
    by_id = median_seconds(lambda: clear(bids))
    result = auction(bids)
    ratio = columns / sort
    print(f"clearing: {BIDS:,} bids (seed {SEED}), median of {RUNS} runs")
    print(f"{'sorted() by price':<20}{sort * 1000:>10.1f} ms")
    print(f"{'auction()':<20}{columns * 1000:>10.1f} ms{ratio:>8.1f}x the sort (columns: the market-jobs function's)")
    print(f"{'clear()':<20}{by_id * 1000:>10.1f} ms{by_id / sort:>8.1f}x the sort (the same, by bid id)")
    print(
        f"cleared {result.volume_wh:,} Wh at {result.price_milli} milli-NT$/kWh in {len(result.pair_volumes):,} pairs"
    )
    print(
        f"target <= {SECONDS_TARGET:g} s: {verdict(columns <= SECONDS_TARGET)}; "
        f"target <= {RATIO_TARGET:g}x the sort: {verdict(ratio <= RATIO_TARGET)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
