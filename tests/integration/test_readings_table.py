"""The readings store's conditional transactions against moto: what overlapping runs and replays meet."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from etp.meters.readings import StoredReading
from etp.meters.readings_store import DynamoReadingStore, LedgerModel

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


def test_pages_are_newest_first_and_counted(aws):
    store = DynamoReadingStore()
    store.store_many([item(i) for i in range(7)] + [item(3, user="u-2")])
    rows, total = store.page("u-1", T0, T0 + timedelta(hours=1), page=2, per_page=3)
    assert total == 7 and [r.taken_at.minute for r in rows] == [3, 2, 1]
    assert store.page("u-1", T0, T0 + timedelta(hours=1), page=4, per_page=3) == ([], 7)
