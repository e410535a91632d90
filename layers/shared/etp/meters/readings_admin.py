"""The operator's view of the stored readings (etp-admin readings): find one, list a window's
(hidden ones too), quarantine and release (see etp.meters.readings_items on what a quarantine
is). Imported on first use."""

import re
import uuid
from datetime import datetime

from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.update import Action

from etp.clock import to_utc_iso
from etp.dynamo import conditional
from etp.meters.readings import StoredReading
from etp.meters.readings_items import (
    QUARANTINED,
    LedgerModel,
    QuarantineEvent,
    ReadingModel,
    ReadingRecord,
    hour_items,
    sort_key,
    to_record,
)
from etp.meters.readings_store import refresh_rollups

TX_HASH = re.compile(r"\A[A-Z9]{81}\Z")


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
            return to_record(ReadingModel.get(reading_id, consistent_read=True))
        except DoesNotExist:
            return None

    def window(self, user_id: str, start: datetime, end: datetime) -> list[ReadingRecord]:
        """A user's readings taken in [start, end), visible and quarantined, oldest first."""
        found = [to_record(item) for prefix in ("", QUARANTINED) for item in hour_items(user_id, start, end, prefix)]
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


def _reading_id(key: str) -> str | None:
    try:
        return str(uuid.UUID(key.strip()))
    except ValueError:
        return None
