"""What every DynamoDB store shares: the one way to tell a refused condition from a failure."""

from collections.abc import Callable

from pynamodb.exceptions import PynamoDBException


def refused(error: PynamoDBException) -> bool:
    """True when DynamoDB refused a write because its condition did not hold (not an outage)."""
    return error.cause_response_code == "ConditionalCheckFailedException"


def conditional(write: Callable[[], object]) -> bool:
    """Run a conditional write: True when done, False when its condition did not hold; other errors raise."""
    try:
        write()
    except PynamoDBException as error:
        if refused(error):
            return False
        raise
    return True


def aws_region() -> str | None:
    """The region the stores talk to: Lambda's AWS_REGION, else the CLI's default."""
    from etp.settings import settings

    return settings().aws_region
