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


def one_request_at_a_time() -> None:
    """moto's DynamoDB is not thread-safe (concurrent transactions on its tables raise "dictionary changed
    size during iteration"): the stores' I/O pools send one request at a time against it. MiniStack,
    like DynamoDB, takes them concurrently (the e2e tests and the benches)."""
    from etp import io_pool

    io_pool.IO_THREADS = 1


def share_botocore_loader() -> None:
    """Every botocore session of the test process reads the service models (JSON) through one loader.

    Tests drop the PynamoDB connections and the boto3 default session between tests, as a new Lambda
    would; each new session would read and parse the same model files from disk again (a third of an
    integration test's time). The loader holds only botocore's own data files, never any state.
    """
    import botocore.loaders
    import botocore.session

    if not hasattr(botocore.session.create_loader, "cache_info"):
        botocore.session.create_loader = functools.cache(botocore.loaders.create_loader)


share_botocore_loader()


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
    """Logical id of each table -> the environment variable the functions read its name from (every
    function's, in the Globals, or its own for a table only some functions use)."""
    resources = tpl["Resources"]
    environments = [tpl["Globals"]["Function"]["Environment"]["Variables"]] + [
        resource["Properties"].get("Environment", {}).get("Variables", {})
        for resource in resources.values()
        if resource["Type"] == "AWS::Serverless::Function"
    ]
    return {
        value["Ref"]: key
        for env in environments
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
    from etp import dynamo, settings
    from etp.edge import callers, retries, secrets

    settings.cache_clear()
    secrets.clear_caches()
    callers.user_store.cache_clear()
    retries.reset()
    dynamo.drop_connections()


def initial_secrets() -> dict[str, str]:
    """The secrets every test starts with, by name (the simulators' one is made by the tests that need it)."""
    private_pem, public_pem = platform_key_pair()
    return {
        "etp-test-jwt": JWT_SECRET,
        "etp-test-iota-seed": IOTA_SEED,
        "etp-test-platform-key": json.dumps({"private_key_pem": private_pem, "public_key_pem": public_pem}),
    }


class MotoWorld:
    """One moto account for the whole session (one per xdist worker: each is a process of its own).

    The tables and the secrets are made once; each test that asks for `aws` gets the mock switched on
    for it alone, with every table emptied, the secrets as made, and any other service's data gone.
    Creating the nine tables took 0.7-2.2 s a test; emptying them is a dict clear in moto's backend
    (its indexes, local and global, are computed from the table's items: they hold no items of their own).
    """

    def __init__(self) -> None:
        import os

        self.mock = mock_aws()
        self.mock.start()
        try:
            create_tables()
            self.tables = {os.environ[env_var] for env_var in table_names_from_environment(template()).values()}
            self.secrets = initial_secrets()
            # a client of its own, kept: the tests' boto3 default session is a new one each time
            self.secrets_client = boto3.session.Session().client("secretsmanager")
            for name, value in self.secrets.items():
                self.secrets_client.create_secret(Name=name, SecretString=value)
            self.secret_versions = self._secret_versions(self.secrets_client)
        finally:
            self.mock.stop(remove_data=False)

    @staticmethod
    def _secret_versions(client) -> dict[str, tuple]:
        """Each secret's versions and dates: a test that put a value, updated or deleted it changes them."""
        listed = client.get_paginator("list_secrets").paginate(IncludePlannedDeletion=True)
        return {
            s["Name"]: (s.get("SecretVersionsToStages"), s.get("LastChangedDate"), s.get("DeletedDate"))
            for page in listed
            for s in page["SecretList"]
        }

    def start(self) -> None:
        from moto.core.custom_responses_mock import reset_responses_mock
        from moto.core.models import responses_mock

        reset_responses_mock(responses_mock)  # what a fresh mock_aws() does, so that URL patterns don't pile up
        self.mock.start(reset=False)
        one_request_at_a_time()
        self._empty_tables()
        self._reset_secrets()
        self._reset_other_services()

    def stop(self) -> None:
        self.mock.stop(remove_data=False)

    def close(self) -> None:
        self.mock.start(reset=False)
        self.mock.stop(remove_data=True)

    def _empty_tables(self) -> None:
        from moto.dynamodb.models import dynamodb_backends

        for regional in dynamodb_backends.values():
            for backend in regional.values():
                for name in list(backend.tables):
                    table = backend.tables[name]
                    if name not in self.tables:  # made by a test
                        backend.delete_table(name)
                        continue
                    table.items.clear()
                    if table.stream_shard is not None:
                        table.stream_shard.items.clear()

    def _reset_secrets(self) -> None:
        client = self.secrets_client
        current = self._secret_versions(client)
        if current == self.secret_versions:
            return
        for name, state in current.items():
            if self.secret_versions.get(name) != state:  # made, changed or deleted by a test
                client.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        for name, value in self.secrets.items():
            if current.get(name) != self.secret_versions[name]:
                client.create_secret(Name=name, SecretString=value)
        self.secret_versions = self._secret_versions(client)

    @staticmethod
    def _reset_other_services() -> None:
        """Whatever a test made in a service other than DynamoDB and Secrets Manager (a CloudFormation
        stack, its SNS topic) goes, as `mock_aws()` would reset it."""
        from moto.core.base_backend import BackendDict, BaseBackend, backend_lock
        from moto.dynamodb.models import dynamodb_backends
        from moto.secretsmanager.models import secretsmanager_backends

        # The registry is a class attribute holding BackendDicts of every service: read through the class
        # namespace, as mypy refuses `BackendDict._instances` (a generic instance variable via the class).
        instances: list[BackendDict[BaseBackend]] = vars(BackendDict)["_instances"]
        with backend_lock:
            for backends in list(instances):
                if backends is dynamodb_backends or backends is secretsmanager_backends:
                    continue
                for account_specific in backends.values():
                    account_specific.reset()
                backends.clear()
                instances.remove(backends)


@pytest.fixture(scope="session")
def moto_world():
    """The session's (the xdist worker's) moto account, made on the first test that needs AWS."""
    world = MotoWorld()
    yield world
    world.close()


@pytest.fixture
def aws(moto_world):
    """moto on for this test: the template's tables, empty, and the secrets as made; no client, connection
    or cached secret or setting of an earlier test (as in a new Lambda)."""
    reset_cached_clients()
    moto_world.start()
    try:
        yield
    finally:
        reset_cached_clients()
        moto_world.stop()


@pytest.fixture(scope="session")
def keys() -> dict[str, str]:
    """The platform's key pair, a meter's, and another meter's, as PEM strings."""
    from etp.meters import envelope

    platform_private, platform_public = platform_key_pair()
    meter_private, meter_public = envelope.new_key_pair()
    other_private, other_public = envelope.new_key_pair()
    return dict(
        platform_private=platform_private,
        platform_public=platform_public,
        meter_private=meter_private,
        meter_public=meter_public,
        other_private=other_private,
        other_public=other_public,
    )


@pytest.fixture
def node(monkeypatch):
    """An IOTA dev node on a free loopback port, which the functions are pointed at."""
    from etp import settings
    from etp_devnode.server import DevNode

    with DevNode("127.0.0.1", 0) as running:
        monkeypatch.setenv("IOTA_NODE_URL", running.url)
        settings.cache_clear()
        yield running
