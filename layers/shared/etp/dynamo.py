"""What every DynamoDB store shares: where its table is, and the one way to tell a refused condition
from a failure.

Every PynamoDB model is a TableModel whose `Meta = table_meta("<settings field>")`: its table is
named by that field of etp.settings (the environment variable the template sets, e.g. `bids_table`
from BIDS_TABLE), in aws_region(), at botocore's endpoint (host None: AWS_ENDPOINT_URL, else AWS).
Each model joins MODELS, the registry of models by table, as its module is imported; point_models
(the operator CLI's `Stack.bind_data_layer`) re-points them all, and the ones imported later.

PynamoDB reads a model's `Meta` from its own class body only (its defaults are filled in there),
and a subclass without one would share its parent's, so each model gets a Meta class of its own.
"""

import random
import time
from collections.abc import Callable
from typing import Any

from pynamodb.exceptions import PynamoDBException, TransactWriteError
from pynamodb.models import Model

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


# The models of each table, by the settings field that names it (the environment variable, lower case).
MODELS: dict[str, list[type["TableModel"]]] = {}
# Where point_models last pointed the models (region, host), for the models defined after it.
_pointed: dict[str, str | None] = {}


def table_meta(setting: str) -> Any:
    """A model's Meta: the table named by the settings field `setting`, in aws_region() at botocore's
    endpoint, or wherever point_models last pointed the models."""
    if setting not in type(settings()).model_fields:
        raise ValueError(f"{setting}: not a setting")

    class Meta:
        table_name = getattr(settings(), setting)
        region = _pointed.get("region", aws_region())
        host = _pointed.get("host")

    Meta.setting = setting  # type: ignore[attr-defined]
    return Meta


class TableModel(Model):
    """A PynamoDB model whose Meta comes from table_meta; each one joins MODELS."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        setting = getattr(cls.__dict__.get("Meta"), "setting", None)
        if setting is None:
            raise TypeError(f"{cls.__name__}: Meta = table_meta(<the settings field naming its table>)")
        MODELS.setdefault(setting, []).append(cls)


def point_models(region: str | None, host: str | None) -> None:
    """Point every model at the tables etp.settings names now, in `region` at `host` (None: botocore's
    endpoint): the models defined already and those defined later."""
    _pointed.update(region=region, host=host)
    for setting, models in MODELS.items():
        for model in models:
            model.Meta.table_name = getattr(settings(), setting)
            model.Meta.region, model.Meta.host = region, host
            model._connection = None  # made for other settings


def drop_connections() -> None:
    """Forget every model's connection (tests that switch moto on and off, or change the settings)."""
    for models in MODELS.values():
        for model in models:
            model._connection = None
