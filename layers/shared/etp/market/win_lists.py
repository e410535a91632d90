"""The latest-wins lists of the bids table (`wins#<user id>`, etp.market.bid_items): each user's
HOMEPAGE_WINS newest won bids (their `by-user-week` keys, newest first) and a `version`.

A bid that becomes won joins its owner's list in the same transaction as the outcome that makes it
won, conditional on the list's version: two of a user's bids won at once both land (the second sees
the version moved, rereads the list and retries). A bid never leaves the won statuses after, so the
list never has to drop one, and /homepage reads one item and a BatchGet however long the history.
"""

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from etp.dynamo import failed_conditions, lost_a_race
from etp.market.bid_items import BidModel, wins_key
from etp.market.bids import newest_wins

LIST_ATTEMPTS = 5  # writes of a latest-wins list that may find it changed meanwhile

# a bid's update written with the list: its id, its actions and its condition
Outcome = tuple[str, list[Action], Condition]


def wins_list(user_id: str, *, consistent: bool = True) -> tuple[list[str], int]:
    """A user's latest-wins list (index keys, newest first) and its version (0: none yet)."""
    try:
        item = BidModel.get(wins_key(user_id), consistent_read=consistent)
    except DoesNotExist:
        return [], 0
    return list(item.won_keys or []), int(item.version or 0)


def would_change(user_id: str, keys: list[str]) -> bool:
    """Whether adding these won bids' keys would change the user's list (nothing is written)."""
    listed, _ = wins_list(user_id)
    return newest_wins(listed, keys) != listed


def add_wins(user_id: str, keys: list[str], outcome: Outcome | None = None) -> bool:
    """Put won bids (their index keys) on the user's latest-wins list, conditional on the list's
    version, and write `outcome` in the same transaction; True when written. False when `outcome`'s
    condition failed (then nothing is written) or, without an outcome, when the list already had
    them. A list changed meanwhile (another of the user's bids won) is read again and the
    transaction retried, up to LIST_ATTEMPTS times."""
    for attempt in range(1, LIST_ATTEMPTS + 1):
        listed, version = wins_list(user_id)
        merged = newest_wins(listed, keys)
        if outcome is None and merged == listed:
            return False
        try:
            _write(user_id, merged, version, outcome)
            return True
        except TransactWriteError as error:
            refused = failed_conditions(error)
            if outcome is not None and refused[:1] == [True]:
                return False
            if attempt == LIST_ATTEMPTS or not (any(refused) or lost_a_race(error)):
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")


def _write(user_id: str, merged: list[str], version: int, outcome: Outcome | None) -> None:
    with TransactWrite(connection=BidModel._get_connection().connection) as transaction:
        if outcome is not None:
            bid_id, actions, condition = outcome
            transaction.update(BidModel(bid_id), actions=actions, condition=condition)
        # an update, not a put: PynamoDB sends a transaction's puts before its updates, and the
        # cancellation reasons come in the order sent (the bid's first)
        transaction.update(
            BidModel(wins_key(user_id)),
            actions=[BidModel.won_keys.set(merged), BidModel.version.set(version + 1)],
            condition=BidModel.version.does_not_exist() if version == 0 else BidModel.version == version,
        )
