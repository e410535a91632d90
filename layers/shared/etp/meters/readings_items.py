"""The readings table's and the tracker ledger's items and keys (PynamoDB), and the hour Queries
that every read of readings goes through. Imported on first use.

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

Storing and reading: etp.meters.readings_store; an operator's quarantine: etp.meters.readings_admin.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pynamodb.attributes import ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from etp.clock import from_utc_iso, to_utc_iso
from etp.dynamo import TableModel, table_meta
from etp.meters.readings import StoredReading


class _ByUserHour(GlobalSecondaryIndex["ReadingModel"]):
    class Meta:
        index_name = "by-user-hour"
        projection = AllProjection()

    user_hour = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)


QUARANTINED = "quarantined#"  # the sort-key prefix of hidden readings: outside every time window


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


def stored_puts(reading: StoredReading, values: dict[str, float], address: str, now: str) -> tuple[dict, dict]:
    """`stored_items` as the low-level client's items, serialized as PynamoDB serializes those
    models (tested): a run stores thousands, and building and serializing the models cost more CPU
    than the requests."""
    marker = {"key": {"S": f"tx#{reading.tx_hash}"}, "status": {"S": "stored"}, "reading_id": {"S": reading.id}}
    item = {
        "id": {"S": reading.id},
        "user_id": {"S": reading.user_id},
        "sk": {"S": sort_key(reading.taken_at, reading.id)},
        "user_hour": {"S": hour_key(reading.user_id, reading.taken_at)},
        "meter_id": {"S": reading.meter_id},
        "kind": {"S": reading.kind},
        "taken_at": {"S": to_utc_iso(reading.taken_at)},
        "power_kw": {"N": json.dumps(reading.power_kw)},
        "values": {"M": {name: {"N": json.dumps(value)} for name, value in values.items()}},
        "tx_hash": {"S": reading.tx_hash},
        "address": {"S": address},
        "stored_at": {"S": now},
    }
    return marker | {"at": {"S": now}}, item


def hour_key(user_id: str, taken_at: datetime) -> str:
    """A reading's `by-user-hour` partition: its user and the UTC hour it was taken in."""
    return f"{user_id}#{taken_at.astimezone(UTC):%Y-%m-%dT%H}"


def hour_items(user_id: str, start: datetime, end: datetime, prefix: str = "") -> Iterator[ReadingModel]:
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


def to_record(item: ReadingModel) -> ReadingRecord:
    return ReadingRecord(
        reading=to_stored(item),
        values={name: float(value) for name, value in item.values.as_dict().items()},
        address=item.address,
        stored_at=item.stored_at,
        quarantined_at=item.quarantined_at,
        quarantine_reason=item.quarantine_reason,
        quarantined_by=item.quarantined_by,
        log=[event.as_dict() for event in item.quarantine_log or []],
    )


def to_stored(item: ReadingModel) -> StoredReading:
    return StoredReading(
        id=item.id,
        user_id=item.user_id,
        meter_id=item.meter_id,
        kind=item.kind,
        taken_at=from_utc_iso(item.taken_at),
        power_kw=float(item.power_kw),
        tx_hash=item.tx_hash,
    )
