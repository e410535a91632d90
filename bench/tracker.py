"""Tracker throughput: readings ingested per second through the whole tracker path, beside the bare
cost of RSA-2048 decrypt + verify per reading measured in the same run.

    make bench        (target: tracker >= 70 % of the crypto-bound rate; one discovery call per run)

The path is the real one: a dev node on loopback holding N sealed readings to M meters' addresses,
MiniStack (its own, on a free loopback port) holding the tables as template.yaml declares them,
and etp.meters.tracker.Tracker doing findTransactions -> ledger check -> getTrytes -> parse, decrypt,
verify, validate -> conditional transactional writes.
"""

import os
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

READINGS = int(os.environ.get("BENCH_READINGS", "600"))
METERS = int(os.environ.get("BENCH_METERS", "20"))
TARGET = 0.70
NOW = datetime(2026, 11, 25, 10, 30, tzinfo=UTC)


def adding[**P, R](action: Callable[P, R], seconds: list[float]) -> Callable[P, R]:
    """`action`, adding the seconds each call takes (returning or raising) to seconds[0]."""

    def timed_action(*args: P.args, **kwargs: P.kwargs) -> R:
        started = time.perf_counter()
        try:
            return action(*args, **kwargs)
        finally:
            seconds[0] += time.perf_counter() - started

    return timed_action


def on_ministack(run: Callable[[str], int]) -> int:
    """`run(endpoint)` against a MiniStack of its own on a free loopback port, stopped after."""
    from etp_local.ministack import MiniStack, free_port

    ministack = MiniStack(free_port()).start()
    try:
        return run(ministack.endpoint)
    finally:
        ministack.stop()


def main() -> int:
    return on_ministack(run)


def create_tables(endpoint: str) -> None:
    import boto3
    from aws_fixtures import template

    tpl = template()
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    for logical_id, variable in (
        ("MetersTable", "METERS_TABLE"),
        ("AddressesTable", "ADDRESSES_TABLE"),
        ("ReadingsTable", "READINGS_TABLE"),
        ("LedgerTable", "LEDGER_TABLE"),
        ("RollupsTable", "ROLLUPS_TABLE"),  # the store step keeps the energy rollups
    ):
        props = {
            k: v
            for k, v in tpl["Resources"][logical_id]["Properties"].items()
            if k not in ("PointInTimeRecoverySpecification", "SSESpecification", "TimeToLiveSpecification")
        }
        name = f"bench-{logical_id}-{uuid.uuid4().hex[:6]}"
        client.create_table(TableName=name, **props)
        os.environ[variable] = name
    from etp import dynamo, settings

    settings.cache_clear()  # the tables just made
    dynamo.point_models(dynamo.aws_region(), endpoint)


def run(endpoint: str) -> int:
    from etp_local.ministack import LOCAL_AWS_ENV

    os.environ.update(LOCAL_AWS_ENV, AWS_ENDPOINT_URL=endpoint)
    create_tables(endpoint)
    from tangle import found_in

    from etp.iota.node import NodeClient
    from etp.meters import envelope
    from etp.meters import registry as meters
    from etp.meters.readings_store import DynamoReadingStore
    from etp.meters.registry import Meter
    from etp.meters.store import AddressRecord, DynamoAddressBook
    from etp.meters.tracker import Tracker
    from etp_devnode.server import DevNode

    platform_private, platform_public = envelope.new_key_pair()
    meter_private, meter_public = envelope.new_key_pair()
    fleet = [
        Meter(
            id=f"m-{i}",
            user_id=f"u-{i}",
            account="Carlab_BEMS",
            name="m",
            description="",
            public_key_pem=meter_public,
            token_hash="",
        )
        for i in range(METERS)
    ]
    book = DynamoAddressBook()
    day = NOW.date()
    for meter in fleet:
        book.record(
            AddressRecord(
                address=meters.daily_address("BENCH", meter.id, day),
                meter_id=meter.id,
                day=day.isoformat(),
                user_id=meter.user_id,
                account=meter.account,
            )
        )

    print(f"tracker: {READINGS} readings from {METERS} meters; dev node and MiniStack on loopback")
    trytes, sealed_messages = _readings(fleet, day, platform_public, meter_private)

    # The bare crypto cost, on the same kind of messages, in the same process and run.
    started = time.perf_counter()
    for message in sealed_messages:
        envelope.open_envelope(message, platform_private_pem=platform_private, meter_public_pem=meter_public)
    crypto_rate = READINGS / (time.perf_counter() - started)

    node = DevNode("127.0.0.1", 0).start()
    try:
        client = NodeClient(node.url)
        for start in range(0, len(trytes), 100):
            client.store_transactions(trytes[start : start + 100])
        calls = {"findTransactions": 0}
        find = client.find_transactions

        def counted_find(**kwargs):
            calls["findTransactions"] += 1
            return find(**kwargs)

        client.find_transactions = counted_find  # type: ignore[method-assign,assignment]
        tracker = Tracker(
            node=client,
            addresses=book,
            meters=found_in({m.id: m for m in fleet}),
            store=DynamoReadingStore(),
            platform_private_pem=platform_private,
            zone=ZoneInfo("Asia/Taipei"),
        )
        started = time.perf_counter()
        report = tracker.run(NOW)
        elapsed = time.perf_counter() - started
        again = tracker.run(NOW)
    finally:
        node.stop()
    assert report.stored == READINGS, report.as_dict()
    assert again.stored == 0 and again.fetched == 0
    tracker_rate = READINGS / elapsed

    storage_rate = _storage_rate(DynamoReadingStore(), 50)
    print(f"{'RSA-2048 decrypt + verify (1 thread)':<40}{crypto_rate:>10.0f} readings/s")
    print(f"{'tracker, whole path':<40}{tracker_rate:>10.0f} readings/s   ({elapsed:.2f} s)")
    print(f"{'storage writes alone (MiniStack)':<40}{storage_rate:>10.0f} readings/s")
    print(
        f"ratio {tracker_rate / crypto_rate:.2f} (target >= {TARGET}); discovery calls per run: "
        f"{calls['findTransactions'] // 2} for {METERS} meters; second run fetched {again.fetched}"
    )
    return 0


def _readings(fleet: list, day, platform_public: str, meter_private: str) -> tuple[list[str], list]:
    """(the transactions' trytes, the sealed messages alone) of READINGS readings, the meters in turn."""
    from tangle import demand_payload, sealed_reading

    from etp.meters import envelope
    from etp.meters import registry as meters

    sealed_messages = []
    trytes = []
    for index in range(READINGS):
        meter = fleet[index % METERS]
        taken_at = NOW - timedelta(minutes=1 + index % 25)
        payload = demand_payload(taken_at)
        trytes.append(
            sealed_reading(
                meters.daily_address("BENCH", meter.id, day),
                taken_at,
                platform_public=platform_public,
                meter_private=meter_private,
                payload=payload,
            )
        )
        sealed_messages.append(
            envelope.seal(payload, platform_public_pem=platform_public, meter_private_pem=meter_private)
        )
    return trytes, sealed_messages


def _storage_rate(store, write_batch: int) -> float:
    """Context: the storage writes alone (the same conditional transactions, fresh ids) on MiniStack,
    an emulator sharing these cores with the tracker; readings a second."""
    fresh = [
        (replace(item[0], id=str(uuid.uuid4()), tx_hash=uuid.uuid4().hex.upper()), item[1], item[2])
        for item in _stored_items(READINGS)
    ]
    started = time.perf_counter()
    for start in range(0, len(fresh), write_batch):
        store.store_many(fresh[start : start + write_batch])
    return READINGS / (time.perf_counter() - started)


def _stored_items(count: int) -> list:
    from etp.meters.readings import StoredReading

    values = {"grid": 12.5, "pv": 1.0, "building": 13.5, "ess": 0.0, "ev": 0.0}
    return [
        (
            StoredReading(
                id="",
                user_id=f"u-{i % METERS}",
                meter_id=f"m-{i % METERS}",
                kind="Demand",
                taken_at=NOW - timedelta(minutes=i % 25),
                power_kw=12.5,
                tx_hash="",
            ),
            values,
            "A" * 81,
        )
        for i in range(count)
    ]


if __name__ == "__main__":
    sys.exit(main())
