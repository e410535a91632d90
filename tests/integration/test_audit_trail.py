"""The audit trail on moto and a real dev node: the market's records, publishing once, outage and retry, the CLI."""

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from builders import placed_bid
from helpers import ROOT, FakeLambdaContext, load_function, present

from etp.audit import trail as audit
from etp.audit.store import PENDING, AuditModel, DynamoOutbox
from etp.iota.node import NodeClient
from etp.market.bid_items import BidModel
from etp.market.store import DynamoBidStore
from etp_admin import cli

audit_function = load_function("audit")
market_jobs = load_function("market_jobs")
SLOT = datetime(2030, 1, 1, 2, 0, tzinfo=UTC)  # 10:00-11:00 in Taipei
SLOT_EVENT = "2030-01-01T10:00:00"
OPERATOR, REASON = "arn:aws:iam::123456789012:user/market-ops", "meter fleet test, ticket 7"
EARLY = {"early": True, "operator": OPERATOR, "reason": REASON}  # an operator's leave to act before the gate
NOW = json.loads((ROOT / "events/audit/explicit_time.json").read_text())  # 09:46 local, after the clear
SEALED_KEY, CLEARING_KEY = "sealed-bids#2030-01-01T02:00:00Z", "clearing#2030-01-01T02:00:00Z"


@pytest.fixture
def cleared_slot(aws, node):
    for user, side, kwh, price in (("A", "sell", 10, 2.0), ("B", "buy", 6, 4.0), ("C", "buy", 6, 3.0)):
        placed_bid(user_id=user, side=side, slot=SLOT, kwh=kwh, price=price, uploaded_at=SLOT - timedelta(hours=3))
    for job in ("seal", "clear"):  # years before the gate by the real clock: an operator's early run
        event = {"job": job, "slot": SLOT_EVENT, "now": "2030-01-01T09:45:00", **EARLY}
        assert market_jobs.lambda_handler(event, FakeLambdaContext())["status"] == "ok"
    return node


def publish(now: str = NOW["now"]) -> dict:
    return audit_function.lambda_handler({"now": now}, FakeLambdaContext())


def on_node(node, key: str) -> list[audit.Entry]:
    client = NodeClient(node.url)
    return audit.read_entries(client, client.find_transactions(addresses=[audit.record_address(key)]))


def test_sealed_and_cleared_slots_are_published_once_and_their_bids_carry_the_hashes(cleared_slot):
    assert {i.key for i in AuditModel.pending_index.query(PENDING)} == {SEALED_KEY, CLEARING_KEY}
    first = publish()
    assert (first["status"], first["published"], first["still_pending"]) == ("ok", 2, 0)
    sealed, cleared = present(DynamoOutbox().get(SEALED_KEY)), present(DynamoOutbox().get(CLEARING_KEY))
    assert sealed.created_at <= cleared.created_at and sealed.tx_hash and cleared.tx_hash
    for bid in DynamoBidStore().of_slot(SLOT):
        assert (bid.seal_tx, bid.clear_tx) == (sealed.tx_hash, cleared.tx_hash)
    (entry,) = on_node(cleared_slot, CLEARING_KEY)
    assert entry.hash == cleared.tx_hash and entry.tag.startswith("ETP9CLEARING9RESULT")
    assert json.loads(present(entry.message)) == {
        "record": "clearing",
        "subject": "2030-01-01T02:00:00Z",
        "bids": 3,
        "price_milli": 2500,
        "volume_wh": 10_000,
        "sha256": json.loads(cleared.message)["sha256"],
        "early": True,
        "operator": OPERATOR,
        "reason": REASON,
    }

    assert publish()["published"] == 0, "nothing is left to publish"
    for job in ("seal", "clear"):  # the jobs re-run: the records are not put again
        again = market_jobs.lambda_handler({"job": job, "slot": SLOT_EVENT, **EARLY}, FakeLambdaContext())
        assert again["status"] == "ok"
    assert publish()["published"] == 0
    assert len(on_node(cleared_slot, SEALED_KEY)) == 1 and len(on_node(cleared_slot, CLEARING_KEY)) == 1


def test_a_node_outage_delays_the_records_without_losing_them(cleared_slot, environment):
    environment(IOTA_NODE_URL="http://127.0.0.1:9")  # nothing listens there
    down = publish()
    assert (down["status"], down["published"], down["still_pending"]) == ("node unavailable", 0, 2)
    assert down["node_error"]
    assert {i.key for i in AuditModel.pending_index.query(PENDING)} == {SEALED_KEY, CLEARING_KEY}
    assert all(b.seal_tx is None for b in DynamoBidStore().of_slot(SLOT))
    assert all(i.claimed_until is None for i in AuditModel.scan()), "a failed run releases its claims"

    environment(IOTA_NODE_URL=cleared_slot.url)
    back = publish((datetime.fromisoformat(NOW["now"]) + timedelta(minutes=1)).isoformat())
    assert (back["status"], back["published"]) == ("ok", 2)
    assert all(b.clear_tx for b in DynamoBidStore().of_slot(SLOT))


def test_a_run_that_died_after_sending_is_not_sent_twice(cleared_slot):
    pending = present(DynamoOutbox().get(SEALED_KEY))
    sent = audit.publish(
        NodeClient(cleared_slot.url),
        pending.key,
        pending.tag,
        pending.message.encode(),
        datetime(2030, 1, 1, 1, 45, tzinfo=UTC),
    )  # sent, but the run died before noting it
    assert publish()["published"] == 2
    assert present(DynamoOutbox().get(SEALED_KEY)).tx_hash == sent
    assert [e.hash for e in on_node(cleared_slot, SEALED_KEY)] == [sent]


def test_overlapping_runs_do_not_both_send_a_record(cleared_slot):
    now = datetime.fromisoformat(NOW["now"]).replace(tzinfo=None)
    held_at = datetime(2030, 1, 1, 1, 46, tzinfo=UTC)  # NOW in UTC: another run claimed both just now
    assert DynamoOutbox().claim(SEALED_KEY, held_at) and DynamoOutbox().claim(CLEARING_KEY, held_at)
    assert not DynamoOutbox().claim(SEALED_KEY, held_at), "a claim is exclusive"
    assert publish(now.isoformat())["published"] == 0
    assert on_node(cleared_slot, SEALED_KEY) == []
    assert publish((now + timedelta(minutes=3)).isoformat())["published"] == 2, "an expired claim is taken over"


def test_a_bad_explicit_time_is_rejected(aws):
    assert audit_function.lambda_handler({"now": "soon"}, FakeLambdaContext())["status"] == "rejected"


CLI_STACK = {"Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}}, "Outputs": {}}


@pytest.fixture
def cli_stack(aws):
    boto3.client("cloudformation").create_stack(StackName="etp-audit-cli", TemplateBody=json.dumps(CLI_STACK))


def show(node, capsys, kind: str, subject: str, *flags: str) -> tuple[int, dict | None, str]:
    capsys.readouterr()  # drop what the jobs printed (their logs and metrics)
    code = cli.main(
        [
            "--env",
            "dev",
            "--stack",
            "etp-audit-cli",
            "--region",
            "us-east-1",
            "audit",
            "show",
            kind,
            subject,
            "--node",
            node.url,
            *flags,
        ]
    )
    out = capsys.readouterr()
    return code, (json.loads(out.out) if out.out.strip() else None), out.err


def test_the_cli_shows_a_record_and_verifies_it_against_the_stored_data(cleared_slot, cli_stack, capsys):
    code, report, _ = show(cleared_slot, capsys, "clearing", SLOT_EVENT)
    assert code == 1 and present(report)["problems"] == ["not published yet"]
    publish()
    code, published, _ = show(cleared_slot, capsys, "clearing", SLOT_EVENT)
    report = present(published)
    assert code == 0 and report["verified"] and report["tag"] == "ETP9CLEARING9RESULT"
    assert report["on_tangle"]["message"] == present(DynamoOutbox().get(CLEARING_KEY)).message
    assert report["transaction"] == DynamoBidStore().of_slot(SLOT)[0].clear_tx
    assert show(cleared_slot, capsys, "clearing", SLOT_EVENT, "--json")[:2] == (0, published), "JSON already"

    victim = DynamoBidStore().of_slot(SLOT)[0]
    BidModel(victim.id).update(actions=[BidModel.fill_wh.set(victim.fill_wh + 1)])  # someone edits a fill
    code, report, err = show(cleared_slot, capsys, "clearing", SLOT_EVENT)
    assert code == 1 and present(report)["problems"] == ["the stored data no longer matches the recorded message"]
    assert "does not verify" in err
    code, report, _ = show(cleared_slot, capsys, "sealed-bids", SLOT_EVENT)
    assert code == 0 and present(report)["verified"], "the sealed offers themselves are untouched"
    assert show(cleared_slot, capsys, "clearing", "2030-01-01T11:00")[0] == 1, "no record for that slot"


def test_the_scheduled_event_publishes_as_of_now(cleared_slot):
    scheduled = json.loads((ROOT / "events/audit/scheduled.json").read_text())
    answer = audit_function.lambda_handler(scheduled, FakeLambdaContext())
    assert (answer["status"], answer["published"]) == ("ok", 2)
    assert present(DynamoOutbox().get(SEALED_KEY)).published_at < "2030", "published as of now, before the slot"
