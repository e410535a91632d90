"""The tracker's checks, one rejection reason at a time, with a fake node and an in-memory store."""

import base64
import json
import threading
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from tangle import demand_payload, sealed_reading, transaction_trytes

from etp.iota.curl import curl_hash
from etp.meters import envelope
from etp.meters import registry as meters
from etp.meters.registry import Meter
from etp.meters.store import AddressRecord
from etp.meters.tracker import NULL_TRYTES, Tracker, active_days

NOW = datetime(2026, 11, 25, 10, 5, tzinfo=UTC)
TAKEN = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
SEED = "TRACKERTESTSEED"


class FakeNode:
    def __init__(self):
        self.transactions: dict[str, str] = {}
        self.calls: list[str] = []

    def add(self, trytes: str, tx_hash: str | None = None) -> str:
        tx_hash = tx_hash or curl_hash(trytes)
        self.transactions[tx_hash] = trytes
        return tx_hash

    def find_transactions(self, *, addresses):
        self.calls.append("findTransactions")
        wanted = set(addresses)
        return [h for h, t in self.transactions.items() if t[2187:2268] in wanted]

    def get_trytes(self, hashes):
        self.calls.append("getTrytes")
        return [self.transactions.get(h, NULL_TRYTES) for h in hashes]


class MemoryStore:
    def __init__(self):
        self.lock = threading.Lock()
        self.readings: dict[str, object] = {}
        self.ledger: dict[str, str] = {}

    def processed(self, hashes):
        return {h for h in hashes if f"tx#{h}" in self.ledger}

    def store_many(self, items):
        return [self._store(reading) for reading, _, _ in items]

    def _store(self, reading):
        with self.lock:
            if f"tx#{reading.tx_hash}" in self.ledger:
                return "duplicate"
            if f"reading#{reading.id}" in self.ledger:
                return "replayed"
            self.ledger[f"tx#{reading.tx_hash}"] = "stored"
            self.ledger[f"reading#{reading.id}"] = reading.tx_hash
            self.readings[reading.id] = reading
            return "stored"

    def reject(self, tx_hash, reason):
        with self.lock:
            if f"tx#{tx_hash}" in self.ledger:
                return False
            self.ledger[f"tx#{tx_hash}"] = f"rejected: {reason}"
            return True


class AddressBook:
    def __init__(self, entries):
        self.entries = entries

    def of_day(self, day):
        return [e for e in self.entries if e.day == day]


@pytest.fixture
def world(keys):
    meter = Meter(
        id="m-1",
        user_id="u-1",
        account="Carlab_BEMS",
        name="main",
        description="",
        public_key_pem=keys["meter_public"],
        token_hash="",
    )
    other = Meter(
        id="m-2",
        user_id="u-2",
        account="NCKU_BEMS",
        name="main",
        description="",
        public_key_pem=keys["other_public"],
        token_hash="",
    )
    entries = []
    for m in (meter, other):
        for day in (date(2026, 11, 24), date(2026, 11, 25)):
            entries.append(
                AddressRecord(
                    address=meters.daily_address(SEED, m.id, day),
                    meter_id=m.id,
                    day=day.isoformat(),
                    user_id=m.user_id,
                    account=m.account,
                )
            )
    node, store = FakeNode(), MemoryStore()
    tracker = Tracker(
        node=node,
        addresses=AddressBook(entries),
        meters={"m-1": meter, "m-2": other}.get,
        store=store,
        platform_private_pem=keys["platform_private"],
        zone=ZoneInfo("Asia/Taipei"),
    )
    address = meters.daily_address(SEED, "m-1", date(2026, 11, 25))
    return dict(node=node, store=store, tracker=tracker, address=address, keys=keys)


def publish(world, payload=None, *, private=None, public=None, tag=None, kind="Demand", address=None, at=TAKEN):
    keys = world["keys"]
    return world["node"].add(
        sealed_reading(
            address or world["address"],
            at,
            platform_public=public or keys["platform_public"],
            meter_private=private or keys["meter_private"],
            payload=payload,
            kind=kind,
            tag=tag,
        )
    )


def test_good_readings_are_stored_with_one_discovery_call(world):
    hashes = [publish(world) for _ in range(3)]
    report = world["tracker"].run(NOW)
    assert (report.addresses, report.discovered, report.fetched, report.stored) == (2, 3, 3, 3)
    assert world["node"].calls == ["findTransactions", "getTrytes"]
    stored = sorted(r.tx_hash for r in world["store"].readings.values())
    assert stored == sorted(hashes)
    reading = next(iter(world["store"].readings.values()))
    assert (reading.user_id, reading.meter_id, reading.kind, reading.power_kw) == ("u-1", "m-1", "Demand", 12.5)


def test_a_second_run_fetches_nothing_again(world):
    publish(world)
    world["tracker"].run(NOW)
    world["node"].calls.clear()
    report = world["tracker"].run(NOW)
    assert (report.discovered, report.fetched, report.stored) == (1, 0, 0)
    assert world["node"].calls == ["findTransactions"]


def rejection(world, tx_hash):
    return world["store"].ledger[f"tx#{tx_hash}"]


def test_each_bad_transaction_is_rejected_with_its_reason_and_the_good_ones_are_stored(world):
    keys = world["keys"]
    good = publish(world)
    replay_id = json.loads(demand_payload(TAKEN))["id"]
    first = publish(world, demand_payload(TAKEN, reading_id=replay_id))
    sealed = json.loads(
        envelope.seal(
            demand_payload(TAKEN), platform_public_pem=keys["platform_public"], meter_private_pem=keys["meter_private"]
        )
    )
    tampered = dict(sealed, signature=base64.b64encode(b"\x01" * 256).decode())
    tag = "BEMS9HOMEPAGE9INFORMATION9K"
    cases = {
        "signature does not verify with the meter's key": publish(world, private=keys["other_private"]),
        "broken trytes": world["node"].add("a" + transaction_trytes(world["address"], tag, b"{}")[1:], "B" * 81),
        "envelope is not JSON": world["node"].add(transaction_trytes(world["address"], tag, b"not json at all")),
        "envelope lacks data or signature": world["node"].add(
            transaction_trytes(world["address"], tag, json.dumps({"data": sealed["data"]}).encode())
        ),
        "envelope is not JSON ": world["node"].add(
            transaction_trytes(world["address"], tag, json.dumps(sealed).encode()[:300])
        ),
        "data does not decrypt": world["node"].add(
            transaction_trytes(
                world["address"], tag, json.dumps(dict(sealed, data=base64.b64encode(b"xx").decode())).encode()
            )
        ),
        "tampered signature": world["node"].add(
            transaction_trytes(world["address"], tag, json.dumps(tampered).encode())
        ),
        "field is not the meter owner's account": publish(world, demand_payload(TAKEN, account="NCKU_BEMS")),
        "reading id already stored": publish(world, demand_payload(TAKEN, reading_id=replay_id)),
        "grid is not a finite power": publish(world, demand_payload(TAKEN, grid=1e12)),
        "grid is not a number": publish(world, demand_payload(TAKEN, grid="12")),
        "payload does not match the tag's type": publish(world, tag="BEMS9PV9DISPLAY9K9999999999"),
        "unknown tag": publish(world, tag="SOMETHING9ELSE9K9999999999"),
        "tag hour does not match updated_at": publish(world, tag="BEMS9HOMEPAGE9INFORMATION9B"),
        "unknown address": publish(world, address="B" * 81),
    }
    world["node"].transactions.pop(cases.pop("unknown address"))  # findTransactions only sees known addresses
    nan_payload = demand_payload(TAKEN).replace(b'"grid": 12.5', b'"grid": NaN')
    cases["grid is not a finite power (NaN)"] = publish(world, nan_payload)
    report = world["tracker"].run(NOW)
    assert report.stored == 2 and {r.tx_hash for r in world["store"].readings.values()} == {good, first}
    assert sum(report.rejected.values()) == len(cases)
    expectations = {
        "tampered signature": "signature",
        "data does not decrypt": "decrypt|signature",
        "envelope is not JSON ": "not JSON",
        "grid is not a finite power (NaN)": "finite",
    }
    import re

    for name, tx_hash in cases.items():
        pattern = expectations.get(name, re.escape(name))
        assert re.search(pattern, rejection(world, tx_hash)), (name, rejection(world, tx_hash))


def test_rejected_transactions_are_not_fetched_again(world):
    publish(world, demand_payload(TAKEN, grid="x"))
    assert sum(world["tracker"].run(NOW).rejected.values()) == 1
    assert world["tracker"].run(NOW).fetched == 0


def test_a_hash_the_node_cannot_serve_is_left_for_a_later_run(world):
    tx_hash = publish(world)
    real = world["node"].transactions[tx_hash]
    world["node"].get_trytes = lambda hashes: [NULL_TRYTES for _ in hashes]
    report = world["tracker"].run(NOW)
    assert (report.stored, sum(report.rejected.values())) == (0, 0)
    del world["node"].get_trytes
    world["node"].transactions[tx_hash] = real
    assert world["tracker"].run(NOW).stored == 1


def test_overlapping_runs_store_each_reading_once(world):
    hashes = {publish(world) for _ in range(12)}
    reports = []
    threads = [threading.Thread(target=lambda: reports.append(world["tracker"].run(NOW))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.stored for r in reports) == 12
    assert {r.tx_hash for r in world["store"].readings.values()} == hashes


def test_the_first_hour_of_a_utc_day_also_reads_yesterdays_addresses(world):
    yesterday_address = meters.daily_address(SEED, "m-1", date(2026, 11, 24))
    late = datetime(2026, 11, 24, 23, 50, tzinfo=UTC)
    publish(world, demand_payload(late), address=yesterday_address, at=late)
    assert world["tracker"].run(datetime(2026, 11, 25, 1, 0, tzinfo=UTC)).stored == 0
    report = world["tracker"].run(datetime(2026, 11, 25, 0, 55, tzinfo=UTC))
    assert (report.addresses, report.stored) == (4, 1)
    assert active_days(datetime(2026, 11, 25, 0, 0, tzinfo=UTC)) == [date(2026, 11, 25), date(2026, 11, 24)]
    assert active_days(datetime(2026, 11, 25, 1, 0, tzinfo=UTC)) == [date(2026, 11, 25)]


def test_a_meter_cannot_publish_for_another_meters_address(world):
    # NCKU's meter signs a reading for its own account, but sends it to Carlab's meter's address
    keys = world["keys"]
    tx_hash = publish(world, demand_payload(TAKEN, account="NCKU_BEMS"), private=keys["other_private"])
    world["tracker"].run(NOW)
    assert "signature" in rejection(world, tx_hash) or "owner" in rejection(world, tx_hash)
    assert world["store"].readings == {}


# --- plausibility: nothing from the future, nothing beyond the meter's rated capacity ---------------

EARLY = datetime(2026, 11, 25, 1, 10, tzinfo=UTC)  # a run early in the UTC day, so later hours are still its day


def test_a_reading_dated_16_hours_ahead_is_rejected_for_good_and_never_stored(world, frozen_clock):
    """Issue #12 reproduction: a reading dated ~16 h in the future was stored and showed in /power_info."""
    frozen_clock.now = EARLY
    tx_hash = publish(world, at=EARLY + timedelta(hours=16))
    report = world["tracker"].run(EARLY)
    assert (report.stored, dict(report.rejected)) == (0, {"from the future": 1})
    assert world["store"].readings == {} and rejection(world, tx_hash) == "rejected: from the future"
    frozen_clock.now = EARLY + timedelta(hours=17)  # its time has come: still rejected, not even fetched
    again = world["tracker"].run(frozen_clock.now)
    assert (again.fetched, again.stored, sum(again.rejected.values())) == (0, 0, 0)
    assert world["store"].readings == {}


def test_a_meter_clock_ahead_by_up_to_the_allowance_is_accepted(world, frozen_clock):
    frozen_clock.now = EARLY
    at_the_bound = publish(world, demand_payload(EARLY + timedelta(minutes=5)), at=EARLY + timedelta(minutes=5))
    beyond = publish(world, demand_payload(EARLY + timedelta(minutes=5, seconds=1)), at=EARLY + timedelta(minutes=5))
    report = world["tracker"].run(EARLY)
    assert (report.stored, dict(report.rejected)) == (1, {"from the future": 1})
    assert [r.tx_hash for r in world["store"].readings.values()] == [at_the_bound]
    assert rejection(world, beyond) == "rejected: from the future"


def test_the_allowance_is_the_trackers_setting(world, frozen_clock):
    frozen_clock.now = EARLY
    tracker = replace(world["tracker"], clock_skew=timedelta(0))
    publish(world, demand_payload(EARLY), at=EARLY)
    publish(world, demand_payload(EARLY + timedelta(seconds=1)), at=EARLY)
    report = tracker.run(EARLY)
    assert (report.stored, dict(report.rejected)) == (1, {"from the future": 1})


def test_a_run_as_of_a_past_moment_does_not_refuse_readings_that_are_real_by_now(world, frozen_clock):
    frozen_clock.now = EARLY + timedelta(hours=17)  # the wall clock: the reading below is in the past
    publish(world, at=EARLY + timedelta(hours=16))
    report = world["tracker"].run(EARLY)  # an operator's re-run as of 01:10
    assert (report.stored, sum(report.rejected.values())) == (1, 0)


def test_a_99999_kw_reading_on_a_building_meter_is_rejected_and_not_stored(world):
    """Issue #12 reproduction: 99,999 kW passed the global 100 MW bound; the default rating refuses it."""
    tx_hash = publish(world, demand_payload(TAKEN, grid=99_999.0))
    report = world["tracker"].run(NOW)
    assert (report.stored, dict(report.rejected)) == (0, {"above rated capacity": 1})
    assert world["store"].readings == {} and rejection(world, tx_hash) == "rejected: above rated capacity"


def test_readings_up_to_the_meters_own_rating_are_stored_and_beyond_it_rejected(world):
    rated = world["tracker"].meters

    def rated_20_kw(meter_id):
        return replace(rated(meter_id), rated_kw=20.0)

    tracker = replace(world["tracker"], meters=rated_20_kw)
    exactly = publish(world, demand_payload(TAKEN, grid=-20.0, building=20.0))
    cases = {
        "grid": publish(world, demand_payload(TAKEN, grid=20.5)),
        "exporting": publish(world, demand_payload(TAKEN, grid=-20.5)),
        "another field": publish(world, demand_payload(TAKEN, building=21.0)),
    }
    report = tracker.run(NOW)
    assert (report.stored, dict(report.rejected)) == (1, {"above rated capacity": 3})
    assert [r.tx_hash for r in world["store"].readings.values()] == [exactly]
    assert {name: rejection(world, h) for name, h in cases.items()} == dict.fromkeys(
        cases, "rejected: above rated capacity"
    )
