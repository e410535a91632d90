"""Bids stored before the `by-user-week` index get their key `user_week`.

Idempotent: a Scan for the bids still missing it, each updated only if its version did not move
meanwhile (a bid written since then got its key from that write)."""

from collections.abc import Callable

from etp.clock import from_utc_iso
from etp.dynamo import conditional
from etp.market.bid_items import BidModel, week_key

DESCRIPTION = "bids stored before the by-user-week index get their key"
PROGRESS = "bids without their index key"


def run(dry_run: bool, progress: Callable[[], object]) -> dict:
    missing = BidModel.user_id.exists() & BidModel.user_week.does_not_exist()
    updated = 0
    for item in BidModel.scan(filter_condition=missing):
        progress()
        updated += dry_run or _set_week_key(item)
    return {"bids_keyed": updated}


def _set_week_key(item: BidModel) -> bool:
    key = week_key(item.user_id or "", from_utc_iso(item.slot or ""))
    return conditional(
        lambda: item.update(actions=[BidModel.user_week.set(key)], condition=BidModel.version == item.version)
    )
