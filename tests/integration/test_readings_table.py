"""The readings store's conditional transactions against moto: what overlapping runs and replays meet."""

import random
import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest
from helpers import present

from etp.clock import day_bounds, local_zone
from etp.meters import power, rollups
from etp.meters.readings import StoredReading
from etp.meters.readings_admin import DynamoReadingAdmin
from etp.meters.readings_items import LedgerModel, ReadingModel, to_stored
from etp.meters.readings_store import DynamoReadingStore
from etp.meters.rollups_store import DynamoRollups, RollupModel
from etp_admin.migrations import m0001_readings_hour_keys, m0002_readings_rollups

T0 = datetime(2025, 3, 12, 2, 0, tzinfo=UTC)


def item(minutes: int = 0, user: str = "u-1") -> tuple[StoredReading, dict, str]:
    reading = StoredReading(
        id=str(uuid.uuid4()),
        user_id=user,
        meter_id="m-1",
        kind="Demand",
        taken_at=T0 + timedelta(minutes=minutes),
        power_kw=1.5,
        tx_hash=uuid.uuid4().hex.upper().translate(str.maketrans("0123456789", "ABCDEFGHIJ")),
    )
    return reading, {"grid": 1.5}, "A" * 81


def test_a_batch_is_stored_and_its_transactions_marked_processed(aws):
    store = DynamoReadingStore()
    batch = [item(i) for i in range(60)]  # more than one DynamoDB transaction
    assert store.store_many(batch) == ["stored"] * 60
    hashes = [r.tx_hash for r, _, _ in batch]
    assert store.processed([*hashes, "Z" * 81]) == set(hashes)
    assert len(store.between("u-1", T0, T0 + timedelta(hours=2))) == 60


def test_storing_the_same_batch_again_changes_nothing(aws):
    store = DynamoReadingStore()
    batch = [item(i) for i in range(5)]
    store.store_many(batch)
    assert store.store_many(batch) == ["duplicate"] * 5
    assert len(store.between("u-1", T0, T0 + timedelta(hours=1))) == 5


def test_a_replayed_id_in_a_batch_is_singled_out_and_the_rest_stored(aws):
    store = DynamoReadingStore()
    original = item(0)
    store.store_many([original])
    replay = (replace(original[0], tx_hash="R" * 81, power_kw=99.0), original[1], original[2])
    batch = [item(1), replay, item(2)]
    assert store.store_many(batch) == ["stored", "replayed", "stored"]
    stored = store.between("u-1", T0, T0 + timedelta(hours=1))
    assert sorted(r.power_kw for r in stored) == [1.5, 1.5, 1.5], "the replay did not overwrite"


def test_a_rejection_is_recorded_once(aws):
    store = DynamoReadingStore()
    assert store.reject("Q" * 81, "broken trytes") is True
    assert store.reject("Q" * 81, "another reason") is False
    assert LedgerModel.get(f"tx#{'Q' * 81}").reason == "broken trytes"
    assert store.processed(["Q" * 81]) == {"Q" * 81}


def visible_in(user: str, start: datetime, end: datetime) -> list[StoredReading]:
    """The oracle of every read: the user's visible readings in [start, end), oldest first, from a Scan
    of the table (no index)."""
    found = [
        item
        for item in ReadingModel.scan()
        if item.user_id == user and not item.sk.startswith("quarantined#") and start <= to_stored(item).taken_at < end
    ]
    return [to_stored(item) for item in sorted(found, key=lambda item: item.sk)]


def expected_page(user: str, day: date, page: int, per_page: int) -> tuple[list[StoredReading], int]:
    newest_first = visible_in(user, *day_bounds(day, local_zone()))[::-1]
    return newest_first[(page - 1) * per_page : page * per_page], len(newest_first)


def test_pages_are_newest_first_and_counted(aws):
    store, day = DynamoReadingStore(), date(2025, 3, 12)
    store.store_many([item(i) for i in range(7)] + [item(3, user="u-2")])
    rows, total = store.day_page("u-1", day, page=2, per_page=3)
    assert total == 7 and [r.taken_at.minute for r in rows] == [3, 2, 1]
    assert store.day_page("u-1", day, page=4, per_page=3) == ([], 7)


def test_a_quarantined_reading_leaves_every_window_and_count_and_comes_back_on_release(aws):
    store, admin = DynamoReadingStore(), DynamoReadingAdmin()
    batch = [item(i) for i in range(7)]
    store.store_many(batch)
    hidden = batch[3][0]
    window = (T0, T0 + timedelta(hours=1))
    assert admin.quarantine(hidden, reason="spike of a broken CT", by="ops@test", now=T0 + timedelta(days=1))
    assert hidden.id not in {r.id for r in store.between("u-1", *window)}
    day = date(2025, 3, 12)
    rows, total = store.day_page("u-1", day, page=1, per_page=10)
    assert total == 6 and len(rows) == 6 and hidden.id not in {r.id for r in rows}
    rows, total = store.day_page("u-1", day, page=2, per_page=3)
    assert total == 6 and [r.taken_at.minute for r in rows] == [2, 1, 0], "pages skip the hidden reading"
    assert store.day_page("u-1", day, page=3, per_page=3) == ([], 6)

    kept = present(admin.record(hidden.id))
    assert kept.quarantined and (kept.quarantine_reason, kept.quarantined_by) == ("spike of a broken CT", "ops@test")
    assert kept.reading == hidden and kept.values == {"grid": 1.5}, "kept whole, for audit"
    assert [r.quarantined for r in admin.window("u-1", *window)] == [False, False, False, True, False, False, False]

    assert admin.release(hidden, by="ops@test", now=T0 + timedelta(days=2), reason="CT was fine")
    assert len(store.between("u-1", *window)) == 7 and store.day_page("u-1", day, page=1, per_page=10)[1] == 7
    released = present(admin.record(hidden.id))
    assert not released.quarantined and released.quarantine_reason is None
    assert [(e["action"], e["by"], e["reason"]) for e in released.log] == [
        ("quarantined", "ops@test", "spike of a broken CT"),
        ("released", "ops@test", "CT was fine"),
    ]


def test_quarantine_and_release_are_idempotent(aws):
    store, admin = DynamoReadingStore(), DynamoReadingAdmin()
    reading = item(0)[0]
    store.store_many([(reading, {"grid": 1.5}, "A" * 81)])
    assert admin.release(reading, by="ops", now=T0) is False, "not quarantined: nothing to undo"
    assert admin.quarantine(reading, reason="first", by="ops", now=T0) is True
    assert admin.quarantine(reading, reason="second", by="other", now=T0) is False
    record = present(admin.record(reading.id))
    assert (record.quarantine_reason, record.quarantined_by, len(record.log)) == ("first", "ops", 1)
    assert admin.release(reading, by="ops", now=T0) is True
    assert admin.release(reading, by="ops", now=T0) is False
    assert len(present(admin.record(reading.id)).log) == 2


def test_a_reading_is_found_by_its_id_or_its_transaction_hash(aws):
    store, admin = DynamoReadingStore(), DynamoReadingAdmin()
    reading = replace(item(0)[0], tx_hash="HASH" + "9" * 77)  # a tangle hash: 81 trytes
    store.store_many([(reading, {"grid": 1.5}, "A" * 81)])
    store.reject("Q" * 81, "broken trytes")
    assert present(admin.record(reading.id)).reading == reading
    assert present(admin.record(reading.id.upper())).reading == reading
    assert present(admin.record(reading.tx_hash)).reading == reading
    assert present(admin.record(reading.tx_hash.lower())).reading == reading
    assert admin.record(str(uuid.uuid4())) is None
    assert admin.record("Q" * 81) is None, "a rejected transaction has no reading"
    assert admin.record("Z" * 81) is None and admin.record("nonsense") is None


def test_the_demand_response_baseline_does_not_see_a_quarantined_reading(aws):
    from etp.dr.jobs import net_load

    store, admin = DynamoReadingStore(), DynamoReadingAdmin()
    batch = [item(i * 15) for i in range(4)]
    store.store_many(batch)
    window = (T0, T0 + timedelta(hours=1))
    assert len(net_load(store, "u-1", *window)) == 4
    admin.quarantine(batch[1][0], reason="spike", by="ops", now=T0)
    assert [t for t, _ in net_load(store, "u-1", *window)] == [batch[i][0].taken_at for i in (0, 2, 3)]
    admin.release(batch[1][0], by="ops", now=T0)
    assert len(net_load(store, "u-1", *window)) == 4


# --- energy rollups ------------------------------------------------------------------------------

DAYS = [date(2025, 3, 11), date(2025, 3, 12), date(2025, 3, 13)]  # local (Asia/Taipei)


def scattered(count: int, seed: int) -> list[tuple[StoredReading, dict, str]]:
    """Readings of two meters and three types over three local days: ties at one second, neighbours
    within the hold, gaps, and times at hour and day boundaries."""
    chance = random.Random(seed)
    start = datetime(2025, 3, 10, 15, 50, tzinfo=UTC)
    found = []
    for _ in range(count):
        at = start + timedelta(seconds=chance.choice([chance.randrange(0, 2 * 86_400), chance.randrange(0, 60) * 3600]))
        reading, values, address = item()
        kind = chance.choice(["Demand", "Demand", "PV", "EV"])
        power = chance.choice([1.5, 0.1, -3.25, round(chance.uniform(-50, 50), 3)])
        found.append(
            (
                replace(reading, meter_id=chance.choice(["m-1", "m-2"]), kind=kind, taken_at=at, power_kw=power),
                values,
                address,
            )
        )
    return found


def assert_rollups_answer_as_the_readings(store: DynamoReadingStore, user: str = "u-1") -> None:
    zone = local_zone()
    for day in DAYS:
        readings = store.between(user, *day_bounds(day, zone))
        assert readings == visible_in(user, *day_bounds(day, zone))
        cells = DynamoRollups().day(user, day)
        assert power.rollup_energies(cells) == power.day_energies(readings, day, zone)
        assert rollups.samples_in(cells or {}) == len(readings)
        for per_page in (1, 7, 1000):
            for page in range(1, len(readings) // per_page + 3):
                assert store.day_page(user, day, page, per_page) == expected_page(user, day, page, per_page)


def test_rollups_kept_at_ingest_answer_as_the_day_s_readings_in_any_arrival_order(aws):
    store = DynamoReadingStore()
    batch = scattered(90, seed=7)
    chance = random.Random(8)
    chance.shuffle(batch)
    position = 0
    while position < len(batch):
        size = chance.randint(1, 30)
        store.store_many(batch[position : position + size])
        position += size
    assert_rollups_answer_as_the_readings(store)
    before = {day: non_empty(DynamoRollups().day("u-1", day)) for day in DAYS}
    assert set(store.store_many(batch[:40])) == {"duplicate"}, "a re-run stores nothing and changes nothing"
    assert {day: non_empty(DynamoRollups().day("u-1", day)) for day in DAYS} == before


def non_empty(cells: rollups.Cells | None) -> rollups.Cells:
    """A day's buckets that hold samples (an empty bucket reads as none)."""
    return {bucket: cell for bucket, cell in (cells or {}).items() if cell}


def test_readings_stored_in_order_keep_the_rollups_without_reading_the_hours(aws, monkeypatch):
    store = DynamoReadingStore()
    once = {(r.meter_id, r.kind, r.taken_at): (r, values, address) for r, values, address in scattered(60, seed=3)}
    batch = sorted(once.values(), key=lambda entry: entry[0].taken_at)  # no ties: each after its series' last
    reads: list[object] = []
    original = DynamoReadingStore.between

    def between(self, *window):
        reads.append(window)
        return original(self, *window)

    monkeypatch.setattr(DynamoReadingStore, "between", between)
    for position in range(0, len(batch), 10):
        store.store_many(batch[position : position + 10])
    assert reads == []
    monkeypatch.undo()
    assert_rollups_answer_as_the_readings(store)


def test_quarantine_and_release_correct_the_rollups(aws):
    store, admin = DynamoReadingStore(), DynamoReadingAdmin()
    batch = [item(i * 10) for i in range(5)]  # 10:00 .. 10:40 local, every 10 minutes
    store.store_many(batch)
    day = date(2025, 3, 12)
    assert power.rollup_energies(DynamoRollups().day("u-1", day))["Demand"] == 1.5 * (40 + 15) / 60
    admin.quarantine(batch[2][0], reason="spike", by="ops", now=T0)
    assert_rollups_answer_as_the_readings(store)
    assert rollups.samples_in(present(DynamoRollups().day("u-1", day))) == 4
    admin.release(batch[2][0], by="ops", now=T0)
    assert_rollups_answer_as_the_readings(store)
    assert power.rollup_energies(DynamoRollups().day("u-1", day))["Demand"] == 1.5 * (40 + 15) / 60


def quiet() -> None:
    pass


def test_the_rollups_migration_computes_the_rollups_of_readings_stored_before_them(aws):
    store = DynamoReadingStore()
    store.store_many(scattered(60, seed=3))
    DynamoReadingAdmin().quarantine(
        store.between("u-1", *day_bounds(DAYS[1], local_zone()))[0], reason="x", by="o", now=T0
    )
    for rollup in RollupModel.scan():  # as a version without rollups left the tables
        rollup.delete()
    assert DynamoRollups().day("u-1", DAYS[1]) is None

    dry = m0002_readings_rollups.run(True, quiet)
    assert dry["user_days"] >= len(DAYS) and list(RollupModel.scan()) == [], "a dry run writes nothing"
    assert m0002_readings_rollups.run(False, quiet) == dry
    assert_rollups_answer_as_the_readings(store)
    assert m0002_readings_rollups.run(False, quiet) == dry, "idempotent: the same rollups again"
    assert_rollups_answer_as_the_readings(store)


def test_the_rollups_migration_takes_the_version_before_s_marker_for_done(aws):
    store = DynamoReadingStore()
    store.store_many(scattered(10, seed=5))
    RollupModel(*m0002_readings_rollups.OLD_MARKER).save()  # as the version before marked its backfill
    assert m0002_readings_rollups.run(True, quiet) == {"user_days": 0, "done_before": 1}
    assert RollupModel.count(m0002_readings_rollups.OLD_MARKER[0]) == 1, "a dry run deletes nothing"
    assert m0002_readings_rollups.run(False, quiet) == {"user_days": 0, "done_before": 1}
    assert RollupModel.count(m0002_readings_rollups.OLD_MARKER[0]) == 0, "the marker goes: the ledger says it now"


def test_the_hour_key_migration_indexes_older_readings_and_repairs_the_hours_recomputed_meanwhile(aws):
    store, admin = DynamoReadingStore(), DynamoReadingAdmin()
    older = scattered(60, seed=7)
    store.store_many(older)
    hidden = store.between("u-1", *day_bounds(DAYS[1], local_zone()))[0]
    admin.quarantine(hidden, reason="x", by="o", now=T0)
    for reading in ReadingModel.scan():  # as a version without by-user-hour left them
        reading.update(actions=[ReadingModel.user_hour.remove()])
    assert store.between("u-1", datetime(2025, 3, 10, tzinfo=UTC), datetime(2025, 3, 14, tzinfo=UTC)) == []
    # the new version's tracker stores a reading before the migration ran: its hours miss the older ones
    newer = replace(
        older[0][0], id=str(uuid.uuid4()), tx_hash="N" * 81, taken_at=older[0][0].taken_at + timedelta(seconds=1)
    )
    store.store_many([(newer, older[0][1], older[0][2])])
    day = newer.taken_at.astimezone(local_zone()).date()
    bucket = present(DynamoRollups().day("u-1", day))[
        rollups.bucket_of(newer.taken_at, day_bounds(day, local_zone())[0])
    ]
    assert sum(count for _, count in bucket.values()) == 1, "the older reading 1 s before is missing"

    dry = m0001_readings_hour_keys.run(True, quiet)
    assert dry["readings_keyed"] == 60
    assert [r.id for r in ReadingModel.scan() if r.user_hour] == [newer.id], "a dry run writes nothing"
    done = m0001_readings_hour_keys.run(False, quiet)
    assert done == dry and done["readings_keyed"] == 60, "every older reading, the quarantined one too"
    assert done["readings_rolled_up_again"] > 0
    assert_rollups_answer_as_the_readings(store)
    assert hidden.id not in {r.id for d in DAYS for r in store.between("u-1", *day_bounds(d, local_zone()))}
    assert m0001_readings_hour_keys.run(False, quiet) == {"readings_keyed": 0, "readings_rolled_up_again": 0}
    admin.release(hidden, by="o", now=T0)
    assert_rollups_answer_as_the_readings(store)


def test_a_replayed_id_with_other_values_leaves_the_rollups_as_the_stored_readings(aws):
    store = DynamoReadingStore()
    original = item(0)
    store.store_many([original])
    moved = replace(original[0], tx_hash="R" * 81, power_kw=99.0, taken_at=T0 + timedelta(minutes=50))
    assert store.store_many([item(1), (moved, original[1], original[2])]) == ["stored", "replayed"]
    assert_rollups_answer_as_the_readings(store)
    assert rollups.samples_in(present(DynamoRollups().day("u-1", date(2025, 3, 12)))) == 2


def test_a_run_that_stops_before_storing_is_repaired_by_the_next(aws, monkeypatch):
    store = DynamoReadingStore()
    batch = scattered(20, seed=5)

    def crash(self, chunk):
        raise RuntimeError("the run timed out")

    monkeypatch.setattr(DynamoReadingStore, "_write", crash)
    with pytest.raises(RuntimeError):
        store.store_many(batch)
    monkeypatch.undo()
    assert all(store.between("u-1", *day_bounds(day, local_zone())) == [] for day in DAYS)
    assert store.store_many(batch) == ["stored"] * 20, "no ledger marker: the next run stores them"
    assert_rollups_answer_as_the_readings(store)


def test_a_reading_time_with_a_fraction_of_a_second_counts_as_it_is_stored(aws):
    store = DynamoReadingStore()
    day_end = datetime(2025, 3, 12, 16, 0, tzinfo=UTC)  # the end of 2025-03-12, local
    reading, values, address = item()
    store.store_many([(replace(reading, taken_at=day_end - timedelta(seconds=10.5)), values, address)])
    assert_rollups_answer_as_the_readings(store)  # held 11 s, as stored (at 15:59:49), not 10.5


def test_a_rollup_write_that_meets_a_concurrent_writer_is_redone(aws):
    store, day = DynamoRollups(), date(2025, 3, 12)
    cells = {3: {"Demand": (Fraction(900), 1)}}
    tails = {("m-1", "Demand"): rollups.Tail(datetime(2025, 3, 11, 19, 15, tzinfo=UTC), 2.5)}
    assert store.save_many([("u-1", day, rollups.Kept(), cells, tails)]) == []
    kept = store.load_many([("u-1", day)])[("u-1", day)]
    assert kept.cells == cells and kept.tails == tails and kept.token
    assert store.save_many([("u-1", day, kept, {4: {"PV": (Fraction(1), 1)}}, {})]) == []
    again = store.load_many([("u-1", day)])[("u-1", day)]
    assert again.tails == tails and again.token != kept.token, "what a write does not change, it keeps"
    emptied: rollups.Cells = {3: {}}
    no_tails: rollups.Tails = {}
    stale = [("u-1", day, kept, emptied, no_tails), ("u-2", day, rollups.Kept(), cells, no_tails)]
    assert store.save_many(stale) == [("u-1", day), ("u-2", day)]  # one transaction: neither written
    assert store.day("u-1", day) == cells | {4: {"PV": (Fraction(1), 1)}}
    assert store.day("u-2", day) is None
