"""Bids stored before the open lists (`by-user-open`) whose slot has not started join their owners'
lists, and the lists' counts (GET /bidsubmit's `totalCount`).

Idempotent and exact beside live writes: a Scan for the bids of slots to come that are not listed,
each listed in one transaction with its owner's count, conditional on its version and on its not
being listed (a bid edited meanwhile was listed, and counted, by that edit; one deleted is gone).
A bid whose slot starts before its turn is left alone."""

from collections.abc import Callable

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from etp.clock import from_utc_iso, to_utc_iso, utcnow
from etp.dynamo import failed_conditions
from etp.market.bid_items import BidModel, open_count_key, open_key, open_user, to_bid

DESCRIPTION = "open bids stored before the open lists join their owners' lists and counts"
PROGRESS = "open bids not listed"


def run(dry_run: bool, progress: Callable[[], object]) -> dict:
    unlisted = BidModel.user_id.exists() & BidModel.open_key.does_not_exist() & (BidModel.slot > to_utc_iso(utcnow()))
    listed = 0
    for item in BidModel.scan(filter_condition=unlisted):
        progress()
        listed += dry_run or _list(item)
    return {"bids_listed": listed}


def _list(item: BidModel) -> bool:
    if from_utc_iso(item.slot or "") <= utcnow():
        return False
    bid = to_bid(item)
    try:
        with TransactWrite(connection=BidModel._get_connection().connection) as transaction:
            transaction.update(
                BidModel(bid.id),
                actions=[
                    BidModel.open_user.set(open_user(bid.user_id, bid.side)),
                    BidModel.open_key.set(open_key(bid)),
                ],
                condition=BidModel.open_key.does_not_exist() & (BidModel.version == item.version),
            )
            transaction.update(BidModel(open_count_key(bid.user_id, bid.side)), actions=[BidModel.open_bids.add(1)])
    except TransactWriteError as error:
        if any(failed_conditions(error)):
            return False
        raise
    return True
