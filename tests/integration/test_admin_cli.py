"""etp-admin against a stack found through CloudFormation (moto), and the idempotent demo seed."""

import io
import json

import boto3
import pytest
from helpers import present

from etp.accounts import passwords
from etp.accounts import service as accounts
from etp.accounts.store import DynamoUserStore, UserModel
from etp_admin import cli, demo

STACK_TEMPLATE = {
    "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {
        "UsersTableName": {"Value": "etp-test-users"},
        "JwtSecretArn": {"Value": "etp-test-jwt"},
    },
}


@pytest.fixture
def stack(aws, monkeypatch):
    boto3.client("cloudformation").create_stack(StackName="etp-cli-test", TemplateBody=json.dumps(STACK_TEMPLATE))
    yield "etp-cli-test"
    UserModel.Meta.host = None


def run(stack, *argv, stdin="", monkeypatch=None, capsys=None):
    if monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.main(["--env", "dev", "--stack", stack, "--region", "us-east-1", *argv])
    out = capsys.readouterr() if capsys is not None else None
    return code, out


def test_create_then_list_then_reset(stack, monkeypatch, capsys):
    code, out = run(
        stack,
        "accounts",
        "create",
        "New_BEMS",
        "--username",
        "New",
        "--password-stdin",
        stdin="first-password\n",
        monkeypatch=monkeypatch,
        capsys=capsys,
    )
    assert code == 0 and json.loads(out.out)["account"] == "New_BEMS"
    assert "first-password" not in out.out + out.err

    code, out = run(stack, "accounts", "list", "--json", capsys=capsys)
    assert code == 0 and [row["account"] for row in json.loads(out.out)] == ["New_BEMS"]

    code, out = run(
        stack,
        "accounts",
        "reset-password",
        "New_BEMS",
        "--password-stdin",
        stdin="second-password\n",
        monkeypatch=monkeypatch,
        capsys=capsys,
    )
    assert code == 0 and "revoked" in out.out
    user = present(DynamoUserStore().get("New_BEMS"))
    assert passwords.verify_password("second-password", user.password_hash) and user.token_version == 1


def test_errors_are_one_line_and_exit_1(stack, monkeypatch, capsys):
    run(stack, "accounts", "create", "Dup_BEMS", "--password-stdin", stdin="a-password\n", monkeypatch=monkeypatch)
    code, out = run(
        stack,
        "accounts",
        "create",
        "Dup_BEMS",
        "--password-stdin",
        stdin="b-password\n",
        monkeypatch=monkeypatch,
        capsys=capsys,
    )
    assert code == 1 and "already exists" in out.err
    code, out = run(
        stack,
        "accounts",
        "create",
        "Short_BEMS",
        "--password-stdin",
        stdin="short\n",
        monkeypatch=monkeypatch,
        capsys=capsys,
    )
    assert code == 1 and "8 to 256" in out.err and DynamoUserStore().get("Short_BEMS") is None
    code, out = run(
        stack,
        "accounts",
        "reset-password",
        "Ghost",
        "--password-stdin",
        stdin="long-enough\n",
        monkeypatch=monkeypatch,
        capsys=capsys,
    )
    assert code == 1 and "no account" in out.err


def test_an_unknown_stack_is_a_clear_error(aws, capsys):
    code = cli.main(["--env", "dev", "--stack", "no-such-stack", "--region", "us-east-1", "accounts", "list"])
    assert code == 1 and "no-such-stack" in capsys.readouterr().err


def test_demo_seed_is_idempotent_and_never_overwrites(aws):
    store = DynamoUserStore()
    first = demo.seed_accounts(store, "energy-demo")
    assert set(first) == {*demo.DEMO_BEMS, demo.DEMO_AGGREGATOR} and set(first.values()) == {"created"}
    assert present(store.get("Aggregator")).is_aggregator and not present(store.get("NCKU_BEMS")).is_aggregator

    accounts.reset_password(store, "NCKU_BEMS", "changed-by-its-owner")
    before = {u.account: u for u in store.all()}
    second = demo.seed_accounts(store, "energy-demo")
    assert set(second.values()) == {"exists"}
    assert {u.account: u for u in store.all()} == before
    assert passwords.verify_password("changed-by-its-owner", present(store.get("NCKU_BEMS")).password_hash)
    assert accounts.login(store, "ABRI_BEMS", "energy-demo", lambda user, session: "token")[0].account == "ABRI_BEMS"


def test_news_publish_and_market_show(stack, capsys):
    import uuid
    from datetime import UTC, datetime

    from helpers import FakeLambdaContext, load_function

    from etp.market import bids
    from etp.market.news import DynamoNews
    from etp.market.store import DynamoBidStore, StoredBid

    code, out = run(stack, "news", "publish", "The market opens at 10:00", capsys=capsys)
    assert code == 0 and [n.content for n in DynamoNews().latest()] == ["The market opens at 10:00"]
    assert run(stack, "news", "publish", " ", capsys=capsys)[0] == 1

    slot = datetime(2030, 1, 1, 2, tzinfo=UTC)
    for user, side, price in (("u-1", "sell", 2000), ("u-2", "buy", 3000)):
        DynamoBidStore().create(
            StoredBid(
                id=str(uuid.uuid4()),
                user_id=user,
                account=f"{user}_BEMS",
                side=side,
                slot=slot,
                volume_wh=5000,
                price_milli=price,
                status=bids.SUBMITTED,
                uploaded_at=slot,
                version=0,
            )
        )
    code, out = run(stack, "market", "show", "--slot", "2030-01-01T10:00", capsys=capsys)
    assert code == 0 and "2 bids" in out.out and "not cleared" in out.out
    load_function("market_jobs").lambda_handler({"job": "clear", "slot": "2030-01-01T10:00"}, FakeLambdaContext())
    code, out = run(stack, "market", "show", "--slot", "2030-01-01T10:00", capsys=capsys)
    assert code == 0 and "Q* = 5 kWh   p* = 2.5 NT$/kWh" in out.out and "u-2_BEMS 5 kWh" in out.out
    assert run(stack, "market", "show", "--slot", "whenever", capsys=capsys)[0] == 1


ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL", "LOCALSTACK_HOST", "USE_SSL")


@pytest.mark.parametrize(
    ("env", "variables", "explicit", "expected"),
    [
        ("localstack", {}, None, "http://localhost:4566"),  # LocalStack's default edge
        ("localstack", {"LOCALSTACK_HOST": "ls.internal:4510"}, None, "http://ls.internal:4510"),
        ("localstack", {"LOCALSTACK_HOST": "ls.internal"}, None, "http://ls.internal:4566"),
        ("localstack", {"LOCALSTACK_HOST": "ls.internal", "USE_SSL": "1"}, None, "https://ls.internal:4566"),
        (
            "localstack",
            {"AWS_ENDPOINT_URL": "http://10.0.0.5:4566", "LOCALSTACK_HOST": "x:1"},
            None,
            "http://10.0.0.5:4566",
        ),
        ("localstack", {"LOCALSTACK_HOST": "x:1"}, "http://given:4566", "http://given:4566"),
        ("local", {"LOCALSTACK_HOST": "x:1"}, None, "http://127.0.0.1:4566"),  # MiniStack, whatever LocalStack says
        ("dev", {"LOCALSTACK_HOST": "x:1"}, None, None),  # real AWS
        ("dev", {"AWS_ENDPOINT_URL": "http://10.0.0.5:4566"}, None, "http://10.0.0.5:4566"),
    ],
)
def test_the_endpoint_of_each_environment(monkeypatch, env, variables, explicit, expected):
    from etp_admin import stack as stacks

    for name in ENDPOINT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert stacks.endpoint_for(env, explicit) == expected


def test_env_localstack_asks_localstack_for_the_stack(monkeypatch, capsys):
    """`--env localstack` looks the stack up at LocalStack's endpoint (no network: the client is a fake)."""
    from botocore.exceptions import EndpointConnectionError

    asked = []

    def fake_client(service, **kwargs):
        asked.append((service, kwargs))

        class Unreachable:
            def describe_stacks(self, StackName):
                raise EndpointConnectionError(endpoint_url=kwargs["endpoint_url"])

        return Unreachable()

    for name in ENDPOINT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("boto3.client", fake_client)
    code = cli.main(["--env", "localstack", "accounts", "list"])
    assert asked == [("cloudformation", {"region_name": "us-east-1", "endpoint_url": "http://localhost:4566"})]
    error = capsys.readouterr().err
    assert code == 1 and "'etp-localstack' not found at http://localhost:4566" in error
