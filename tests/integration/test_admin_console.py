"""The operator's console against moto: market show --plot, readings chart, status.

Each picture is checked twice: the file is a PNG, and the lines etp_admin.plots drew (read back from
the figure) are the book as merit.merit_order orders it and Q*, p* as clearing.clear makes them,
or the readings as the store holds them.
"""

import json
import uuid
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import boto3
import pytest
from helpers import FakeLambdaContext, load_function, present

from etp.accounts import service as accounts
from etp.accounts.store import DynamoUserStore
from etp.audit.store import DynamoOutbox
from etp.audit.trail import Record
from etp.clock import to_utc_iso, utcnow
from etp.market import bids, clearing, merit
from etp.market.store import DynamoBidStore, StoredBid
from etp.meters import last_run
from etp.meters.readings import StoredReading
from etp.meters.readings_store import DynamoReadingStore
from etp_admin import cli, plots

PNG = b"\x89PNG\r\n\x1a\n"
SLOT = datetime(2030, 1, 1, 2, tzinfo=UTC)  # 2030-01-01T10:00 local
STACK_TEMPLATE = {
    "Resources": {"JobsDeadLetterQueue": {"Type": "AWS::SQS::Queue"}, "OtherQueue": {"Type": "AWS::SQS::Queue"}},
    "Outputs": {"UsersTableName": {"Value": "etp-test-users"}},
}


@pytest.fixture
def stack(aws):
    boto3.client("cloudformation").create_stack(StackName="etp-console", TemplateBody=json.dumps(STACK_TEMPLATE))
    return "etp-console"


ALARMS = {"TrackerErrorsAlarm": "etp-console-tracker-errors", "QuietAlarm": "etp-console-quiet"}


@pytest.fixture
def alarms(stack, monkeypatch):
    """The stack's two alarms. moto's CloudFormation makes no AWS::CloudWatch::Alarm, so they are made
    here and added to the stack's resources as CloudFormation lists them (the alarm's name is its id)."""
    from etp_admin.cli import status

    cloudwatch = boto3.client("cloudwatch")
    for name in ALARMS.values():
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Statistic="Sum",
            Period=300,
            EvaluationPeriods=1,
            Threshold=0,
            ComparisonOperator="GreaterThanThreshold",
        )
    listed = status._resources
    extra = [
        {"LogicalResourceId": logical, "PhysicalResourceId": name, "ResourceType": "AWS::CloudWatch::Alarm"}
        for logical, name in ALARMS.items()
    ]
    monkeypatch.setattr(status, "_resources", lambda stack: listed(stack) + extra)
    return cloudwatch


@pytest.fixture
def drawn(monkeypatch):
    """What each plots function drew, as it answered, by function name."""
    seen: dict[str, list[plots.Drawn]] = {}
    for name in ("merit_order", "day_power"):
        original = getattr(plots, name)

        def spy(*args, _original=original, _name=name, **kwargs):
            result = _original(*args, **kwargs)
            seen.setdefault(_name, []).append(result)
            return result

        monkeypatch.setattr(plots, name, spy)
    return seen


def run(stack, capsys, *argv):
    code = cli.main(["--env", "dev", "--stack", stack, "--region", "us-east-1", *argv])
    return code, capsys.readouterr()


def _bid(user: str, side: str, kwh: int, price_milli: int, slot: datetime = SLOT) -> StoredBid:
    bid = StoredBid(
        id=str(uuid.uuid4()),
        user_id=user,
        account=f"{user}_BEMS",
        side=side,
        slot=slot,
        volume_wh=kwh * 1000,
        price_milli=price_milli,
        status=bids.SUBMITTED,
        uploaded_at=slot - timedelta(days=1),
        version=0,
    )
    DynamoBidStore().create(bid)
    return bid


def _clear(local_slot: str) -> None:
    event = {"job": "clear", "slot": local_slot, "early": True, "operator": "arn:aws:iam::1:user/ops", "reason": "t"}
    assert load_function("market_jobs").lambda_handler(event, FakeLambdaContext())["status"] == "ok"


def _auction(book: list[StoredBid]) -> clearing.Clearing:
    return clearing.clear(
        [clearing.Bid(b.id, b.user_id, b.side, b.volume_wh, b.price_milli) for b in book],  # type: ignore[arg-type]
        Fraction(1, 2),
    )


def _expected_steps(ordered: list[StoredBid]) -> plots.Points:
    return plots.steps([plots.Step(b.volume_wh / 1000, b.price_milli / 1000) for b in ordered])


def test_market_show_plot_draws_the_book_the_auction_sees(stack, capsys, tmp_path, drawn):
    book = [
        _bid("b1", "buy", 4, 3500),
        _bid("b2", "buy", 3, 3000),
        _bid("b3", "buy", 5, 1500),
        _bid("s1", "sell", 2, 1000),
        _bid("s2", "sell", 6, 2500),
        _bid("s3", "sell", 4, 2500),  # the same price as s2: bid id breaks the tie, as the clearing does
    ]
    picture = tmp_path / "before.png"
    code, out = run(stack, capsys, "market", "show", "--slot", "2030-01-01T10:00", "--plot", str(picture))
    assert code == 0 and picture.read_bytes().startswith(PNG), out.err
    (before,) = drawn["merit_order"]
    buys, sells = merit.merit_order(DynamoBidStore().of_slot(SLOT))
    assert before.lines["demand"] == _expected_steps(buys) and before.lines["supply"] == _expected_steps(sells)
    preview = _auction(book)  # not cleared yet: the picture shows what the auction would make of the bids
    assert before.lines["Q*"][0] == (preview.volume_wh / 1000,) * 2
    assert before.lines["p*"][1] == (present(preview.price_milli) / 1000,) * 2

    _clear("2030-01-01T10:00")
    capsys.readouterr()  # the job's log lines
    picture = tmp_path / "after.png"
    code, out = run(stack, capsys, "market", "show", "--slot", "2030-01-01T10:00", "--plot", str(picture), "--json")
    assert code == 0 and picture.read_bytes().startswith(PNG)
    after = drawn["merit_order"][1]
    shown = json.loads(out.out)
    cleared = shown["cleared"]
    assert shown["plot"] == plots.as_json(after), "--json shows the lines drawn"
    result = _auction(book)
    assert (cleared["volume_kwh"], cleared["price"]) == (result.volume_wh / 1000, present(result.price_milli) / 1000)
    assert after.lines["Q*"][0] == (cleared["volume_kwh"],) * 2 and after.lines["p*"][1] == (cleared["price"],) * 2
    assert after.lines["demand"] == before.lines["demand"] and after.lines["supply"] == before.lines["supply"]
    pairs = {name: points for name, points in after.lines.items() if name.startswith("pair ")}
    accounts_of = {b.user_id: b.account for b in book}
    assert list(pairs) == [
        f"pair {n}: {accounts_of[p.buyer]} <- {accounts_of[p.seller]}" for n, p in enumerate(result.pairs, 1)
    ]
    ends = [points[0][1] for points in pairs.values()]
    assert ends[-1] == result.volume_wh / 1000, "the pairs lie end to end along [0, Q*]"


def test_a_slot_without_bids_draws_an_empty_book(stack, capsys, tmp_path, drawn):
    picture = tmp_path / "empty.png"
    code, out = run(stack, capsys, "market", "show", "--slot", "2030-01-01T11:00", "--plot", str(picture))
    assert code == 0 and picture.read_bytes().startswith(PNG) and "0 bids" in out.out
    assert drawn["merit_order"][0].lines == {}


@pytest.fixture
def carlab_mixed_day(stack):
    """Carlab's readings of 2025-03-12 (local): Demand with its fields, a PV meter's, a quarantined one."""
    users = DynamoUserStore()
    accounts.create_account(users, None, accounts.NewAccount("Carlab_BEMS", "Carlab", "energy-demo"), utcnow())
    user = present(users.get("Carlab_BEMS"))
    midnight = datetime(2025, 3, 11, 16, tzinfo=UTC)  # 00:00 Taipei

    def reading(kind: str, minutes: int, kw: float, n: int) -> StoredReading:
        tx = f"TX{'ABCDEFGH'[n]}".ljust(81, "9")
        taken = midnight + timedelta(minutes=minutes)
        return StoredReading(str(uuid.uuid4()), user.id, f"m-{kind}", kind, taken, kw, tx)

    demand = [reading("Demand", 15 * i, 10.0 + i, i) for i in range(3)]
    pv = [reading("PV", 60 * (i + 6), 3.0 * i, 3 + i) for i in range(3)]
    spike = reading("PV", 60 * 12, 99_999.0, 6)
    store = DynamoReadingStore()
    store.store_many([(r, {"grid": r.power_kw, "pv": -2.0, "ess": 1.5}, "A" * 81) for r in demand])
    store.store_many([(r, {"pac": r.power_kw}, "B" * 81) for r in [*pv, spike]])
    from etp.meters.readings_admin import DynamoReadingAdmin

    assert DynamoReadingAdmin().quarantine(spike, reason="CT fault", by="ops", now=utcnow())
    return {"demand": demand, "pv": pv, "spike": spike}


def test_readings_chart_draws_the_days_power_by_type(stack, capsys, tmp_path, drawn, carlab_mixed_day):
    picture = tmp_path / "day.png"
    argv = ("readings", "chart", "--account", "Carlab_BEMS", "--day", "2025-03-12", "--plot", str(picture))
    code, out = run(stack, capsys, *argv, "--json")
    assert code == 0 and picture.read_bytes().startswith(PNG), out.err
    (chart,) = drawn["day_power"]
    quarter_hours = (0.0, 0.25, 0.5)
    assert chart.lines == {
        "grid": (quarter_hours, (10.0, 11.0, 12.0)),
        "pv": (quarter_hours, (-2.0, -2.0, -2.0)),
        "ess": (quarter_hours, (1.5, 1.5, 1.5)),
        "PV": ((6.0, 7.0, 8.0), (0.0, 3.0, 6.0)),  # the quarantined 12:00 spike does not count
    }
    shown = json.loads(out.out)
    assert shown["day"] == "2025-03-12" and shown["plot"] == plots.as_json(chart)
    assert "4 series, 12 points of 7 readings" in out.err

    code, out = run(stack, capsys, "readings", "chart", "--account", "Ghost_BEMS", "--plot", str(picture))
    assert code == 1 and "no account" in out.err


def test_status_shows_the_tracker_alarms_queues_outbox_and_slots(stack, alarms, capsys, frozen_clock):
    now = utcnow()  # 2030-01-01T01:10Z, standing still: the next slot's gate (01:40Z) is still open
    hour = now.replace(minute=0, second=0, microsecond=0)
    last_run.record({"now": to_utc_iso(now), "stored": 7, "rejected": {"unknown address": 2}}, now, 1.25)
    sqs = boto3.client("sqs")
    alarms.set_alarm_state(AlarmName="etp-console-tracker-errors", StateValue="ALARM", StateReason="3 errors")
    queues = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in boto3.client("cloudformation").list_stack_resources(StackName=stack)["StackResourceSummaries"]
    }
    for url in (queues["JobsDeadLetterQueue"], queues["OtherQueue"]):
        queue = url if url.startswith("http") else sqs.get_queue_url(QueueName=url)["QueueUrl"]
        sqs.send_message(QueueUrl=queue, MessageBody="{}")
    DynamoOutbox().put(Record(kind="clearing", subject="s", body={"n": 1}), now)
    last, following = hour - timedelta(hours=1), hour + timedelta(hours=1)
    _bid("s1", "sell", 5, 2000, last), _bid("b1", "buy", 5, 3000, last), _bid("b2", "buy", 1, 1000, last)
    _bid("b3", "buy", 2, 2000, following)
    _clear(to_utc_iso(last))
    capsys.readouterr()  # the job's log lines

    code, out = run(stack, capsys, "status", "--json")
    assert code == 0, out.err
    shown = json.loads(out.out)
    assert shown["tracker"]["stored"] == 7 and shown["tracker"]["duration_ms"] == 1250
    assert [a["alarm"] for a in shown["alarms"]] == ["TrackerErrorsAlarm"], "QuietAlarm is OK"
    assert [(q["queue"], q["messages"]) for q in shown["dead_letter_queues"]] == [("JobsDeadLetterQueue", 1)]
    assert shown["audit_outbox"] == {"pending": 3, "oldest": to_utc_iso(now)}, "ours, the sealed bids', the clearing's"
    by_slot = {s["which"]: s for s in shown["slots"]}
    assert (by_slot["last"]["state"], by_slot["last"]["bids"]) == ("cleared", 3)
    assert by_slot["last"]["by_status"] == {bids.WON: 2, bids.LOST: 1}
    assert (by_slot["current"]["state"], by_slot["current"]["bids"]) == ("not sealed", 0)
    assert (by_slot["next"]["state"], by_slot["next"]["bids"], by_slot["next"]["bids_counted"]) == ("open", 1, 1)

    code, out = run(stack, capsys, "status")
    assert code == 0
    text = out.out
    assert "stored 7, rejected 2, 1.25 s" in text and "TrackerErrorsAlarm" in text
    assert "JobsDeadLetterQueue: 1" in text and "audit outbox: 3 records waiting" in text
    assert "cleared" in text and "open" in text


def test_status_says_what_it_cannot_read_and_shows_the_rest(aws, capsys):
    """A stack without alarms or queues, a tracker that never ran: the screen still shows."""
    boto3.client("cloudformation").create_stack(
        StackName="etp-bare",
        TemplateBody=json.dumps({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}),
    )
    code, out = run("etp-bare", capsys, "status", "--json")
    shown = json.loads(out.out)
    assert code == 0 and shown["tracker"] is None and shown["alarms"] == [] and shown["dead_letter_queues"] == []
    code, out = run("etp-bare", capsys, "status")
    assert "tracker: no completed run recorded yet" in out.out and "alarms in ALARM: none" in out.out
