"""The tracker's last completed run, beside its ledger, for the operator's `etp-admin status`.

One item of the ledger table, `run#tracker`, overwritten by every run that completes (a run that fails
writes nothing, as before: its error is in the logs, the function's Errors metric and its alarm):
when it started (wall clock, UTC), what time it ran as of, how long it took, and its report (as
etp.meters.tracker.RunReport.as_dict gives it: stored, rejected by reason, duplicates...). It never
expires: there is one.
"""

import json
from datetime import datetime

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist

from etp.clock import to_utc_iso
from etp.dynamo import TableModel, table_meta

KEY = "run#tracker"


class TrackerRunModel(TableModel):
    Meta = table_meta("ledger_table")

    key = UnicodeAttribute(hash_key=True)
    started_at = UnicodeAttribute()
    duration_ms = NumberAttribute()
    report = UnicodeAttribute()  # JSON: RunReport.as_dict()


def record(report: dict, started_at: datetime, seconds: float) -> None:
    """Note a completed run (the item of the run before is replaced)."""
    TrackerRunModel(
        KEY,
        started_at=to_utc_iso(started_at),
        duration_ms=round(seconds * 1000),
        report=json.dumps(report, sort_keys=True),
    ).save()


def last() -> dict | None:
    """The last completed run: `started_at`, `duration_ms` and its report's fields; None before any."""
    try:
        item = TrackerRunModel.get(KEY, consistent_read=True)
    except DoesNotExist:
        return None
    return {"started_at": item.started_at, "duration_ms": int(item.duration_ms), **json.loads(item.report)}
