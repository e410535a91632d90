"""In-process AWS (moto): the DynamoDB tables exactly as template.yaml declares them, and the secrets."""

import functools
import json

import boto3
import pytest
import yaml
from helpers import ROOT
from moto import mock_aws

JWT_SECRET = "integration-test-jwt-secret-" + "x" * 36
IOTA_SEED = "INTEGRATIONTESTSEED" + "9" * 62


@functools.cache
def platform_key_pair() -> tuple[str, str]:
    """(private PEM, public PEM), made once per test session: RSA key generation is slow."""
    from etp.meters import envelope

    return envelope.new_key_pair()


class _CfnLoader(yaml.SafeLoader):
    pass


def _intrinsic(loader, tag_suffix, node):
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        return {name: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node)}
    return {name: loader.construct_mapping(node)}


_CfnLoader.add_multi_constructor("!", _intrinsic)


def template() -> dict:
    return yaml.load((ROOT / "template.yaml").read_text(), Loader=_CfnLoader)  # noqa: S506 (SafeLoader subclass)


def table_names_from_environment(tpl: dict) -> dict[str, str]:
    """Logical id of each table -> the environment variable the functions read its name from."""
    resources = tpl["Resources"]
    env = tpl["Globals"]["Function"]["Environment"]["Variables"]
    return {
        value["Ref"]: key
        for key, value in env.items()
        if isinstance(value, dict) and resources.get(value.get("Ref"), {}).get("Type") == "AWS::DynamoDB::Table"
    }


def create_tables() -> None:
    import os

    tpl = template()
    client = boto3.client("dynamodb")
    for logical_id, env_var in table_names_from_environment(tpl).items():
        props = dict(tpl["Resources"][logical_id]["Properties"])
        props.pop("PointInTimeRecoverySpecification", None)
        props.pop("SSESpecification", None)
        props.pop("TimeToLiveSpecification", None)
        client.create_table(TableName=os.environ[env_var], **props)


def reset_cached_clients() -> None:
    from aws_lambda_powertools.utilities import parameters

    from etp.accounts.store import UserModel
    from etp.audit.store import AuditModel
    from etp.dr.store import DrModel
    from etp.edge import jobs, web
    from etp.market.news import NewsModel
    from etp.market.store import BidModel
    from etp.meters.readings_store import LedgerModel, ReadingModel
    from etp.meters.store import AddressModel, MeterModel

    parameters.clear_caches()
    web.user_store.cache_clear()
    jobs._parsed.cache_clear()
    for model in (UserModel, MeterModel, AddressModel, ReadingModel, LedgerModel, BidModel, NewsModel, DrModel,
                  AuditModel):
        model._connection = None


@pytest.fixture
def aws():
    with mock_aws():
        reset_cached_clients()
        create_tables()
        secrets = boto3.client("secretsmanager")
        secrets.create_secret(Name="etp-test-jwt", SecretString=JWT_SECRET)
        secrets.create_secret(Name="etp-test-iota-seed", SecretString=IOTA_SEED)
        private_pem, public_pem = platform_key_pair()
        secrets.create_secret(Name="etp-test-platform-key",
                              SecretString=json.dumps({"private_key_pem": private_pem, "public_key_pem": public_pem}))
        yield
        reset_cached_clients()


@pytest.fixture(scope="session")
def keys() -> dict[str, str]:
    """The platform's key pair, a meter's, and another meter's, as PEM strings."""
    from etp.meters import envelope

    platform_private, platform_public = platform_key_pair()
    meter_private, meter_public = envelope.new_key_pair()
    other_private, other_public = envelope.new_key_pair()
    return dict(platform_private=platform_private, platform_public=platform_public, meter_private=meter_private,
                meter_public=meter_public, other_private=other_private, other_public=other_public)


@pytest.fixture
def node(monkeypatch):
    """An IOTA dev node on a free loopback port, which the functions are pointed at."""
    from etp_devnode.server import DevNode

    with DevNode("127.0.0.1", 0) as running:
        monkeypatch.setenv("IOTA_NODE_URL", running.url)
        yield running
