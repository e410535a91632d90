"""Won bids stored before the latest-wins lists existed join their owners' lists (/homepage).

Idempotent: a Scan of the won bids, each user's merged into its list, conditional on the list's
version (as a clearing that makes a bid won meanwhile writes it); a list that has them already is
left alone."""

from collections import defaultdict
from collections.abc import Callable

from etp.market import win_lists
from etp.market.bid_items import BidModel
from etp.market.bids import WON_STATUSES

DESCRIPTION = "won bids stored before the latest-wins lists join their owners' lists"
PROGRESS = "won bids read"


def run(dry_run: bool, progress: Callable[[], object]) -> dict:
    won: dict[str, list[str]] = defaultdict(list)
    condition = BidModel.user_id.exists() & BidModel.status.is_in(*WON_STATUSES) & (BidModel.fill_wh > 0)
    for item in BidModel.scan(filter_condition=condition):
        progress()
        won[item.user_id or ""].append(item.slot_key or "")
    write = win_lists.would_change if dry_run else win_lists.add_wins
    changed = sum(write(user_id, keys) for user_id, keys in won.items())
    return {"won_bids": sum(map(len, won.values())), "lists_changed": changed}
