"""etp-admin against a stack found through CloudFormation (moto), and the idempotent demo seed."""

import argparse
import io
import json

import boto3
import pytest
from builders import placed_bid
from helpers import present

from etp.accounts import passwords
from etp.accounts import service as accounts
from etp.accounts.attempts_store import DynamoLoginAttempts, LoginAttemptModel
from etp.accounts.store import DynamoUserStore, UserModel
from etp.clock import utcnow
from etp_admin import cli, demo
from etp_admin.cli.common import Progress

STACK_TEMPLATE = {
    "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {
        "UsersTableName": {"Value": "etp-test-users"},
        "LoginAttemptsTableName": {"Value": "etp-test-login-attempts"},
        "JwtSecretArn": {"Value": "etp-test-jwt"},
    },
}


@pytest.fixture
def stack(aws, monkeypatch):
    boto3.client("cloudformation").create_stack(StackName="etp-cli-test", TemplateBody=json.dumps(STACK_TEMPLATE))
    yield "etp-cli-test"
    UserModel.Meta.host = None
    LoginAttemptModel.Meta.host = None


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
    (row,) = json.loads(out.out)
    code, out = run(stack, "accounts", "list", capsys=capsys)
    assert code == 0 and out.out.splitlines()[1].split() == [row["account"], "no", row["id"], row["created_at"]]

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


def test_reset_and_revocation_forget_the_addresses_the_account_is_trusted_from(stack, monkeypatch, capsys):
    accounts.create_account(DynamoUserStore(), None, accounts.NewAccount("New_BEMS", "New", "first-pass"), utcnow())
    trust, now = DynamoLoginAttempts(), int(utcnow().timestamp())
    for account, source in (("New_BEMS", "198.51.100.7"), ("New_BEMS", "203.0.113.9"), ("Other_BEMS", "198.51.100.7")):
        trust.clear(account, source, trusted_until=now + 3600)

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
    assert code == 0 and "2 trusted addresses forgotten" in out.out, out.err
    assert not trust.standing("New_BEMS", "198.51.100.7", now).trusted
    assert not trust.standing("New_BEMS", "203.0.113.9", now).trusted
    assert trust.standing("Other_BEMS", "198.51.100.7", now).trusted, "another account's trust stays"

    trust.clear("New_BEMS", "198.51.100.7", trusted_until=now + 3600)
    code, out = run(stack, "accounts", "revoke-sessions", "New_BEMS", capsys=capsys)
    assert code == 0 and "1 trusted address forgotten" in out.out, out.err
    assert not trust.standing("New_BEMS", "198.51.100.7", now).trusted


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


@pytest.mark.parametrize(
    ("flags", "password", "says"),
    [
        ([], None, "not a local stack"),
        ([], "an-operator-secret", "not a local stack"),
        (["--allow-remote"], None, "DEMO_PASSWORD"),
        (["--allow-remote"], "energy-demo", "DEMO_PASSWORD"),
        (["--allow-remote"], "short", "DEMO_PASSWORD"),
    ],
)
def test_demo_seed_refuses_a_stack_that_is_not_local(stack, monkeypatch, capsys, tmp_path, flags, password, says):
    """Issue 19, item 11: on AWS (here moto, `--env dev`) demo seed writes nothing without --allow-remote and
    a DEMO_PASSWORD of the operator's own."""
    if password is None:
        monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    else:
        monkeypatch.setenv("DEMO_PASSWORD", password)
    code, out = run(stack, "demo", "seed", "--credentials-dir", str(tmp_path / "meters"), *flags, capsys=capsys)
    assert code == 1 and says in out.err and "Nothing was written" in out.err
    assert out.err.count("\n") == 1, "one line, no traceback"
    assert DynamoUserStore().all() == [] and not (tmp_path / "meters").exists()


def test_demo_data_goes_to_a_local_stack_or_with_the_override_and_a_password_of_one_s_own(monkeypatch):
    from etp_admin.stack import Stack

    def at(endpoint):
        return Stack(name="etp-x", region="us-east-1", endpoint_url=endpoint, outputs={})

    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    for local in ("http://127.0.0.1:4566", "http://localhost:4566", "http://127.0.0.2:5000", "http://[::1]:4566"):
        demo.check_target(at(local))
    for remote in (None, "https://dynamodb.us-east-1.amazonaws.com", "http://10.0.0.5:4566", "http://localhost.evil:1"):
        with pytest.raises(demo.NotLocal, match="not a local stack"):
            demo.check_target(at(remote))
        with pytest.raises(demo.NotLocal, match="DEMO_PASSWORD"):
            demo.check_target(at(remote), allow_remote=True)
    monkeypatch.setenv("DEMO_PASSWORD", "an-operator-secret")
    demo.check_target(at(None), allow_remote=True)
    with pytest.raises(demo.NotLocal, match="not a local stack"):
        demo.check_target(at(None))


def test_demo_seed_is_idempotent_and_never_overwrites(aws):
    store = DynamoUserStore()
    first = demo.seed_accounts(store, "energy-demo")
    assert set(first) == {*demo.DEMO_BEMS, demo.DEMO_AGGREGATOR} and set(first.values()) == {"created"}
    assert present(store.get("Aggregator")).is_aggregator and not present(store.get("NCKU_BEMS")).is_aggregator

    accounts.reset_password(store, "NCKU_BEMS", "changed-by-its-owner", trust=DynamoLoginAttempts())
    before = {u.account: u for u in store.all()}
    second = demo.seed_accounts(store, "energy-demo")
    assert set(second.values()) == {"exists"}
    assert {u.account: u for u in store.all()} == before
    assert passwords.verify_password("changed-by-its-owner", present(store.get("NCKU_BEMS")).password_hash)
    assert accounts.login(store, "ABRI_BEMS", "energy-demo", lambda user, session: "token")[0].account == "ABRI_BEMS"


def test_news_publish_and_market_show(stack, capsys):
    from datetime import UTC, datetime

    from helpers import FakeLambdaContext, load_function

    from etp.market.news import DynamoNews
    from etp.market.store import DynamoBidStore

    code, out = run(stack, "news", "publish", "The market opens at 10:00", capsys=capsys)
    assert code == 0 and [n.content for n in DynamoNews().latest()] == ["The market opens at 10:00"]
    assert run(stack, "news", "publish", " ", capsys=capsys)[0] == 1

    slot = datetime(2030, 1, 1, 2, tzinfo=UTC)
    for user, side, price in (("u-1", "sell", 2000), ("u-2", "buy", 3000)):
        placed_bid(user_id=user, side=side, slot=slot, price_milli=price)
    code, out = run(stack, "market", "show", "--slot", "2030-01-01T10:00", capsys=capsys)
    assert code == 0 and "2 bids" in out.out and "not cleared" in out.out
    load_function("market_jobs").lambda_handler(
        {
            "job": "clear",
            "slot": "2030-01-01T10:00",
            "early": True,
            "operator": "arn:aws:iam::1:user/ops",
            "reason": "demo",
        },
        FakeLambdaContext(),
    )
    code, out = run(stack, "market", "show", "--slot", "2030-01-01T10:00", capsys=capsys)
    assert code == 0 and "Q* = 5 kWh   p* = 2.5 NT$/kWh" in out.out and "u-2_BEMS 5 kWh" in out.out
    text = out.out
    code, out = run(stack, "market", "show", "--slot", "2030-01-01T10:00", "--json", capsys=capsys)
    shown = json.loads(out.out)
    assert code == 0 and (shown["slot"], shown["local_slot"]) == ("2030-01-01T02:00:00Z", "2030/01/01 10:00")
    assert shown["cleared"] == {"volume_kwh": 5, "price": 2.5, "pairs": 1}
    assert [(b["side"], b["account"], b["volume_kwh"], b["price"], b["filled_kwh"]) for b in shown["bids"]] == [
        ("buy", "u-2_BEMS", 5, 3, 5),
        ("sell", "u-1_BEMS", 5, 2, 5),
    ]
    assert [p["counterpart"] for b in shown["bids"] for p in b["pairs"]] == ["u-1_BEMS", "u-2_BEMS"]
    assert {b["id"] for b in shown["bids"]} == {b.id for b in DynamoBidStore().of_slot(slot)}
    lines = text.splitlines()  # after the clearing's log lines: the heading, then the bids in the same order
    rows = lines[lines.index(next(line for line in lines if line.startswith("side"))) + 1 :][:2]
    for row, bid in zip(rows, shown["bids"], strict=True):
        assert row.split()[:6] == [bid["side"], bid["account"], "5", f"{bid['price']:g}", bid["status"], "5"]
    assert run(stack, "market", "show", "--slot", "whenever", capsys=capsys)[0] == 1


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """A parser's subcommands; none for a command of no group (status, migrate)."""
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return actions[0].choices if actions else {}


def test_every_list_and_show_takes_json():
    found = []
    for group, commands in _subcommands(cli.build_parser()).items():
        for name, command in _subcommands(commands).items():
            if name in ("list", "show"):
                found.append(f"{group} {name}")
                assert "--json" in command._option_string_actions, found[-1]
    assert len(found) == 6, found
    status = _subcommands(cli.build_parser())["status"]
    assert "--json" in status._option_string_actions and not _subcommands(status), "a command of its own"
    migrate = _subcommands(cli.build_parser())["migrate"]
    assert {"--json", "--list", "--dry-run"} <= set(migrate._option_string_actions)


def test_migrate_runs_the_pending_migrations_in_order_records_each_and_skips_them_after(stack, capsys, monkeypatch):
    from datetime import UTC, datetime

    from etp.market import bids
    from etp.market.bid_items import BidModel
    from etp.market.store import DynamoBidStore
    from etp_admin import migrations
    from etp_admin.migrations.ledger import MigrationModel

    slot = datetime(2030, 1, 1, 2, tzinfo=UTC)
    bid = placed_bid(user_id="u-1", side="buy", slot=slot, price=2)
    DynamoBidStore().record_outcome(
        bid, status=bids.WON, expected=bids.SUBMITTED, fill_wh=5000, cleared_price_milli=2000, pairs=()
    )
    # as stored before the index and the latest-wins lists
    BidModel(bid.id).update(actions=[BidModel.user_week.remove()])
    BidModel("wins#u-1").delete()
    ids = [m.id for m in migrations.all_migrations()]
    assert ids == sorted(ids) and ids[:2] == ["0001_readings_hour_keys", "0002_readings_rollups"]

    code, out = run(stack, "migrate", "--list", "--json", capsys=capsys)
    assert code == 0 and [(row["id"], row["applied"]) for row in json.loads(out.out)] == [(i, None) for i in ids]
    code, out = run(stack, "migrate", "--dry-run", "--json", capsys=capsys)
    dry = json.loads(out.out)
    assert code == 0 and dry["dry_run"] and [m["id"] for m in dry["migrations"]] == ids
    results = {m["id"]: m["result"] for m in dry["migrations"]}
    assert results["0003_bids_week_keys"] == {"bids_keyed": 1}
    assert results["0004_bids_latest_wins"] == {"won_bids": 1, "lists_changed": 1}
    assert list(MigrationModel.scan()) == [] and BidModel.get(bid.id).user_week is None, "a dry run writes nothing"

    monkeypatch.setattr(Progress, "EVERY", 1)
    code, out = run(stack, "migrate", capsys=capsys)
    assert code == 0 and out.out.splitlines()[2] == "0003_bids_week_keys          did: bids_keyed 1"
    assert len(out.out.splitlines()) == len(ids), "stdout: one line a migration"
    assert "0003_bids_week_keys: bids without their index key: 1 so far" in out.err.splitlines()
    assert "0004_bids_latest_wins: won bids read: 1 in all" in out.err.splitlines()
    assert BidModel.get(bid.id).user_week is not None
    assert [b.id for b in DynamoBidStore().latest_won_of_user("u-1", 10)] == [bid.id]
    record = MigrationModel.get("migration#0004_bids_latest_wins")
    assert json.loads(record.result or "") == {"won_bids": 1, "lists_changed": 1} and record.at and record.by

    code, out = run(stack, "migrate", capsys=capsys)
    assert (code, out.out, out.err) == (0, "no pending migrations\n", ""), "recorded: skipped"
    code, out = run(stack, "migrate", "--json", capsys=capsys)
    assert code == 0 and json.loads(out.out) == {"dry_run": False, "migrations": []}
    code, out = run(stack, "migrate", "--list", capsys=capsys)
    assert code == 0 and len(out.out.splitlines()) == len(ids) + 1 and "pending" not in out.out
    assert out.out.splitlines()[4].startswith("0004_bids_latest_wins        " + record.at)
    code, out = run(stack, "migrate", "--list", "--json", capsys=capsys)
    listed = {row["id"]: row["applied"] for row in json.loads(out.out)}
    assert listed["0004_bids_latest_wins"]["result"] == {"won_bids": 1, "lists_changed": 1}


def test_a_migration_recorded_meanwhile_keeps_its_first_record(aws):
    from etp_admin.migrations import ledger

    assert ledger.record("0001_x", at="2030-01-01T00:00:00Z", by="a", description="d", result={"n": 1}, seconds=1.5)
    assert not ledger.record("0001_x", at="2030-01-02T00:00:00Z", by="b", description="d", result={"n": 0}, seconds=0)
    assert ledger.records(["0001_x", "0002_y"]) == {
        "0001_x": {"at": "2030-01-01T00:00:00Z", "by": "a", "result": {"n": 1}, "seconds": 1.5}
    }


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


def test_meters_have_a_rated_capacity_set_at_registration_and_listed(stack, capsys, tmp_path):
    from aws_fixtures import platform_key_pair

    from etp.meters.store import DynamoMeterStore

    accounts.create_account(
        DynamoUserStore(), None, accounts.NewAccount("Carlab_BEMS", "Carlab", "energy-demo"), utcnow()
    )
    key = tmp_path / "meter.pem"
    key.write_text(platform_key_pair()[1])
    register = ("meters", "register", "Carlab_BEMS", "--public-key", str(key), "--name")
    code, out = run(stack, *register, "feeder", "--rated-kw", "250", capsys=capsys)
    assert code == 0 and json.loads(out.out)["rated_kw"] == 250.0
    feeder = json.loads(out.out)["id"]
    code, out = run(stack, *register, "main", capsys=capsys)
    assert code == 0 and json.loads(out.out)["rated_kw"] == 1000.0, "the default rating"
    for bad in ("0", "-3", "nan", "100001"):
        code, out = run(stack, *register, "bad", "--rated-kw", bad, capsys=capsys)
        assert code == 1 and "--rated-kw" in out.err
    code, out = run(stack, "meters", "list", "--account", "Carlab_BEMS", capsys=capsys)
    assert code == 0 and sorted((m["name"], m["rated_kw"]) for m in json.loads(out.out)) == [
        ("feeder", 250.0),
        ("main", 1000.0),
    ]
    listed = out.out
    code, out = run(stack, "meters", "list", "--account", "Carlab_BEMS", "--json", capsys=capsys)
    assert code == 0 and out.out == listed, "JSON is what meters list prints anyway"

    code, out = run(stack, "meters", "set-rating", feeder, "--rated-kw", "400", capsys=capsys)
    assert code == 0 and present(DynamoMeterStore().get(feeder)).rated_kw == 400.0
    code, out = run(stack, "meters", "set-rating", "no-such-meter", "--rated-kw", "400", capsys=capsys)
    assert code == 1 and "no meter" in out.err
    assert run(stack, "meters", "set-rating", feeder, "--rated-kw", "0", capsys=capsys)[0] == 1


def test_a_meter_stored_before_ratings_existed_has_the_default(stack):
    from etp.meters.store import DynamoMeterStore, MeterModel

    MeterModel(
        id="old-meter", user_id="u", account="a", name="n", public_key_pem="k", token_hash="h", created_at="c"
    ).save()
    boto3.client("dynamodb").update_item(
        TableName=MeterModel.Meta.table_name, Key={"id": {"S": "old-meter"}}, UpdateExpression="REMOVE rated_kw"
    )
    assert present(DynamoMeterStore().get("old-meter")).rated_kw == 1000.0


@pytest.fixture
def carlab_day(stack):
    """Carlab's four readings of 2025-03-12 (local), 00:00 to 00:45 Taipei."""
    import uuid
    from datetime import UTC, datetime, timedelta

    from etp.meters.readings import StoredReading
    from etp.meters.readings_store import DynamoReadingStore

    accounts.create_account(
        DynamoUserStore(), None, accounts.NewAccount("Carlab_BEMS", "Carlab", "energy-demo"), utcnow()
    )
    user = present(DynamoUserStore().get("Carlab_BEMS"))
    stored = [
        StoredReading(
            id=str(uuid.uuid4()),
            user_id=user.id,
            meter_id="m-1",
            kind="Demand",
            taken_at=datetime(2025, 3, 11, 16, tzinfo=UTC) + timedelta(minutes=15 * i),
            power_kw=kw,
            tx_hash=f"TX{'ABCD'[i]}".ljust(81, "9"),  # 81 trytes, as on the tangle
        )
        for i, kw in enumerate((10.0, 11.0, 99_999.0, 12.0))
    ]
    DynamoReadingStore().store_many([(r, {"grid": r.power_kw}, "A" * 81) for r in stored])
    return {"user": user, "readings": stored}


def test_an_operator_quarantines_a_reading_and_releases_it(stack, carlab_day, capsys):
    from datetime import UTC, datetime

    from etp.meters.readings_store import DynamoReadingStore

    user, spike = carlab_day["user"], carlab_day["readings"][2]
    day = (datetime(2025, 3, 11, 16, tzinfo=UTC), datetime(2025, 3, 12, 16, tzinfo=UTC))
    code, out = run(stack, "readings", "list", "--account", "Carlab_BEMS", "--day", "2025-03-12", capsys=capsys)
    assert code == 0 and "4 readings" in out.out and spike.id in out.out and "00:30:00" in out.out

    code, out = run(stack, "readings", "quarantine", spike.id, "--reason", "CT fault, see ticket 42", capsys=capsys)
    shown = json.loads(out.out)
    assert code == 0 and "quarantined by" in out.err
    assert (shown["quarantine_reason"], shown["quarantined_by"]) == ("CT fault, see ticket 42", shown["log"][0]["by"])
    assert shown["quarantined_by"].startswith("arn:aws:"), "who: the AWS principal of the operator's credentials"
    assert spike.id not in {r.id for r in DynamoReadingStore().between(user.id, *day)}

    code, out = run(stack, "readings", "quarantine", spike.tx_hash, "--reason", "again", capsys=capsys)
    assert (
        code == 0
        and "already quarantined" in out.err
        and json.loads(out.out)["quarantine_reason"] == "CT fault, see ticket 42"
    )

    code, out = run(
        stack, "readings", "list", "--account", "Carlab_BEMS", "--day", "2025-03-12", "--json", capsys=capsys
    )
    rows = {row["id"]: row for row in json.loads(out.out)}
    assert len(rows) == 4 and rows[spike.id]["quarantined_at"] and rows[spike.id]["transaction"] == spike.tx_hash
    code, out = run(stack, "readings", "list", "--account", "Carlab_BEMS", "--day", "2025-03-12", capsys=capsys)
    lines = out.out.splitlines()[2:]
    assert [line.split()[4] for line in lines] == list(rows), "the same readings, in the same order"
    assert [line.split()[3] for line in lines] == [
        "QUARANTINED" if r["quarantined_at"] else "ok" for r in rows.values()
    ]

    code, out = run(stack, "readings", "release", spike.id, "--reason", "CT replaced; value confirmed", capsys=capsys)
    assert code == 0 and "released by" in out.err
    assert [e["action"] for e in json.loads(out.out)["log"]] == ["quarantined", "released"]
    assert spike.id in {r.id for r in DynamoReadingStore().between(user.id, *day)}
    code, out = run(stack, "readings", "release", spike.id, capsys=capsys)
    assert code == 0 and "not quarantined" in out.err

    code, out = run(stack, "readings", "show", spike.id, capsys=capsys)
    assert code == 0 and json.loads(out.out)["quarantined_at"] is None and len(json.loads(out.out)["log"]) == 2
    code, again = run(stack, "readings", "show", spike.id, "--json", capsys=capsys)
    assert code == 0 and again.out == out.out, "JSON is what readings show prints anyway"


def test_reading_commands_refuse_unknown_ids_and_empty_reasons(stack, carlab_day, capsys):
    import uuid

    unknown = str(uuid.uuid4())
    for argv in (
        ("readings", "quarantine", unknown, "--reason", "x"),
        ("readings", "quarantine", "Z" * 81, "--reason", "x"),
        ("readings", "release", "not-an-id"),
        ("readings", "show", unknown),
    ):
        code, out = run(stack, *argv, capsys=capsys)
        assert code == 1 and "no stored reading" in out.err, argv
    spike = carlab_day["readings"][2]
    code, out = run(stack, "readings", "quarantine", spike.id, "--reason", "  ", capsys=capsys)
    assert code == 1 and "--reason" in out.err
    with pytest.raises(SystemExit):
        cli.main(["readings", "quarantine", spike.id])  # --reason is required
    code, out = run(stack, "readings", "list", "--account", "Ghost_BEMS", capsys=capsys)
    assert code == 1 and "no account" in out.err
    code, out = run(stack, "readings", "list", "--account", "Carlab_BEMS", "--day", "12/03/2025", capsys=capsys)
    assert code == 1 and "--day" in out.err


def test_the_demo_meters_are_rated_for_their_buildings(aws, tmp_path):
    from etp.meters.store import DynamoMeterStore

    users = DynamoUserStore()
    demo.seed_accounts(users, "energy-demo")
    assert set(demo.seed_meters(users, DynamoMeterStore(), tmp_path).values()) == {"created"}
    assert {m.rated_kw for m in DynamoMeterStore().all_active()} == {demo.DEMO_RATED_KW}
