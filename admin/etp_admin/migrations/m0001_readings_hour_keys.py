"""Readings stored before the `by-user-hour` index get their key `user_hour`.

Idempotent: a Scan, and each update conditional on the reading being unchanged since (a quarantine
moves its `sk`). Until this runs, the new version's reads of an hour miss its older readings, so a
rollup hour that the tracker recomputed meanwhile (an hour of readings stored since, or its neighbour
through the hold) lacks them: the hours around every reading that already has its key are recomputed
after."""

from collections.abc import Callable
from datetime import datetime, timedelta

from pynamodb.expressions.update import Action

from etp.dynamo import conditional
from etp.meters import rollups
from etp.meters.readings import StoredReading
from etp.meters.readings_items import QUARANTINED, ReadingModel, hour_key, to_stored, utc_hours
from etp.meters.readings_store import refresh_rollups

DESCRIPTION = "readings stored before the by-user-hour index get their key"
PROGRESS = "readings read"


def run(dry_run: bool, progress: Callable[[], object]) -> dict:
    keyed: set[tuple[str, datetime]] = set()
    updated: list[StoredReading] = []  # the visible ones: a quarantined reading is in no rollup
    count = 0
    for item in ReadingModel.scan():
        progress()
        reading, visible = to_stored(item), not item.sk.startswith(QUARANTINED)
        if item.user_hour:
            if visible:
                keyed.add((reading.user_id, reading.taken_at))
        elif dry_run or _set_hour_key(item, reading):
            count += 1
            if visible:
                updated.append(reading)
    stale = _recomputed_meanwhile(updated, keyed)
    if not dry_run:
        refresh_rollups(stale, include=updated)
    return {"readings_keyed": count, "readings_rolled_up_again": len(stale)}


def _recomputed_meanwhile(updated: list[StoredReading], keyed: set[tuple[str, datetime]]) -> list[StoredReading]:
    """The readings just keyed whose hour a rollup recompute around a keyed reading read without them."""
    near = {
        (user_id, hour)
        for user_id, taken_at in keyed
        for hour in utc_hours(taken_at - rollups.HOLD_CAP - timedelta(hours=1), taken_at + timedelta(hours=1))
    }
    return [r for r in updated if (r.user_id, r.taken_at.replace(minute=0, second=0, microsecond=0)) in near]


def _set_hour_key(item: ReadingModel, reading: StoredReading) -> bool:
    actions: list[Action] = [ReadingModel.user_hour.set(hour_key(reading.user_id, reading.taken_at))]
    return conditional(lambda: item.update(actions=actions, condition=ReadingModel.sk == item.sk))
