"""The daily address job at scale: functions/addresses' record_day for N active meters against a MiniStack of its
own, beside its two parts done the simple way in the same run (every meter read whole; one PutItem an address).

    .venv/bin/python bench/address_job.py [--meters N] [--job-only]   (or BENCH_ADDRESS_METERS; 10,000 by default)

--job-only leaves out the simple ways (their one PutItem an address is linear: 74 s at 10,000 meters here) and
times the job as it is, with its peak of memory, against the function's timeout and memory size.

The meters are stored as registration leaves them (each with a 2048-bit public key's PEM and a token hash),
written in batches outside the timed region. Each way writes a UTC day of its own, so none overwrites another's
items. Figures only: nothing here fails on time.
"""

import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

METERS = int(os.environ.get("BENCH_ADDRESS_METERS", "10000"))
DAY = date(2026, 12, 5)
SEED = "BENCH9SEED"


def timed[R](action: Callable[[], R]) -> tuple[float, R]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def run(endpoint: str, count: int, job_only: bool) -> int:
    from aws_fixtures import template
    from helpers import load_function
    from tracker import adding, create_tables

    from etp_local.ministack import LOCAL_AWS_ENV

    os.environ.update(LOCAL_AWS_ENV, AWS_ENDPOINT_URL=endpoint)
    create_tables(endpoint)
    from etp.meters.store import DynamoAddressBook, DynamoMeterStore

    store_fleet(count)
    job = load_function("addresses")
    meters, book = DynamoMeterStore(), DynamoAddressBook()
    print(f"address job: {count:,} active meters on MiniStack, each with a 2048-bit key's PEM")

    before = None if job_only else simple_ways(meters, book, job)
    job_day = DAY + timedelta(days=2)
    reading, writing = [0.0], [0.0]
    parts = (
        SimpleNamespace(active_owners=adding(meters.active_owners, reading)),
        SimpleNamespace(record_many=adding(book.record_many, writing)),
    )
    job_s, recorded = timed(lambda: job.record_day(job_day, *parts, SEED))
    assert recorded == count, (recorded, count)
    assert len(book.of_day(job_day.isoformat())) == count
    print(
        f"the job: {job_s:.2f} s, of which reading the active meters (active_owners) {reading[0]:.2f} s, "
        f"writing the addresses (record_many) {writing[0]:.2f} s"
    )
    if before is not None:
        print(
            f"the job as it was (read whole, one PutItem each) {before:.2f} s; as it is {job_s:.2f} s: "
            f"{before / job_s:.1f}x faster"
        )
    tracemalloc.start()
    job.record_day(DAY + timedelta(days=3), meters, book, SEED)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    declared = template()
    function = declared["Resources"]["AddressesFunction"]["Properties"]
    memory = function.get("MemorySize", declared["Globals"]["Function"]["MemorySize"])
    print(
        f"the job's peak of Python memory (tracemalloc, another day): {peak / 2**20:.0f} MB "
        f"of the function's {memory} MB"
    )
    print(f"address job: {count} meters in {job_s:.2f} s of the {function['Timeout']} s timeout")
    return 0


def simple_ways(meters, book, job) -> float:
    """The job's two parts the simple way (every meter read whole, one PutItem an address) beside the job's own,
    each on a day of its own; the seconds of the simple way."""
    whole_s, fleet = timed(meters.all_active)
    owners_s, owners = timed(meters.active_owners)
    assert len(fleet) == len(owners), (len(fleet), len(owners))
    print(
        f"read the meters:       whole (all_active) {whole_s:6.2f} s   ids and owners (active_owners) {owners_s:6.2f} s"
    )
    first, second = (job.addresses_of_day(day, owners, SEED) for day in (DAY, DAY + timedelta(days=1)))

    def one_by_one() -> None:
        for entry in first:
            book.record(entry)

    one_s, _ = timed(one_by_one)
    batched_s, _ = timed(lambda: book.record_many(second))
    print(
        f"write the addresses:   one PutItem each   {one_s:6.2f} s   25 a BatchWriteItem (record_many)  "
        f"{batched_s:6.2f} s"
    )
    return whole_s + one_s


def store_fleet(count: int) -> None:
    from etp.meters import envelope
    from etp.meters.registry import token_hash
    from etp.meters.store import MeterModel

    _, public_pem = envelope.new_key_pair()
    with MeterModel.batch_write() as batch:
        for n in range(count):
            meter_id = f"00000000-0000-4000-8000-{n:012d}"
            batch.save(
                MeterModel(
                    id=meter_id,
                    user_id=f"u-{n:06d}",
                    account=f"BEMS-{n:06d}",
                    name=f"meter {n}",
                    public_key_pem=public_pem,
                    token_hash=token_hash(f"{meter_id}.token"),
                    created_at="2026-11-01T00:00:00Z",
                )
            )


def main() -> int:
    import argparse

    from tracker import on_ministack

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meters", type=int, default=METERS)
    parser.add_argument("--job-only", action="store_true", help="time the job as it is, not the simple ways")
    arguments = parser.parse_args()
    return on_ministack(lambda endpoint: run(endpoint, arguments.meters, arguments.job_only))


if __name__ == "__main__":
    sys.exit(main())
