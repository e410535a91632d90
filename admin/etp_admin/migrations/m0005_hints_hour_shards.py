"""The tracker's day hints of an older version, one item per day and tryte (`hours#<day>#<t>`, every
hour in it), move into the hour items (`hours#<day>#<HH>#<t>`, etp.meters.discovery_store), which
are all the tracker reads since: their elements are added (ADD to a set: idempotent), then the day
item is deleted. A second run finds none."""

from collections.abc import Callable

from etp.meters.discovery_store import DynamoHints, HintModel

DESCRIPTION = "the tracker's day hints of an older version move into its hour hints"
PROGRESS = "hints read"


def _is_day_item(key: str) -> bool:
    return key.startswith("hours#") and key.count("#") == 2  # hours#<day>#<t>, not hours#<day>#<HH>#<t>


def run(dry_run: bool, progress: Callable[[], object]) -> dict:
    moved = elements = 0
    hints = DynamoHints()
    for item in HintModel.scan(filter_condition=HintModel.key.startswith("hours#")):
        progress()
        if not _is_day_item(item.key):
            continue
        day = item.key.split("#")[1]
        moved += 1
        elements += len(item.items or ())
        if not dry_run:
            hints.add_hours(day, item.items or ())
            item.delete()
    return {"day_items_moved": moved, "hours": elements}
