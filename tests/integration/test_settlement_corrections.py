"""Quarantining or releasing a reading of a settled slot re-settles it, through `etp-admin readings
quarantine/release` on moto: the owner's and its counterparts' pairs change, /matchresult shows it,
a correction audit record is written (the clearing's stays), and a repeat changes nothing."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from builders import placed_bid
from helpers import FakeLambdaContext, call, load_event, load_function, login_bearer

from etp.accounts import service as accounts
from etp.accounts.store import DynamoUserStore, UserModel
from etp.audit.store import AuditModel
from etp.clock import utcnow
from etp.market.store import DynamoBidStore
from etp.meters.readings import StoredReading
from etp.meters.readings_store import DynamoReadingStore
from etp_admin import cli

pytestmark = pytest.mark.usefixtures("frozen_clock")
jobs_function = load_function("market_jobs")
market = load_function("market")
SLOT = datetime(2029, 12, 31, 21, tzinfo=UTC)  # 2030/01/01 05:00-06:00 in Taipei, before the frozen clock
SLOT_EVENT = "2030-01-01T05:00:00"
STACK_TEMPLATE = {
    "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {"UsersTableName": {"Value": "etp-test-users"}, "JwtSecretArn": {"Value": "etp-test-jwt"}},
}


@pytest.fixture
def stack(aws):
    boto3.client("cloudformation").create_stack(StackName="etp-cli-test", TemplateBody=json.dumps(STACK_TEMPLATE))
    yield "etp-cli-test"
    UserModel.Meta.host = None


def metered(user_id: str, kw: float, *, every: int = 15) -> None:
    """Demand readings of `kw` every `every` minutes from the slot's start to its end (grid > 0 imports)."""
    readings = [
        StoredReading(
            str(uuid.uuid4()), user_id, f"m-{user_id}", "Demand", SLOT + timedelta(minutes=m), kw, f"T{user_id}{m}"
        )
        for m in range(0, 61, every)
    ]
    DynamoReadingStore().store_many([(r, {"grid": r.power_kw}, "A" * 81) for r in readings])


@pytest.fixture
def settled(stack):
    """Seller sells 4 kWh to Buyer at p* 2.5; Buyer imports 2 kW all hour, and a 100 kW spike at :20
    makes its 4 kWh look delivered: the slot settled at achievement 1, NT$ 10 for each side."""
    users = DynamoUserStore()
    people = {
        name: accounts.create_account(users, None, accounts.NewAccount(name, name, "energy-demo"), utcnow())
        for name in ("Seller_BEMS", "Buyer_BEMS")
    }
    for name, side, price in (("Seller_BEMS", "sell", 2000), ("Buyer_BEMS", "buy", 3000)):
        placed_bid(user_id=people[name].id, account=name, side=side, slot=SLOT, kwh=4, price_milli=price)
    metered(people["Seller_BEMS"].id, -20.0)
    metered(people["Buyer_BEMS"].id, 2.0)
    spike = StoredReading(
        str(uuid.uuid4()), people["Buyer_BEMS"].id, "m-b", "Demand", SLOT + timedelta(minutes=20), 100.0, "SPIKE"
    )
    DynamoReadingStore().store_many([(spike, {"grid": 100.0}, "A" * 81)])
    for job in ("seal", "clear", "deliver"):
        jobs_function.lambda_handler({"job": job, "slot": SLOT_EVENT}, FakeLambdaContext())
    answer = jobs_function.lambda_handler(
        {"job": "settle", "slot": SLOT_EVENT, "now": "2030-01-01T08:00:00"}, FakeLambdaContext()
    )
    assert answer["results"][0]["changed"] == 4
    return {"people": people, "spike": spike}


def admin(stack, capsys, *argv):
    code = cli.main(["--env", "dev", "--stack", stack, "--region", "us-east-1", *argv])
    out = capsys.readouterr()
    return code, json.loads(out.out), out.err


def match_rows(account: str) -> list[tuple[float | None, float | None]]:
    status, rows = call(market, load_event("market/match_result.json", bearer=login_bearer(account)))
    assert status == 200
    return [(row["achievement"], row["settlement"]) for row in rows]


def corrections() -> list[dict]:
    return [
        {"key": item.key, **json.loads(item.message)}
        for item in AuditModel.scan()
        if item.kind == "settlement-correction"
    ]


def test_quarantine_and_release_re_settle_the_slot_once_each(stack, settled, capsys):
    spike = settled["spike"]
    assert match_rows("Buyer_BEMS") == match_rows("Seller_BEMS") == [(1.0, 10.0)]

    code, shown, err = admin(stack, capsys, "readings", "quarantine", spike.id, "--reason", "CT fault")
    assert code == 0 and "2030/01/01 05:00 (local) corrected: 2 pairs re-settled, NT$ 20 -> NT$ 10" in err
    (correction,) = shown["settlement_corrections"]
    assert correction["slot"] == "2029-12-31T21:00:00Z" and correction["pairs_changed"] == 2
    assert {(c["account"], c["old"]["achievement"], c["new"]["achievement"]) for c in correction["changes"]} == {
        ("Seller_BEMS", 1.0, 0.5),
        ("Buyer_BEMS", 1.0, 0.5),
    }
    # the owner, and its counterpart, see the corrected settlement
    assert match_rows("Buyer_BEMS") == match_rows("Seller_BEMS") == [(0.5, 5.0)]
    (record,) = corrections()
    assert record["key"] == f"settlement-correction#2029-12-31T21:00:00Z#{spike.id}#1" == correction["audit_record"]
    assert (record["action"], record["reading"], record["pairs"]) == ("quarantined", spike.id, 2)
    assert (record["old"]["settlement_milli"], record["new"]["settlement_milli"]) == (20_000, 10_000)
    assert AuditModel.get("clearing#2029-12-31T21:00:00Z").kind == "clearing", "the clearing's record stays"

    code, shown, err = admin(stack, capsys, "readings", "quarantine", spike.id, "--reason", "again")
    assert code == 0 and "already quarantined" in err and "already agrees" in err
    assert shown["settlement_corrections"] == [] and len(corrections()) == 1
    assert match_rows("Buyer_BEMS") == [(0.5, 5.0)]

    code, shown, err = admin(stack, capsys, "readings", "release", spike.id)
    assert code == 0 and "corrected: 2 pairs re-settled, NT$ 10 -> NT$ 20" in err
    assert match_rows("Buyer_BEMS") == match_rows("Seller_BEMS") == [(1.0, 10.0)]
    assert sorted((r["action"], r["key"][-2:]) for r in corrections()) == [("quarantined", "#1"), ("released", "#2")]

    code, shown, err = admin(stack, capsys, "readings", "release", spike.id)
    assert code == 0 and "not quarantined" in err and shown["settlement_corrections"] == []
    assert len(corrections()) == 2


def test_a_reading_of_a_slot_not_settled_yet_needs_no_correction(stack, settled, capsys):
    later = StoredReading(
        str(uuid.uuid4()),
        settled["people"]["Buyer_BEMS"].id,
        "m-b",
        "Demand",
        SLOT + timedelta(hours=1, minutes=5),
        50.0,
        "LATER",
    )
    DynamoReadingStore().store_many([(later, {"grid": 50.0}, "A" * 81)])
    code, shown, err = admin(stack, capsys, "readings", "quarantine", later.id, "--reason", "spike")
    assert code == 0 and "not settled" in err and shown["settlement_corrections"] == []
    assert corrections() == [] and match_rows("Buyer_BEMS") == [(1.0, 10.0)]


def test_a_repeat_finishes_a_correction_that_died_half_way(stack, settled, capsys, monkeypatch):
    spike = settled["spike"]
    writes: list[str] = []
    real = DynamoBidStore.record_outcome

    def dies_after_one(self, bid, **kwargs):
        if writes:
            raise ConnectionError("the operator's laptop went to sleep")
        writes.append(bid.id)
        return real(self, bid, **kwargs)

    monkeypatch.setattr(DynamoBidStore, "record_outcome", dies_after_one)
    with pytest.raises(ConnectionError):
        cli.main(
            [
                "--env",
                "dev",
                "--stack",
                stack,
                "--region",
                "us-east-1",
                "readings",
                "quarantine",
                spike.id,
                "--reason",
                "x",
            ]
        )
    capsys.readouterr()
    assert writes, "one bid was written before the run died"
    monkeypatch.setattr(DynamoBidStore, "record_outcome", real)
    assert sorted(match_rows("Buyer_BEMS") + match_rows("Seller_BEMS")) == [(0.5, 5.0), (1.0, 10.0)], "half done"

    code, shown, err = admin(stack, capsys, "readings", "quarantine", spike.id, "--reason", "x")
    assert code == 0 and "already quarantined" in err and "audit record already there" in err
    assert shown["settlement_corrections"][0]["pairs_changed"] == 1
    assert match_rows("Buyer_BEMS") == match_rows("Seller_BEMS") == [(0.5, 5.0)]
    assert len(corrections()) == 1


def test_the_correction_record_is_published_and_shown(stack, settled, node, capsys):
    spike = settled["spike"]
    assert admin(stack, capsys, "readings", "quarantine", spike.id, "--reason", "CT fault")[0] == 0
    audit_function = load_function("audit")
    answer = audit_function.lambda_handler({"now": "2030-01-01T09:00:00"}, FakeLambdaContext())
    assert answer["status"] == "ok" and answer["published"] == 3  # sealed bids, clearing, the correction
    capsys.readouterr()
    subject = f"{SLOT_EVENT}#{spike.id}#1"  # the slot as a local time, as for the other records
    code, shown, _ = admin(stack, capsys, "audit", "show", "settlement-correction", subject, "--node", node.url)
    assert code == 0 and shown["verified"] and shown["tag"] == "ETP9SETTLEMENT9CORRECTION"
    assert shown["message"]["action"] == "quarantined" and shown["message"]["new"]["settlement_milli"] == 10_000
    assert shown["on_tangle"]["message"] == json.dumps(shown["message"], sort_keys=True, separators=(",", ":"))
