"""The tracker at scale (issue #13): 10,000 meters, the busiest 5-minute run of an evening and an
idle run, against the dev node with IRI's limits on, beside the bare RSA work of the new readings.

    make bench        (figures printed, not asserted; BENCH_SCALE_METERS=... to change the fleet,
                       BENCH_SCALE_HOUR=... the UTC hour of the run, 22 by default)

The fleet: every meter publishes a Demand reading every 15 minutes (meters staggered by the
minute), one minute after taking it. The busy run is at 22:35 UTC: ~3,300 readings published
since the last run, among the ~900,000 earlier transactions of the day at the same addresses.

The dev node holds the earlier transactions as an index without trytes (Tangle.preload: hashes
under their address and tag, what findTransactions answers from; the tracker never fetches them,
as earlier runs processed them), and the new ones as real sealed transactions (Tangle.store_trusted:
hashes not recomputed with Curl). It enforces IRI's limits: 1,000 items a list, 100,000 hashes an
answer. The tables are in a MiniStack of its own on loopback, created as template.yaml declares
them: the day's addresses (the tracker reads them with its by-day Query), the readings and the
ledger, where the earlier runs' hints are written as a real run writes them (DynamoHints). The
earlier transactions' `tx#` ledger markers are not written (900,000 items): the tracker only
looks up hashes its hints do not know, and the figures show how many it looked up. The meters are
in the meters table, looked up as the function does (DynamoMeterStore.get_many: 100 a BatchGetItem).
Each run, and the floor's parts, also print the CPU seconds each process spent (from /proc, on Linux).
"""

import os
import random
import resource
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

METERS = int(os.environ.get("BENCH_SCALE_METERS", "10000"))  # or --meters N
KEYS = 8  # meter key pairs shared round the fleet (RSA key generation is slow)
BUSY = datetime(2026, 11, 25, int(os.environ.get("BENCH_SCALE_HOUR", "22")), 35, tzinfo=UTC)
EVERY = timedelta(minutes=15)
DELAY = timedelta(minutes=1)  # taken -> published
LAMBDA_TIMEOUT = 120  # template.yaml, TrackerFunction
SCHEDULE = 300
WORKERS = [0]  # --workers: > 0, the busy run's shards one after another (bench/tracker_window.py)


def main() -> int:
    import argparse

    from tracker import on_ministack

    global METERS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--meters", type=int, default=METERS, help="the fleet (BENCH_SCALE_METERS)")
    parser.add_argument("--workers", type=int, default=0, help="run each of this many fan-out shards' share")
    arguments = parser.parse_args()
    METERS, WORKERS[0] = arguments.meters, arguments.workers
    return on_ministack(run)


def tryte_strings(rng: random.Random, count: int, length: int = 81) -> list[str]:
    table = bytes(ord("9ABCDEFGHIJKLMNOPQRSTUVWXYZ"[b % 27]) for b in range(256))
    found: list[str] = []
    for start in range(0, count, 1_000_000):  # randbytes takes at most 2**31 bits at once
        part = min(1_000_000, count - start)
        blob = rng.randbytes(part * length).translate(table).decode("ascii")
        found += [blob[i * length : (i + 1) * length] for i in range(part)]
    return found


def schedule(meter: int) -> list[datetime]:
    """When a meter takes its readings during the day."""
    first = datetime.combine(BUSY.date(), datetime.min.time(), tzinfo=UTC) + timedelta(minutes=meter % 15)
    return [first + EVERY * q for q in range(96)]


def run(endpoint: str) -> int:
    from tracker import create_tables

    from etp_local.ministack import LOCAL_AWS_ENV

    os.environ.update(LOCAL_AWS_ENV, AWS_ENDPOINT_URL=endpoint)
    create_tables(endpoint)
    from etp.meters import envelope
    from etp.meters import registry as meters
    from etp.meters.registry import Meter

    started = time.perf_counter()
    platform_private, platform_public = envelope.new_key_pair()
    keys = [envelope.new_key_pair() for _ in range(KEYS)]
    fleet = [
        Meter(
            id=f"m-{i:05d}",
            user_id=f"u-{i:05d}",
            account=f"BEMS-{i:05d}",
            name="m",
            description="",
            public_key_pem=keys[i % KEYS][1],
            token_hash="",
        )
        for i in range(METERS)
    ]
    day = BUSY.date()
    addresses = [meters.daily_address("BENCH", m.id, day) for m in fleet]
    store_fleet(fleet, addresses, day)

    last_run = BUSY - timedelta(minutes=5)
    earlier: list[tuple[str, int, datetime]] = []  # (address, meter, taken_at)
    new: list[tuple[int, datetime]] = []
    for i, address in enumerate(addresses):
        for taken_at in schedule(i):
            if taken_at + DELAY <= last_run:
                earlier.append((address, i, taken_at))
            elif taken_at + DELAY <= BUSY:
                new.append((i, taken_at))
    print(
        f"tracker at scale: {METERS:,} meters, run at {BUSY:%H:%M} UTC; {len(earlier):,} earlier transactions "
        f"of the day and {len(new):,} new readings on the dev node (IRI limits: 1,000 a list, 100,000 an answer)"
    )
    node, hashes = seed_node(earlier, new, fleet, addresses, keys, platform_public)
    seed_hints(earlier, hashes)
    messages = node.pop("messages")
    rsa = bare_rsa(messages, fleet, new, keys, platform_private)
    print(f"set-up {time.perf_counter() - started:.0f} s (not measured below)")
    jobs = [(message, keys[meter % KEYS][1]) for message, (meter, _) in zip(messages, new, strict=True)]
    return measured(node["tangle"], fleet, platform_private, rsa, jobs)


def measured(tangle, fleet, platform_private, rsa: float, jobs) -> int:
    """The busy and idle runs and the floor, or with --workers each shard's share of the busy run."""
    if WORKERS[0]:
        import tracker_window

        return tracker_window.window(tangle, fleet, platform_private, WORKERS[0], BUSY, METERS)
    return measure(tangle, fleet, platform_private, rsa, jobs)


def store_fleet(fleet, addresses, day) -> None:
    """The meters and their addresses of the day in their tables, as registration and the daily job leave them."""
    from etp.meters.store import AddressModel, MeterModel

    with AddressModel.batch_write() as batch:
        for meter, address in zip(fleet, addresses, strict=True):
            batch.save(
                AddressModel(
                    address=address,
                    meter_id=meter.id,
                    day=day.isoformat(),
                    user_id=meter.user_id,
                    account=meter.account,
                )
            )

    with MeterModel.batch_write() as batch:
        for meter in fleet:
            batch.save(
                MeterModel(
                    id=meter.id,
                    user_id=meter.user_id,
                    account=meter.account,
                    name=meter.name,
                    public_key_pem=meter.public_key_pem,
                    token_hash=meter.token_hash,
                    created_at="2026-11-01T00:00:00Z",
                )
            )


def seed_node(earlier, new, fleet, addresses, keys, platform_public):
    from tangle import demand_payload, transaction_trytes

    from etp.meters import envelope, readings
    from etp_devnode.store import Tangle

    rng = random.Random(20261125)  # noqa: S311 (made-up hashes, not secrets)
    hashes = tryte_strings(rng, len(earlier))
    tangle = Tangle()
    tangle.preload(hashes, [a for a, _, _ in earlier], [readings.tag_for("Demand", t) for _, _, t in earlier])
    messages, sealed = [], []
    for (meter, taken_at), tx_hash in zip(new, tryte_strings(rng, len(new)), strict=True):
        payload = demand_payload(taken_at, account=fleet[meter].account)
        message = envelope.seal(payload, platform_public_pem=platform_public, meter_private_pem=keys[meter % KEYS][0])
        messages.append(message)
        trytes = transaction_trytes(addresses[meter], readings.tag_for("Demand", taken_at), message)
        sealed.append((tx_hash, trytes))
    tangle.store_trusted(sealed)
    return {"tangle": tangle, "messages": messages}, hashes


def seed_hints(earlier, hashes) -> None:
    """What the earlier runs of the day left in the hints, written as a run writes them."""
    from etp.meters.discovery import address_hour
    from etp.meters.discovery_store import DynamoHints

    hints = DynamoHints()
    day = BUSY.date().isoformat()
    by_hour: dict[int, list[str]] = {}
    pairs: set[str] = set()
    for (address, _, taken_at), tx_hash in zip(earlier, hashes, strict=True):
        by_hour.setdefault(taken_at.hour, []).append(tx_hash)
        pairs.add(address_hour(address, taken_at.hour))
    for hour, group in by_hour.items():
        hints.add_hashes(day, hour, group)
    hints.add_hours(day, pairs)


def bare_rsa(messages, fleet, new, keys, platform_private) -> float:
    from etp.meters import envelope

    started = time.perf_counter()
    for message, (meter, _) in zip(messages, new, strict=True):
        envelope.open_envelope(message, platform_private_pem=platform_private, meter_public_pem=keys[meter % KEYS][1])
    return time.perf_counter() - started


@contextmanager
def node_process(tangle) -> Iterator[str]:
    """The URL of a dev node serving `tangle` from a process of its own, as IRI runs beside the tracker,
    not inside it (its work then does not hold the tracker's GIL). Forked: the tangle is not copied."""
    import multiprocessing

    from etp_devnode.server import DevNode

    context = multiprocessing.get_context("fork")
    ours, theirs = context.Pipe()

    def serve() -> None:
        with DevNode("127.0.0.1", 0, tangle=tangle) as node:
            theirs.send(node.url)
            theirs.recv()  # serves until told to stop

    process = context.Process(target=serve, daemon=True)
    process.start()
    try:
        yield ours.recv()
    finally:
        ours.send("stop")
        process.join(timeout=30)


class Counted:
    """The node client, counting requests by command (the tracker asks from several threads)."""

    def __init__(self, client) -> None:
        self.client = client
        self.calls: dict[str, int] = {"findTransactions": 0, "getTrytes": 0}
        self.seconds = 0.0  # summed over the requests: more than their wall time when they overlap
        self.largest_list = self.largest_answer = 0  # items in a request's list, hashes in an answer
        self.lock = threading.Lock()

    def note(self, command: str, calls: int, items: int, answer: int, seconds: float) -> None:
        with self.lock:
            self.calls[command] += calls
            self.largest_list, self.largest_answer = max(self.largest_list, items), max(self.largest_answer, answer)
            self.seconds += seconds

    def find_transactions(self, **query):
        started, answer = time.perf_counter(), []
        try:  # a refused request counts too
            answer = self.client.find_transactions(**query)
            return answer
        finally:
            items = max(len(query.get("addresses", ())), len(query.get("tags", ())))
            self.note("findTransactions", 1, items, len(answer), time.perf_counter() - started)

    def get_trytes(self, hashes):
        started, limit = time.perf_counter(), self.client.max_request_list
        try:
            return self.client.get_trytes(hashes)
        finally:
            self.note("getTrytes", -(-len(hashes) // limit), min(len(hashes), limit), 0, time.perf_counter() - started)


def noting_hints(updated: set[str]):
    """The tracker's DynamoHints, adding the key of every hint item it updates to `updated`."""
    from etp.meters.discovery_store import DynamoHints

    hints = DynamoHints()
    add = hints._add

    def noted(key, elements, *rest):
        updated.add(key)
        add(key, elements, *rest)

    hints._add = noted  # type: ignore[method-assign]
    return hints


def cpu_seconds() -> dict[str, float] | None:
    """CPU seconds so far (user + system): of this process (the tracker, with its own share of the RSA),
    of its children that have ended (the RSA worker processes, joined in each run), and of the live
    ones (MiniStack; the dev node, a fork of this process). None where there is no /proc."""
    if not Path("/proc").is_dir():
        return None
    me, ended = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    found = {
        "tracker": me.ru_utime + me.ru_stime,
        "RSA workers": ended.ru_utime + ended.ru_stime,
        "MiniStack": 0.0,
        "node": 0.0,
    }
    tick = os.sysconf("SC_CLK_TCK")
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after the command's name: state, ppid, ...
            if int(fields[1]) != os.getpid():
                continue
            name = "MiniStack" if b"ministack" in (stat.parent / "cmdline").read_bytes() else "node"
        except OSError:  # a process that ended meanwhile
            continue
        found[name] += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return found


def cpu_line(before: dict[str, float] | None, wall: float) -> str:
    """What each process spent between `before` and now, and how busy that kept the cores."""
    from etp.meters import openers

    after = cpu_seconds()
    if before is None or after is None:
        return "CPU: not measured here (no /proc)"
    spent = {name: after[name] - before[name] for name in before}
    total, cores = sum(spent.values()), openers.cores()
    parts = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in spent.items())
    return f"CPU: {parts}: {total:.2f} CPU-s in {wall:.2f} s, its {cores} cores {total / (wall * cores):.0%} busy"


def hint_sizes(keys: set[str]) -> list[int]:
    """The size of each of those hint items as DynamoDB counts it (names and values, in bytes)."""
    from etp.meters.discovery_store import HintModel

    return [
        len("key") + len(item.key) + len("items") + sum(len(e) for e in item.items or ())
        for item in HintModel.batch_get(sorted(keys))
    ]


def measure(tangle, fleet, platform_private, rsa: float, jobs) -> int:
    import boto3
    import tracker_floor
    from tracker import adding

    from etp.iota.node import NodeClient
    from etp.meters import openers, readings_store
    from etp.meters.readings_store import DynamoReadingStore
    from etp.meters.store import DynamoAddressBook, DynamoMeterStore
    from etp.meters.tracker import Tracker

    refresh_rollups = getattr(readings_store, "refresh_rollups", None)

    new_count = len(jobs)
    written: dict[str, set[str]] = {}
    print(
        f"{'run':<6}{'wall s':>8}{'questions':>11}{'findTx':>8}{'getTrytes':>11}{'hashes':>9}"
        f"{'ledger lookups':>16}{'hint items r/w':>16}{'meters':>8}{'stored':>8}{'ledger+readings writes':>24}"
    )
    with node_process(tangle) as node_url:
        results = {}
        for name, at in (("busy", BUSY), ("idle", BUSY + timedelta(minutes=5))):
            client = Counted(NodeClient(node_url, timeout=60))
            store = DynamoReadingStore()
            storing, rolling = [0.0], [0.0]
            if hasattr(readings_store, "refresh_rollups"):  # the energy rollups, refreshed as readings are stored
                readings_store.refresh_rollups = adding(refresh_rollups, rolling)
            store.store_many = adding(store.store_many, storing)  # type: ignore[method-assign]
            lookups = [0]

            def processed(hashes, n=lookups, ledger=store.processed):
                n[0] += len(hashes)
                return ledger(hashes)

            store.processed = processed  # type: ignore[method-assign]
            owners, meter_store = [0], DynamoMeterStore()

            def meter(meter_ids, n=owners, lookup=meter_store.get_many):
                n[0] += len(meter_ids)
                return lookup(meter_ids)

            updated: set[str] = set()
            hints = noting_hints(updated)
            hinting = [0.0]
            for method in ("seen_hashes", "seen_hours", "add"):
                setattr(hints, method, adding(getattr(hints, method), hinting))
            tracker = Tracker(
                node=client,  # type: ignore[arg-type]
                addresses=DynamoAddressBook(),
                meters=meter,
                store=store,
                platform_private_pem=platform_private,
                zone=ZoneInfo("Asia/Taipei"),
                hints=hints,
                processes=int(os.environ.get("BENCH_PROCESSES", "0")) or openers.cores(),
            )
            phases = {method: [0.0] for method in ("_entries", "_discover", "_fetch", "_check_and_store", "_learn")}
            for method, seconds in phases.items():
                setattr(tracker, method, adding(getattr(tracker, method), seconds))
            opening, open_all = [0.0], openers.open_all
            openers.open_all = adding(open_all, opening)
            cpu, started = cpu_seconds(), time.perf_counter()
            try:
                report = tracker.run(at)
            finally:
                openers.open_all = open_all
            wall = time.perf_counter() - started
            spent = cpu_line(cpu, wall)
            results[name] = (wall, report)
            written[name] = updated
            writes = 2 * (report.stored + report.duplicates) + sum(report.rejected.values())
            print(
                f"{name:<6}{wall:>8.2f}{report.questions:>11}{client.calls['findTransactions']:>8}"
                f"{client.calls['getTrytes']:>11}{report.discovered:>9,}{lookups[0]:>16,}"
                f"{f'{hints.items_read}/{hints.items_written}':>16}{owners[0]:>8,}{report.stored:>8,}{writes:>24,}"
            )
            print(
                f"{'':<6}of which: node requests {client.seconds:.2f} s, storing (store_many) {storing[0]:.2f} s "
                f"(the energy rollups {rolling[0]:.2f} s of it), hints {hinting[0]:.2f} s"
            )
            print(
                f"{'':<6}phases: address book {phases['_entries'][0]:.2f} s, discovery {phases['_discover'][0]:.2f} s,"
                f" getTrytes {phases['_fetch'][0]:.2f} s, checks"
                f" {phases['_check_and_store'][0] - storing[0]:.2f} s (envelopes {opening[0]:.2f} s),"
                f" storing {storing[0]:.2f} s, hints learned {phases['_learn'][0]:.2f} s"
            )
            print(f"{'':<6}{spent}")
            if updated:
                sizes = hint_sizes(updated)
                print(
                    f"{'':<6}hint items updated: {len(sizes)}, {sum(sizes) / 1024:,.0f} KB after (an update pays"
                    f" its item's whole size, 1 WRU a KB), the largest {max(sizes) / 1024:.0f} KB"
                    " (DynamoDB's limit: 400 KB)"
                )
    busy_wall, busy = results["busy"]
    assert busy.stored == new_count and results["idle"][1].fetched == 0, (busy.as_dict(), results["idle"][1].as_dict())
    print(
        f"bare RSA-2048 decrypt + verify of the {new_count:,} new readings (1 thread): {rsa:.2f} s; "
        f"the busy run took {busy_wall / rsa:.1f}x that"
    )
    print(
        f"Lambda window: timeout {LAMBDA_TIMEOUT} s, every {SCHEDULE} s: busy run {busy_wall:.1f} s "
        f"({busy_wall / LAMBDA_TIMEOUT:.0%} of the timeout), idle run {results['idle'][0]:.1f} s "
        f"(here on 2 shared cores, with the node and MiniStack on the same cores)"
    )
    client = boto3.client("dynamodb", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
    items = tracker_floor.run_items(client, written["busy"])
    cpu, started = cpu_seconds(), time.perf_counter()
    writes = tracker_floor.batched_writes(client, items)
    rsa_floor = tracker_floor.bare_rsa(jobs, platform_private)
    print(f"the floor's parts, with making the empty tables: {cpu_line(cpu, time.perf_counter() - started)}")
    tracker_floor.report(busy_wall, results["idle"][0], rsa_floor, writes, items)
    return 0


if __name__ == "__main__":
    sys.exit(main())
