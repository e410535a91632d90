"""Every (user, local day) gets its energy rollup, computed from its stored, visible readings: the
readings stored before rollups existed. Idempotent: each day's rollup is replaced by its recomputed
value. A stack whose rollups the version before backfilled (its marker item `#migrations` /
`rollups-v1` in the rollups table) has them already: the marker is deleted, nothing recomputed."""

from collections import defaultdict
from collections.abc import Callable
from datetime import date

from pynamodb.exceptions import DoesNotExist

from etp.clock import local_zone
from etp.meters import rollups
from etp.meters.readings import StoredReading
from etp.meters.readings_items import QUARANTINED, ReadingModel, to_stored
from etp.meters.rollups_store import DynamoRollups, RollupModel

DESCRIPTION = "readings stored before the energy rollups get their rollups"
PROGRESS = "readings read"
OLD_MARKER = ("#migrations", "rollups-v1")  # the version before's record of this backfill


def run(dry_run: bool, progress: Callable[[], object]) -> dict:
    try:
        marker = RollupModel.get(*OLD_MARKER, consistent_read=True)
    except DoesNotExist:
        marker = None
    if marker is not None:
        if not dry_run:
            marker.delete()
        return {"user_days": 0, "done_before": 1}
    zone = local_zone()
    days: dict[tuple[str, date], list[StoredReading]] = defaultdict(list)
    for item in ReadingModel.scan():
        progress()
        if not item.sk.startswith(QUARANTINED):
            reading = to_stored(item)
            days[(reading.user_id, reading.taken_at.astimezone(zone).date())].append(reading)
    if not dry_run:
        store = DynamoRollups()
        for (user_id, day), readings in days.items():
            store.put_day(user_id, day, rollups.day_cells(readings, day, zone), rollups.day_tails(readings, day, zone))
    return {"user_days": len(days), "done_before": 0}
