"""DynamoDB storage of readings and the tracker's ledger (PynamoDB): storing a run's readings and
reading a user's time windows. Imported on first use. The items and keys: etp.meters.readings_items;
the operator's quarantine: etp.meters.readings_admin.

Energy rollups (etp.meters.rollups, stored by etp.meters.rollups_store): storing readings, and
quarantining or releasing one, keeps the rollups of their days (`refresh_rollups`: a reading after
its series' latest from the rollup alone, any other by recomputing the hours it touches from their
readings), so /power_info's chart, summary and table counts read the rollups, not
the readings; `day_page` finds a table page's first hour from the counts. Readings stored before
rollups existed get theirs from the migration `0002_readings_rollups`.
"""

from collections.abc import Collection, Iterable
from dataclasses import replace
from datetime import date, datetime

from botocore.exceptions import ClientError
from pynamodb.connection import Connection

from etp.clock import day_bounds, from_utc_iso, local_zone, to_utc_iso, utcnow
from etp.dynamo import conditional
from etp.io_pool import io_map, parts
from etp.meters import rollups
from etp.meters.readings import Outcome, StoredReading
from etp.meters.readings_items import (
    LedgerModel,
    ReadingModel,
    hour_items,
    hour_key,
    stored_puts,
    to_stored,
    utc_hours,
)
from etp.meters.rollups_store import DynamoRollups

TRANSACTION = 50  # readings a transaction: a ledger marker and a reading each, 100 actions


class DynamoReadingStore:
    def processed(self, hashes: list[str]) -> set[str]:
        """Which of these transactions an earlier run already stored or rejected (BatchGetItem, 100 keys
        a request, from the bounded I/O pool)."""
        found = io_map(
            lambda keys: [i.key[3:] for i in LedgerModel.batch_get(keys, attributes_to_get=["key"])],
            parts([f"tx#{h}" for h in hashes], 100),
        )
        return {tx_hash for chunk in found for tx_hash in chunk}

    def store_many(self, items: list[tuple[StoredReading, dict[str, float], str]]) -> list[Outcome]:
        """Store (reading, values, address) items, at most 50 per DynamoDB transaction (2 writes
        each, TransactWriteItems' 100 at most), the transactions sent by a bounded pool of I/O
        threads. A transaction is all or nothing: when a condition fails in one (an overlapping
        run, a replayed id), its items are retried one by one for exact outcomes.

        The energy rollups of the days these readings are in are kept first, as if all were stored
        (in order: from the rollup alone): a run that stops after that stored nothing, so the next
        one fetches and stores the same readings again, finds each at (or before) its series' tail
        and recomputes its hours exactly. When some were not stored after all (a replayed id,
        another run's), those hours are recomputed again from what is stored."""
        readings = [_as_stored(reading) for reading, _, _ in items]
        refresh_rollups(readings, include=readings, added=_ids(readings))
        outcomes = [outcome for chunk in io_map(self._chunk_outcomes, parts(items, TRANSACTION)) for outcome in chunk]
        if any(outcome != "stored" for outcome in outcomes):
            stored = [reading for reading, outcome in zip(readings, outcomes, strict=True) if outcome == "stored"]
            refresh_rollups(readings, include=stored)
        return outcomes

    def _chunk_outcomes(self, chunk) -> list[Outcome]:
        failed = self._write(chunk)
        if failed is None:
            return ["stored"] * len(chunk)
        return [_single_outcome(failed)] if len(chunk) == 1 else self._one_by_one(chunk)

    def _one_by_one(self, chunk) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for item in chunk:
            failed = self._write([item])
            outcomes.append("stored" if failed is None else _single_outcome(failed))
        return outcomes

    def _write(self, chunk) -> list[bool] | None:
        """One transaction of these readings and their markers, each conditional on not existing
        (through the low-level client: see readings_items.stored_puts). None when it was written;
        when it was cancelled, for each of its items whether its condition failed."""
        now = to_utc_iso(utcnow())
        actions = []
        for reading, values, address in chunk:
            marker, item = stored_puts(reading, values, address, now)
            actions.append(_put(LedgerModel.Meta.table_name, marker, "key"))
            actions.append(_put(ReadingModel.Meta.table_name, item, "id"))
        try:
            _connection().client.transact_write_items(TransactItems=actions)
        except ClientError as error:
            if error.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = error.response.get("CancellationReasons") or []
            return [reason.get("Code") == "ConditionalCheckFailed" for reason in reasons]
        return None

    def reject(self, tx_hash: str, reason: str) -> bool:
        """Mark a transaction rejected; False when a concurrent run already processed it."""
        marker = LedgerModel(key=f"tx#{tx_hash}", status="rejected", reason=reason, at=to_utc_iso(utcnow()))
        return conditional(lambda: marker.save(condition=LedgerModel.key.does_not_exist()))

    def between(self, user_id: str, start: datetime, end: datetime) -> list[StoredReading]:
        """A user's readings taken in [start, end), oldest first: one Query per UTC hour."""
        found = [to_stored(item) for item in hour_items(user_id, start, end)]
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
        return [to_stored(item) for item in rows[skip:]], total


# --- energy rollups (etp.meters.rollups) ------------------------------------------------------


def _as_stored(reading: StoredReading) -> StoredReading:
    """A reading as it reads back: its time to the second (a payload's time may have a fraction)."""
    return replace(reading, taken_at=from_utc_iso(to_utc_iso(reading.taken_at)))


def _ids(readings: list[StoredReading]) -> set[str]:
    return {reading.id for reading in readings}


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
    changed: list[StoredReading],
    *,
    include: Iterable[StoredReading] = (),
    exclude: Collection[str] = (),
    added: Collection[str] = (),
) -> None:
    """Keep the rollups of the days these readings, added or hidden, are in (etp.meters.rollups.refresh:
    the ones in `added` (ids) that come in order after their series' tails, from the rollup alone;
    the others recomputed). The by-user-hour index is eventually consistent, so the readings just
    stored (`include`) are added to what it returns and the ones just hidden (`exclude`) taken out."""
    extra = list(include)

    def read(user_id: str, low: datetime, high: datetime) -> list[StoredReading]:
        window = {r.id: r for r in DynamoReadingStore().between(user_id, low, high)}
        window |= {r.id: r for r in extra if r.user_id == user_id and low <= r.taken_at < high}
        return [r for key, r in window.items() if key not in exclude]

    if changed:
        rollups.refresh(changed, local_zone(), read, _rollups(), added=added)


def _put(table: str, item: dict, key: str) -> dict:
    return {
        "Put": {
            "TableName": table,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(#k)",
            "ExpressionAttributeNames": {"#k": key},
        }
    }


def _single_outcome(failed: list[bool]) -> Outcome:
    """What a one-reading transaction's cancellation means: items are [tx marker, reading]."""
    failed = [*failed, False, False]
    if failed[0]:
        return "duplicate"  # another run processed this transaction
    if failed[1]:
        return "replayed"
    raise RuntimeError("a reading's transaction was cancelled without a failed condition")


def _connection() -> Connection:
    return ReadingModel._get_connection().connection
