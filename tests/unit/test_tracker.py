"""The tracker's checks, one rejection reason at a time, with a fake node and an in-memory store."""

import base64
import json
import threading
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tangle import demand_payload, found_in, sealed_reading, transaction_trytes

from etp import io_pool
from etp.iota.curl import curl_hash
from etp.iota.node import OVER_LIMIT, NodeError
from etp.meters import discovery, envelope
from etp.meters import registry as meters
from etp.meters import tracker as tracker_module
from etp.meters.discovery import MemoryHints
from etp.meters.registry import Meter
from etp.meters.store import AddressRecord
from etp.meters.tracker import NULL_TRYTES, Shard, Tracker, active_days, user_shard

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

    def find_transactions(self, *, addresses, tags):
        # IRI's answer: at one of the addresses AND with one of the tags (tag: trytes 2592-2619)
        self.calls.append("findTransactions")
        wanted, tagged = set(addresses), {t.ljust(27, "9") for t in tags}
        return [h for h, t in self.transactions.items() if t[2187:2268] in wanted and t[2592:2619] in tagged]

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
        meters=found_in({"m-1": meter, "m-2": other}),
        store=store,
        platform_private_pem=keys["platform_private"],
        zone=ZoneInfo("Asia/Taipei"),
    )
    address = meters.daily_address(SEED, "m-1", date(2026, 11, 25))
    other_address = meters.daily_address(SEED, "m-2", date(2026, 11, 25))
    return dict(node=node, store=store, tracker=tracker, address=address, other_address=other_address, keys=keys)


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


def test_good_readings_are_stored_with_one_request_per_question(world):
    hashes = [publish(world) for _ in range(3)]
    report = world["tracker"].run(NOW)
    assert (report.addresses, report.discovered, report.fetched, report.stored) == (2, 3, 3, 3)
    # 10:05: hours 10-23 (the later ones: normally nothing), hour 9, the gaps of hours 0-8
    assert report.questions == report.find_calls == 11
    assert world["node"].calls == ["findTransactions"] * 11 + ["getTrytes"]
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
    assert "getTrytes" not in world["node"].calls


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
    # Discovery asks for the reading tags only: a transaction with another tag is never seen.
    unknown_tag = cases.pop("unknown tag")
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
    assert f"tx#{unknown_tag}" not in world["store"].ledger


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

    def rated_20_kw(meter_ids):
        return {meter_id: replace(meter, rated_kw=20.0) for meter_id, meter in rated(meter_ids).items()}

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


# --- discovery at scale (issue #13): narrow questions, late readings, the node's limits -------------


def every_run(start: datetime, end: datetime):
    """The 5-minute schedule's run times in [start, end]."""
    while start <= end:
        yield start
        start += timedelta(minutes=5)


def published_at(world, moments):
    return {publish(world, demand_payload(at), at=at) for at in moments}


def quarter_hours(start: datetime, end: datetime) -> list[datetime]:
    return [start + timedelta(minutes=15 * i) for i in range(int((end - start) / timedelta(minutes=15)))]


def test_a_meter_back_from_hours_offline_has_its_whole_backlog_ingested(world, frozen_clock):
    """Offline from 10:20 to 15:00 UTC (hour 10 partly received), its backlog published at 15:30:
    all of it is ingested by the next run, and nothing twice."""
    day = datetime(2026, 11, 25, tzinfo=UTC)
    on_time = quarter_hours(day, day + timedelta(hours=10, minutes=20))  # 00:00 ... 10:15
    backlog = quarter_hours(day + timedelta(hours=10, minutes=30), day + timedelta(hours=15, minutes=30))
    tracker, store = world["tracker"], world["store"]
    for at in every_run(day + timedelta(minutes=5), day + timedelta(hours=15, minutes=30)):
        frozen_clock.now = at
        published_at(world, [t for t in on_time if at - timedelta(minutes=5) < t + timedelta(minutes=1) <= at])
        tracker.run(at)
    assert len(store.readings) == len(on_time)
    late = published_at(world, backlog)  # 10:30 ... 15:15, published at 15:30
    frozen_clock.now = day + timedelta(hours=15, minutes=35)
    report = tracker.run(frozen_clock.now)
    assert (report.stored, report.fetched) == (len(backlog), len(backlog))
    assert late <= {r.tx_hash for r in store.readings.values()}
    frozen_clock.now += timedelta(minutes=5)
    assert tracker.run(frozen_clock.now).fetched == 0


def test_an_idle_run_looks_nothing_up_however_many_readings_the_day_has(world, frozen_clock):
    day = datetime(2026, 11, 25, tzinfo=UTC)
    lookups: list[int] = []
    processed = world["store"].processed

    def counted(hashes):
        lookups.append(len(hashes))
        return processed(hashes)

    world["store"].processed = counted
    for at in every_run(day + timedelta(minutes=5), day + timedelta(hours=12)):
        frozen_clock.now = at
        published_at(world, [at - timedelta(minutes=4)])
        tracker_report = world["tracker"].run(at)
        assert tracker_report.stored == 1
    world["node"].calls.clear()
    lookups.clear()
    idle = world["tracker"].run(day + timedelta(hours=12, minutes=1))
    assert (idle.fetched, idle.stored, lookups, "getTrytes" in world["node"].calls) == (0, 0, [0], False)
    # an hour of readings a question (recent, swept), never the day's 144
    assert 0 < idle.discovered <= 3 * 12
    # recent x 2, the sweep, and the gaps of the meter that never published (hours 0-10 but the
    # swept one): asked of its address alone, empty answers
    assert idle.questions == 2 + 1 + 10


def test_a_straggler_into_an_hour_already_read_is_found_by_the_sweep(world, frozen_clock):
    day = datetime(2026, 11, 25, tzinfo=UTC)
    for at in every_run(day + timedelta(minutes=5), day + timedelta(hours=10)):
        frozen_clock.now = at
        published_at(world, [at - timedelta(minutes=4)])
        world["tracker"].run(at)
    straggler = publish(world, demand_payload(day + timedelta(hours=3, minutes=7)), at=day + timedelta(hours=3))
    runs = 0
    while straggler not in {r.tx_hash for r in world["store"].readings.values()}:
        frozen_clock.now += timedelta(minutes=5)
        world["tracker"].run(frozen_clock.now)
        runs += 1
        assert runs <= 24, "every older hour is swept within 24 runs"


def test_the_hints_are_only_hints_a_tracker_without_them_stores_nothing_twice(world):
    publish(world)
    world["tracker"].run(NOW)
    forgetful = replace(world["tracker"], hints=MemoryHints())
    report = forgetful.run(NOW)
    assert (report.discovered, report.fetched, report.stored, len(world["store"].readings)) == (1, 0, 0, 1)


def other_meters_reading(world) -> str:
    """A reading of the second meter (m-2, NCKU_BEMS) to its address of the day, sealed."""
    keys = world["keys"]
    return sealed_reading(
        world["other_address"],
        TAKEN,
        platform_public=keys["platform_public"],
        meter_private=keys["other_private"],
        payload=demand_payload(TAKEN, account="NCKU_BEMS"),
    )


def test_an_answer_over_the_nodes_limit_is_split_until_it_passes(world):
    class LimitedNode(FakeNode):
        def find_transactions(self, *, addresses, tags):
            found = super().find_transactions(addresses=addresses, tags=tags)
            if len(found) > 3:
                raise NodeError("findTransactions", OVER_LIMIT, 400)
            return found

    node = LimitedNode()
    node.transactions = world["node"].transactions
    for _ in range(3):
        publish(world)
        world["node"].add(other_meters_reading(world))
    report = replace(world["tracker"], node=node).run(NOW)
    assert (report.stored, report.over_limit) == (6, 0)
    publish(world)  # the first meter's hour 10 now holds 4: over the limit on its own
    report = replace(world["tracker"], node=node).run(NOW)
    assert (report.stored, report.over_limit) == (0, 1)


def test_the_questions_are_sent_together_and_find_what_one_at_a_time_finds(world, monkeypatch):
    class Overlapping(FakeNode):
        """Holds each findTransactions open until another one is in flight."""

        def __init__(self):
            super().__init__()
            self.lock, self.in_flight, self.overlapped = threading.Lock(), 0, threading.Event()

        def find_transactions(self, *, addresses, tags):
            with self.lock:
                self.in_flight += 1
                if self.in_flight > 1:
                    self.overlapped.set()
            self.overlapped.wait(timeout=2)
            with self.lock:
                self.in_flight -= 1
            return super().find_transactions(addresses=addresses, tags=tags)

    hashes = [publish(world) for _ in range(3)] + [world["node"].add(other_meters_reading(world))]
    node = Overlapping()
    node.transactions = world["node"].transactions
    monkeypatch.setattr(io_pool, "IO_THREADS", 4)
    report = replace(world["tracker"], node=node).run(NOW)
    assert node.overlapped.is_set()
    assert (report.questions, report.find_calls, report.discovered, report.stored) == (11, 11, 4, 4)
    assert sorted(r.tx_hash for r in world["store"].readings.values()) == sorted(hashes)


def test_the_tracker_stays_within_the_dev_nodes_iri_limits(world):
    from etp.iota.node import NodeClient
    from etp_devnode.server import DevNode

    keys = world["keys"]
    trytes = [
        sealed_reading(
            world["address"], TAKEN, platform_public=keys["platform_public"], meter_private=keys["meter_private"]
        )
        for _ in range(4)
    ]
    trytes += [other_meters_reading(world) for _ in range(4)]
    with DevNode(port=0, max_find_transactions=5) as node:
        client = NodeClient(node.url)
        client.store_transactions(trytes)
        with pytest.raises(NodeError, match="Could not complete request"):
            client.find_transactions(addresses=[world["address"], world["other_address"]])  # 8 hashes: over the limit
        report = replace(world["tracker"], node=client, find_batch=1000).run(NOW)
    assert (report.stored, report.over_limit, dict(report.rejected)) == (8, 0, {})


def test_the_questions_of_a_run():
    day = {"2026-11-25": ["A" * 81, "B" * 81]}
    at_10 = discovery.plan(datetime(2026, 11, 25, 10, 5, tzinfo=UTC), day, {})
    assert [(q.why, q.hours) for q in at_10[:2]] == [("recent", tuple(range(10, 24))), ("recent", (9,))]
    assert sorted(q.hours[0] for q in at_10[2:]) == list(range(9))  # the sweep and the gaps: hours 0-8
    seen = {"2026-11-25": {discovery.address_hour("A" * 81, h) for h in range(11)}}
    # A has every hour: only B's gaps are asked; A is asked in the sweep only
    late = [q for q in discovery.plan(datetime(2026, 11, 25, 10, 5, tzinfo=UTC), day, seen) if q.why == "catch-up"]
    assert {q.addresses for q in late} == {("B" * 81,)}
    # A went quiet after 07:xx: hour 7 may be partial, 8 is a gap
    quiet = {"2026-11-25": {discovery.address_hour("A" * 81, h) for h in range(8)}}
    late = discovery.plan(datetime(2026, 11, 25, 10, 5, tzinfo=UTC), {"2026-11-25": ["A" * 81]}, quiet)
    swept = discovery.sweep_hour("2026-11-25", datetime(2026, 11, 25, 10, 5, tzinfo=UTC))
    assert {q.hours[0] for q in late if q.why == "catch-up"} == {7, 8} - {swept}
    # 00:30: yesterday's addresses too, their hours 23 and 00 are recent
    both = {"2026-11-24": ["C" * 81], "2026-11-25": ["A" * 81]}
    early = discovery.plan(datetime(2026, 11, 25, 0, 30, tzinfo=UTC), both, {})
    assert [(q.day, q.hours) for q in early if q.why == "recent"] == [
        ("2026-11-24", (0,)),
        ("2026-11-24", (23,)),
        ("2026-11-25", tuple(range(24))),
        ("2026-11-25", (23,)),
    ]
    assert discovery.older_hours("2026-11-24", datetime(2026, 11, 25, 0, 30, tzinfo=UTC)) == list(range(1, 23))
    sweeps = {
        discovery.sweep_hour("2026-11-25", datetime(2026, 11, 25, 20, 0, tzinfo=UTC) + timedelta(minutes=5 * i))
        for i in range(24)
    }
    assert sweeps - {None} >= set(range(19))  # every hour older than 20:00, within 24 runs


def test_an_address_hour_pair_gives_its_hour_back():
    assert [discovery.hour_of(discovery.address_hour("A" * 81, hour)) for hour in range(24)] == list(range(24))


def test_a_run_beyond_one_invocations_share_fans_out_and_does_nothing_itself(world):
    publish(world)
    calls = []
    tracker = replace(world["tracker"], addresses_per_invocation=1, fan_out=lambda now, n: calls.append((now, n)))
    report = tracker.run(NOW)
    assert (report.addresses, report.shards, report.stored) == (2, 2, 0)
    assert calls == [("2026-11-25T10:05:00Z", 2)]
    assert world["node"].calls == []  # the shards ask the node, not the planning run
    assert report.as_dict()["shards"] == 2


def test_each_shard_runs_its_users_addresses_and_together_they_store_everything(world):
    other = demand_payload(TAKEN, account="NCKU_BEMS")
    hashes = [
        publish(world),
        publish(world, other, address=world["other_address"], private=world["keys"]["other_private"]),
    ]
    tracker = replace(world["tracker"], addresses_per_invocation=1, fan_out=lambda now, n: None)
    shards = 3
    reports = [tracker.run(NOW, Shard(index, shards)) for index in range(shards)]
    assert sum(r.addresses for r in reports) == 2  # every address in exactly one shard
    assert sum(r.stored for r in reports) == 2
    assert sorted(r.tx_hash for r in world["store"].readings.values()) == sorted(hashes)
    for user in ("u-1", "u-2"):  # a user's addresses all in its shard, whatever the run
        assert user_shard(user, shards) == user_shard(user, shards) < shards


def test_without_a_fan_out_a_run_does_everything_itself(world):
    publish(world)
    report = replace(world["tracker"], addresses_per_invocation=1).run(NOW)
    assert (report.shards, report.stored) == (0, 1)
    assert "shards" not in report.as_dict()


@given(
    st.lists(st.sampled_from(["A" * 81, "B" * 81, "C" * 81, "D" * 81]), unique=True),
    st.sets(st.tuples(st.sampled_from(["A" * 81, "B" * 81, "C" * 81, "D" * 81]), st.integers(0, 23))),
    st.integers(0, 23),
)
def test_catch_up_asks_exactly_the_addresses_incomplete_in_an_hour(addresses, seen_hours, hour):
    seen = {discovery.address_hour(address, h) for address, h in seen_hours}
    expected = tuple(
        a
        for a in addresses
        if discovery.address_hour(a, hour) not in seen
        or (hour != 23 and discovery.address_hour(a, hour + 1) not in seen)
    )
    assert discovery.catch_up(addresses, hour, discovery.by_hour_letter(seen)) == expected


def test_each_meter_with_something_new_is_looked_up_once_in_lookups_of_at_most_100(world):
    asked: list[list[str]] = []
    lookup = world["tracker"].meters

    def counted(meter_ids):
        asked.append(list(meter_ids))
        return lookup(meter_ids)

    publish(world, demand_payload(TAKEN))
    publish(world, demand_payload(TAKEN + timedelta(minutes=1)))
    report = replace(world["tracker"], meters=counted).run(NOW)
    assert report.stored == 2 and asked == [["m-1"]]
    many = [f"m-{n}" for n in range(250)]
    parsed = [
        tracker_module._Parsed(b"", AddressRecord("a", meter_id, "d", "u", "acc"), "Demand", 10) for meter_id in many
    ]
    asked.clear()
    replace(world["tracker"], meters=counted)._owners(parsed)
    assert [len(ids) for ids in asked] == [100, 100, 50] and sorted(i for ids in asked for i in ids) == sorted(many)
