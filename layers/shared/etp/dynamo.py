"""What every DynamoDB store shares: the one way to tell a refused condition from a failure."""

import random
import time
from collections.abc import Callable

from pynamodb.exceptions import PynamoDBException, TransactWriteError

from etp.settings import settings


def conditional(write: Callable[[], object]) -> bool:
    """Run a conditional write: True when done, False when its condition did not hold; other errors raise."""
    try:
        write()
    except PynamoDBException as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def failed_conditions(error: TransactWriteError) -> list[bool]:
    """For each item of a cancelled transaction, in order: did its condition fail?"""
    return [getattr(reason, "code", None) == "ConditionalCheckFailed" for reason in error.cancellation_reasons or []]


def lost_a_race(error: PynamoDBException) -> bool:
    """Did a write only collide with a concurrent transaction on one of its items (a retry may succeed),
    rather than fail a condition?"""
    if error.cause_response_code == "TransactionConflictException":
        return True
    if not isinstance(error, TransactWriteError):
        return False
    codes = {getattr(reason, "code", None) for reason in error.cancellation_reasons or []}
    return "TransactionConflict" in codes and "ConditionalCheckFailed" not in codes


def retry_races[T](write: Callable[[], T], attempts: int = 4, pause: float = 0.025) -> T:
    """Run a write, again (after a short random pause) while it only loses races with concurrent
    transactions on the same items, e.g. many bids of one slot all checking the slot's marker."""
    for attempt in range(1, attempts):
        try:
            return write()
        except PynamoDBException as error:
            if not lost_a_race(error):
                raise
        time.sleep(random.uniform(0, pause * 2**attempt))  # noqa: S311 (jitter, not a secret)
    return write()


def aws_region() -> str | None:
    """The region the stores talk to: Lambda's AWS_REGION, else the CLI's default."""
    return settings().aws_region
