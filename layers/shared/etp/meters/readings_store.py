"""DynamoDB storage of readings and the tracker's ledger (PynamoDB). Imported on first use.

Readings: hash key `id` (the reading id, so storing is conditional on it being new); one GSI,
`by-user-hour` (`user_hour` = `<user id>#<UTC hour, YYYY-MM-DDTHH>`, range key `sk` = `<UTC
time>Z#<reading id>`): every read. A Query of one partition reads one user's hour, however long the
history, so a window of n hours is n Queries of exactly its readings, in DynamoDB and in the
emulators (which sort and filter a whole index partition on every Query: by user, a week of readings
made a table page 3x slower). Readings stored before the index existed get their `user_hour` from
the migration `0001_readings_hour_keys` (`etp-admin migrate`).
Ledger: hash key `key` = `tx#<hash>`, marking a transaction processed (stored, or rejected with the
reason). A reading and its transaction's marker are written in one DynamoDB transaction, each
conditional on not existing: a reading id is stored at most once and a transaction processed at
most once, even when two tracker runs overlap.

Quarantine: an operator hides a stored reading from every answer by moving its `sk` to
`quarantined#<UTC time>Z#<reading id>`. Every read of readings (`between`, `day_page`, hence
/power_info, settlement, the DR baseline and the rollups' recompute) is a Query of `by-user-hour`
within a time window, i.e. between two `YYYY-...` sort keys, which a `quarantined#` key ('q'
sorts after every digit) is never inside: hidden readings are out of every window,
answer and count (quarantine and release recompute the rollups they touch), by construction, with
no filter to forget, and `totalCount` agrees with the pages. The item itself
stays (audit), with who, when and why, and a log of every quarantine and release; releasing puts
the time-ordered `sk` back. A NEW read of readings must keep to time windows of `by-user-hour`.

Energy rollups (etp.meters.rollups, stored by etp.meters.rollups_store): storing readings, and
quarantining or releasing one, recomputes the rollup hours they touch from the readings of those
hours (`refresh_rollups`), so /power_info's chart, summary and table counts read the rollups, not
the readings; `day_page` finds a table page's first hour from the counts. Readings stored before
rollups existed get theirs from the migration `0002_readings_rollups`.
"""

import re
import uuid
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.transactions import TransactWrite

from etp.clock import day_bounds, from_utc_iso, local_zone, to_utc_iso, utcnow
from etp.dynamo import TableModel, conditional, failed_conditions, table_meta
from etp.meters import rollups
from etp.meters.readings import Outcome, StoredReading
from etp.meters.rollups_store import DynamoRollups


class _ByUserHour(GlobalSecondaryIndex["ReadingModel"]):
    class Meta:
        index_name = "by-user-hour"
        projection = AllProjection()

    user_hour = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


QUARANTINED = "quarantined#"  # the sort-key prefix of hidden readings: outside every time window
TX_HASH = re.compile(r"\A[A-Z9]{81}\Z")


class QuarantineEvent(MapAttribute):
    action = UnicodeAttribute()  # quarantined | released
    at = UnicodeAttribute()
    by = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)


class ReadingModel(TableModel):
    Meta = table_meta("readings_table")

    id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    sk = UnicodeAttribute()
    user_hour = UnicodeAttribute(null=True)  # absent only on readings stored before by-user-hour
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

    by_user_hour = _ByUserHour()


class LedgerModel(TableModel):
    Meta = table_meta("ledger_table")

    key = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute(null=True)
    reason = UnicodeAttribute(null=True)
    reading_id = UnicodeAttribute(null=True)
    tx_hash = UnicodeAttribute(null=True)
    at = UnicodeAttribute()


def sort_key(taken_at: datetime, reading_id: str) -> str:
    return f"{to_utc_iso(taken_at)}#{reading_id}"


def stored_items(
    reading: StoredReading, values: dict[str, float], address: str, now: str
) -> tuple[LedgerModel, ReadingModel]:
    """What storing a reading writes: its transaction's ledger marker and the reading."""
    marker = LedgerModel(key=f"tx#{reading.tx_hash}", status="stored", reading_id=reading.id, at=now)
    item = ReadingModel(
        user_id=reading.user_id,
        sk=sort_key(reading.taken_at, reading.id),
        user_hour=hour_key(reading.user_id, reading.taken_at),
        id=reading.id,
        meter_id=reading.meter_id,
        kind=reading.kind,
        taken_at=to_utc_iso(reading.taken_at),
        power_kw=reading.power_kw,
        values=values,
        tx_hash=reading.tx_hash,
        address=address,
        stored_at=now,
    )
    return marker, item


def hour_key(user_id: str, taken_at: datetime) -> str:
    """A reading's `by-user-hour` partition: its user and the UTC hour it was taken in."""
    return f"{user_id}#{taken_at.astimezone(UTC):%Y-%m-%dT%H}"


def _hour_items(user_id: str, start: datetime, end: datetime, prefix: str = "") -> Iterator[ReadingModel]:
    """The user's items whose sort key lies between `prefix` + start and `prefix` + end (visible
    readings with no prefix, quarantined ones with QUARANTINED), oldest first: a Query per UTC hour."""
    condition = ReadingModel.sk.between(prefix + to_utc_iso(start), prefix + to_utc_iso(end))
    for hour in utc_hours(start, end):
        yield from ReadingModel.by_user_hour.query(hour_key(user_id, hour), range_key_condition=condition)


def utc_hours(start: datetime, end: datetime) -> list[datetime]:
    """The UTC hours that [start, end) overlaps, oldest first."""
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    hours = []
    while hour < end:
        hours.append(hour)
        hour += timedelta(hours=1)
    return hours


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
        overlapping run, a replayed id), its items are retried one by one for exact outcomes.

        The energy rollups of the hours these readings touch are recomputed first, as if all were
        stored: a run that stops after that stored nothing, so the next one fetches, stores and
        recomputes the same readings again. When some were not stored after all (a replayed id,
        another run's), those hours are recomputed again from what is stored."""
        readings = [_as_stored(reading) for reading, _, _ in items]
        refresh_rollups(readings, include=readings)
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
        if any(outcome != "stored" for outcome in outcomes):
            stored = [reading for reading, outcome in zip(readings, outcomes, strict=True) if outcome == "stored"]
            refresh_rollups(readings, include=stored)
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
                marker, item = stored_items(reading, values, address, now)
                transaction.save(marker, condition=LedgerModel.key.does_not_exist())
                transaction.save(item, condition=ReadingModel.id.does_not_exist())

    def reject(self, tx_hash: str, reason: str) -> bool:
        """Mark a transaction rejected; False when a concurrent run already processed it."""
        marker = LedgerModel(key=f"tx#{tx_hash}", status="rejected", reason=reason, at=to_utc_iso(utcnow()))
        return conditional(lambda: marker.save(condition=LedgerModel.key.does_not_exist()))

    def between(self, user_id: str, start: datetime, end: datetime) -> list[StoredReading]:
        """A user's readings taken in [start, end), oldest first: one Query per UTC hour."""
        found = [_to_stored(item) for item in _hour_items(user_id, start, end)]
        return [r for r in found if start <= r.taken_at < end]

    def day_page(self, user_id: str, day: date, page: int, per_page: int) -> tuple[list[StoredReading], int]:
        """One page of a local day's readings, newest first, and how many the day holds, by the day's
        rollup: its hour counts give the total and the hour where the page starts; Queries of that
        hour's and the earlier hours' partitions read from there down, skipping only the page's
        earlier rows within the first hour."""
        zone = local_zone()
        counts = {
            bucket: sum(n for _, n in cell.values()) for bucket, cell in (_rollups().day(user_id, day) or {}).items()
        }
        total = sum(counts.values())
        skip = (page - 1) * per_page
        if skip >= total:
            return [], total
        bucket, skip = _starting_bucket(counts, skip)
        start, end = day_bounds(day, zone)
        _, upper = rollups.bucket_bounds(bucket, start, end)
        condition = ReadingModel.sk.between(to_utc_iso(start), to_utc_iso(upper))
        rows: list[ReadingModel] = []
        for hour in reversed(utc_hours(start, upper)):
            wanted = skip + per_page - len(rows)
            rows += ReadingModel.by_user_hour.query(
                hour_key(user_id, hour),
                range_key_condition=condition,
                scan_index_forward=False,
                limit=wanted,
                page_size=min(wanted, 1000),
            )
            if len(rows) >= skip + per_page:
                break
        return [_to_stored(item) for item in rows[skip:]], total


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
        found = [_to_record(item) for prefix in ("", QUARANTINED) for item in _hour_items(user_id, start, end, prefix)]
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
        changed = conditional(lambda: ReadingModel(reading.id).update(actions=actions, condition=condition))
        if changed:
            refresh_rollups([reading], exclude={reading.id})
        return changed

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
        changed = conditional(lambda: ReadingModel(reading.id).update(actions=actions, condition=condition))
        if changed:
            refresh_rollups([reading], include=[reading])
        return changed


# --- energy rollups (etp.meters.rollups) ------------------------------------------------------


def _as_stored(reading: StoredReading) -> StoredReading:
    """A reading as it reads back: its time to the second (a payload's time may have a fraction)."""
    return replace(reading, taken_at=from_utc_iso(to_utc_iso(reading.taken_at)))


def _rollups() -> DynamoRollups:
    return DynamoRollups()


def _starting_bucket(counts: dict[int, int], skip: int) -> tuple[int, int]:
    """The hour-bucket holding the `skip`-th newest reading, and how many newer ones that bucket holds."""
    for bucket in sorted(counts, reverse=True):
        if skip < counts[bucket]:
            return bucket, skip
        skip -= counts[bucket]
    raise ValueError("skip is beyond the day's readings")


def refresh_rollups(
    changed: list[StoredReading], *, include: Iterable[StoredReading] = (), exclude: Collection[str] = ()
) -> None:
    """Recompute the rollup buckets that readings added or hidden at these times touch
    (etp.meters.rollups.refresh). The by-user-hour index is eventually consistent, so the readings
    just stored (`include`) are added to what it returns and the ones just hidden (`exclude`) taken out."""
    extra = list(include)

    def read(user_id: str, low: datetime, high: datetime) -> list[StoredReading]:
        window = {r.id: r for r in DynamoReadingStore().between(user_id, low, high)}
        window |= {r.id: r for r in extra if r.user_id == user_id and low <= r.taken_at < high}
        return [r for key, r in window.items() if key not in exclude]

    if changed:
        rollups.refresh(changed, local_zone(), read, _rollups().set_buckets)


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
