"""What every DynamoDB store shares: the one way to tell a refused condition from a failure."""

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


def aws_region() -> str | None:
    """The region the stores talk to: Lambda's AWS_REGION, else the CLI's default."""
    return settings().aws_region
