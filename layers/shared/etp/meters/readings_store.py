"""DynamoDB storage of readings and the tracker's ledger (PynamoDB). Imported on first use.

Readings: hash key `id` (the reading id, so storing is conditional on it being new); GSI
`by-user-time` (`user_id`, `sk` = `<UTC time>Z#<reading id>`), so one Query returns a user's
readings of any time window, newest first if asked.
Ledger: hash key `key` = `tx#<hash>`, marking a transaction processed (stored, or rejected with the
reason). A reading and its transaction's marker are written in one DynamoDB transaction, each
conditional on not existing: a reading id is stored at most once and a transaction processed at
most once, even when two tracker runs overlap.

Quarantine: an operator hides a stored reading from every answer by moving its `sk` to
`quarantined#<UTC time>Z#<reading id>`. Every read of readings (`between`, `page` and its COUNT,
hence /power_info, settlement and the DR baseline) is a Query of `by-user-time` within a time
window, i.e. between two `YYYY-...` sort keys, and a `quarantined#` key ('q' sorts after every
digit) is never inside one: hidden readings are out of every window, answer and count, by
construction, with no filter to forget, and `totalCount` agrees with the pages. The item itself
stays (audit), with who, when and why, and a log of every quarantine and release; releasing puts
the time-ordered `sk` back. A NEW read of readings must keep to a time window of `by-user-time`.
"""

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from etp.clock import from_utc_iso, to_utc_iso, utcnow
from etp.dynamo import aws_region, conditional, failed_conditions
from etp.meters.readings import Outcome, StoredReading
from etp.settings import settings


class _ByUserTime(GlobalSecondaryIndex["ReadingModel"]):
    class Meta:
        index_name = "by-user-time"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


QUARANTINED = "quarantined#"  # the sort-key prefix of hidden readings: outside every time window
TX_HASH = re.compile(r"\A[A-Z9]{81}\Z")


class QuarantineEvent(MapAttribute):
    action = UnicodeAttribute()  # quarantined | released
    at = UnicodeAttribute()
    by = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)


class ReadingModel(Model):
    class Meta:
        table_name = settings().readings_table
        region = aws_region()
        host: str | None = None

    id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    sk = UnicodeAttribute()
    meter_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    taken_at = UnicodeAttribute()
    power_kw = NumberAttribute()
    values = MapAttribute[str, float](default=dict)
    tx_hash = UnicodeAttribute()
    address = UnicodeAttribute()
    stored_at = UnicodeAttribute()
    quarantined_at = UnicodeAttribute(null=True)
    quarantine_reason = UnicodeAttribute(null=True)
    quarantined_by = UnicodeAttribute(null=True)
    quarantine_log = ListAttribute(of=QuarantineEvent, null=True)

    by_user_time = _ByUserTime()


class LedgerModel(Model):
    class Meta:
        table_name = settings().ledger_table
        region = aws_region()
        host: str | None = None

    key = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    reading_id = UnicodeAttribute(null=True)
    tx_hash = UnicodeAttribute(null=True)
    at = UnicodeAttribute()


def sort_key(taken_at: datetime, reading_id: str) -> str:
    return f"{to_utc_iso(taken_at)}#{reading_id}"


@dataclass(frozen=True)
class ReadingRecord:
    """A stored reading as an operator sees it: what the tracker stored, and its quarantine."""

    reading: StoredReading
    values: dict[str, float]
    address: str
    stored_at: str
    quarantined_at: str | None
    quarantine_reason: str | None
    quarantined_by: str | None
    log: list[dict]

    @property
    def quarantined(self) -> bool:
        return self.quarantined_at is not None


def _to_record(item: ReadingModel) -> ReadingRecord:
    return ReadingRecord(
        reading=_to_stored(item),
        values={name: float(value) for name, value in item.values.as_dict().items()},
        address=item.address,
        stored_at=item.stored_at,
        quarantined_at=item.quarantined_at,
        quarantine_reason=item.quarantine_reason,
        quarantined_by=item.quarantined_by,
        log=[event.as_dict() for event in item.quarantine_log or []],
    )


def _to_stored(item: ReadingModel) -> StoredReading:
    return StoredReading(
        id=item.id,
        user_id=item.user_id,
        meter_id=item.meter_id,
        kind=item.kind,
        taken_at=from_utc_iso(item.taken_at),
        power_kw=float(item.power_kw),
        tx_hash=item.tx_hash,
    )


class DynamoReadingStore:
    def processed(self, hashes: list[str]) -> set[str]:
        """Which of these transactions an earlier run already stored or rejected."""
        done: set[str] = set()
        for start in range(0, len(hashes), 100):
            keys = [f"tx#{h}" for h in hashes[start : start + 100]]
            done.update(item.key[3:] for item in LedgerModel.batch_get(keys, attributes_to_get=["key"]))
        return done

    def store_many(self, items: list[tuple[StoredReading, dict[str, float], str]]) -> list[Outcome]:
        """Store (reading, values, address) items, at most 50 per DynamoDB transaction (2 writes
        each, 100 at most). A transaction is all or nothing: when a condition fails in one (an
        overlapping run, a replayed id), its items are retried one by one for exact outcomes."""
        outcomes: list[Outcome] = []
        for start in range(0, len(items), 50):
            chunk = items[start : start + 50]
            try:
                self._write(chunk)
                outcomes.extend(["stored"] * len(chunk))
            except TransactWriteError as error:
                if error.cause_response_code != "TransactionCanceledException":
                    raise
                outcomes.extend([_single_outcome(error)] if len(chunk) == 1 else self._one_by_one(chunk))
        return outcomes

    def _one_by_one(self, chunk) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for item in chunk:
            try:
                self._write([item])
                outcomes.append("stored")
            except TransactWriteError as error:
                outcomes.append(_single_outcome(error))
        return outcomes

    def _write(self, chunk) -> None:
        now = to_utc_iso(utcnow())
        with TransactWrite(connection=_connection()) as transaction:
            for reading, values, address in chunk:
                transaction.save(
                    LedgerModel(key=f"tx#{reading.tx_hash}", status="stored", reading_id=reading.id, at=now),
                    condition=LedgerModel.key.does_not_exist(),
                )
                transaction.save(
                    ReadingModel(
                        user_id=reading.user_id,
                        sk=sort_key(reading.taken_at, reading.id),
                        id=reading.id,
                        meter_id=reading.meter_id,
                        kind=reading.kind,
                        taken_at=to_utc_iso(reading.taken_at),
                        power_kw=reading.power_kw,
                        values=values,
                        tx_hash=reading.tx_hash,
                        address=address,
                        stored_at=now,
                    ),
                    condition=ReadingModel.id.does_not_exist(),
                )

    def reject(self, tx_hash: str, reason: str) -> bool:
        """Mark a transaction rejected; False when a concurrent run already processed it."""
        marker = LedgerModel(key=f"tx#{tx_hash}", status="rejected", reason=reason, at=to_utc_iso(utcnow()))
        return conditional(lambda: marker.save(condition=LedgerModel.key.does_not_exist()))

    def between(self, user_id: str, start: datetime, end: datetime) -> list[StoredReading]:
        condition = ReadingModel.sk.between(to_utc_iso(start), to_utc_iso(end))
        return [
            r
            for r in (_to_stored(i) for i in ReadingModel.by_user_time.query(user_id, range_key_condition=condition))
            if start <= r.taken_at < end
        ]

    def page(
        self, user_id: str, start: datetime, end: datetime, page: int, per_page: int
    ) -> tuple[list[StoredReading], int]:
        """One page of a window's readings, newest first, and how many the window holds."""
        condition = ReadingModel.sk.between(to_utc_iso(start), to_utc_iso(end))
        total = ReadingModel.by_user_time.count(user_id, range_key_condition=condition)
        skip = (page - 1) * per_page
        if skip >= total:
            return [], total
        rows = []
        query = ReadingModel.by_user_time.query(
            user_id,
            range_key_condition=condition,
            scan_index_forward=False,
            limit=skip + per_page,
            page_size=min(skip + per_page, 1000),
        )
        for index, item in enumerate(query):
            if index >= skip:
                rows.append(_to_stored(item))
        return rows, total


class DynamoReadingAdmin:
    """The operator's view of the readings: find one, list a window's (hidden ones too), quarantine
    and release. Each change is conditional on the current state, so repeating it changes nothing."""

    def record(self, key: str) -> ReadingRecord | None:
        """A reading by its id (as /power_info shows it) or by its transaction's hash."""
        reading_id = _reading_id(key)
        if reading_id is None and TX_HASH.match(key.strip().upper()):
            try:
                marker = LedgerModel.get(f"tx#{key.strip().upper()}", consistent_read=True)
            except DoesNotExist:
                return None
            reading_id = marker.reading_id
        if reading_id is None:
            return None
        try:
            return _to_record(ReadingModel.get(reading_id, consistent_read=True))
        except DoesNotExist:
            return None

    def window(self, user_id: str, start: datetime, end: datetime) -> list[ReadingRecord]:
        """A user's readings taken in [start, end), visible and quarantined, oldest first."""
        found = []
        for prefix in ("", QUARANTINED):
            condition = ReadingModel.sk.between(prefix + to_utc_iso(start), prefix + to_utc_iso(end))
            found += [_to_record(i) for i in ReadingModel.by_user_time.query(user_id, range_key_condition=condition)]
        inside = [r for r in found if start <= r.reading.taken_at < end]
        return sorted(inside, key=lambda r: (r.reading.taken_at, r.reading.id))

    def quarantine(self, reading: StoredReading, *, reason: str, by: str, now: datetime) -> bool:
        """Hide a reading from every answer; False when it already is (nothing changes)."""
        at = to_utc_iso(now)
        event = QuarantineEvent(action="quarantined", at=at, by=by, reason=reason)
        actions: list[Action] = [
            ReadingModel.sk.set(QUARANTINED + sort_key(reading.taken_at, reading.id)),
            ReadingModel.quarantined_at.set(at),
            ReadingModel.quarantine_reason.set(reason),
            ReadingModel.quarantined_by.set(by),
            ReadingModel.quarantine_log.set((ReadingModel.quarantine_log | []).append([event])),
        ]
        condition = ReadingModel.id.exists() & ReadingModel.quarantined_at.does_not_exist()
        return conditional(lambda: ReadingModel(reading.id).update(actions=actions, condition=condition))

    def release(self, reading: StoredReading, *, by: str, now: datetime, reason: str | None = None) -> bool:
        """Undo a quarantine; False when the reading is not quarantined (nothing changes)."""
        event = QuarantineEvent(action="released", at=to_utc_iso(now), by=by, reason=reason)
        actions: list[Action] = [
            ReadingModel.sk.set(sort_key(reading.taken_at, reading.id)),
            ReadingModel.quarantined_at.remove(),
            ReadingModel.quarantine_reason.remove(),
            ReadingModel.quarantined_by.remove(),
            ReadingModel.quarantine_log.set((ReadingModel.quarantine_log | []).append([event])),
        ]
        condition = ReadingModel.id.exists() & ReadingModel.quarantined_at.exists()
        return conditional(lambda: ReadingModel(reading.id).update(actions=actions, condition=condition))


def _reading_id(key: str) -> str | None:
    try:
        return str(uuid.UUID(key.strip()))
    except ValueError:
        return None


def _single_outcome(error: TransactWriteError) -> Outcome:
    """What a one-reading transaction's cancellation means: items are [tx marker, reading]."""
    failed = [*failed_conditions(error), False, False]
    if failed[0]:
        return "duplicate"  # another run processed this transaction
    if failed[1]:
        return "replayed"
    raise error


def _connection() -> Connection:
    return ReadingModel._get_connection().connection
