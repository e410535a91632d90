"""One PynamoDB base for table and region (etp.dynamo): every model is a TableModel in the registry,
and point_models re-points them all, the ones defined later too."""

import importlib
import pkgutil

import pytest
from pynamodb.attributes import UnicodeAttribute
from pynamodb.models import Model

import etp
from etp import dynamo
from etp import settings as configuration
from etp.settings import settings


def all_models() -> set[type[Model]]:
    for module in pkgutil.walk_packages(etp.__path__, "etp."):
        importlib.import_module(module.name)
    found, todo = set(), [Model]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("etp.") and sub is not dynamo.TableModel:
                found.add(sub)
    return found


def test_every_model_is_a_table_model_in_the_registry_named_by_a_setting():
    models = all_models()
    registered = {model for group in dynamo.MODELS.values() for model in group}
    assert len(models) >= 13
    assert models <= registered
    for setting, group in dynamo.MODELS.items():
        for model in group:
            assert model.Meta.table_name == getattr(settings(), setting)
    # every table the stack outputs (but the idempotency table, Powertools' own) has its models
    from etp_admin.stack import OUTPUT_ENVIRONMENT

    tables = {v.lower() for v in OUTPUT_ENVIRONMENT.values() if v.endswith("_TABLE")} - {"idempotency_table"}
    assert tables <= set(dynamo.MODELS)


def test_a_model_without_a_table_meta_is_refused():
    with pytest.raises(TypeError):

        class Stray(dynamo.TableModel):
            key = UnicodeAttribute(hash_key=True)

    with pytest.raises(ValueError):
        dynamo.table_meta("no_such_table")


def test_point_models_repoints_every_model_and_the_ones_defined_later(monkeypatch):
    from etp.market.bid_items import BidModel

    before = dict(dynamo._pointed)
    monkeypatch.setenv("BIDS_TABLE", "elsewhere-bids")
    configuration.cache_clear()
    try:
        dynamo.point_models("eu-west-1", "http://127.0.0.1:1")
        assert (BidModel.Meta.table_name, BidModel.Meta.region, BidModel.Meta.host) == (
            "elsewhere-bids",
            "eu-west-1",
            "http://127.0.0.1:1",
        )
        assert BidModel._connection is None
        meta = dynamo.table_meta("bids_table")
        assert (meta.table_name, meta.region, meta.host) == ("elsewhere-bids", "eu-west-1", "http://127.0.0.1:1")
    finally:
        monkeypatch.undo()
        configuration.cache_clear()
        dynamo.point_models(before.get("region", dynamo.aws_region()), before.get("host"))
        dynamo._pointed.clear()
        dynamo._pointed.update(before)
