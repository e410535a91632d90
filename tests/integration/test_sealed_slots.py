"""A sealed slot is closed by data, not by the clock (issue #12, item 4), in-process against moto.

No bid enters or leaves a sealed slot, however the seal came about; seal and clear before a slot's
gate (by the real clock) are refused unless the operator says `early`, who they are and why (issue
#19, item 6: both recorded on the slot and in its audit records); a slot is cleared once.
"""

import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from helpers import FakeLambdaContext, call, load_event, load_function, login_bearer, present

from etp.accounts import service as accounts
from etp.accounts.store import DynamoUserStore
from etp.audit.store import DynamoOutbox
from etp.clock import utcnow
from etp.market import bids
from etp.market.bids import SlotSealed
from etp.market.slots import Leave
from etp.market.store import DynamoBidStore
from etp_admin import cli
from etp_admin import stack as stacks

# conftest's frozen clock: 09:10 in Taipei on 2030-01-01; the slot is two days ahead, its gate far off
pytestmark = pytest.mark.usefixtures("frozen_clock")
market = load_function("market")
market_jobs = load_function("market_jobs")
SLOT = datetime(2030, 1, 3, 2, tzinfo=UTC)  # 2030-01-03 10:00-11:00 in Taipei
SLOT_ARG = "2030-01-03T10:00"
REASON = "the grid operator asked to close 10:00 early (ticket 7)"
CALLER = "arn:aws:sts::123456789012:user/moto"  # moto's GetCallerIdentity
WINDOW = {"start_time": "2030/01/03 10", "end_time": "2030/01/03 11"}
OTHER_WINDOW = {"start_time": "2030/01/03 12", "end_time": "2030/01/03 13"}
SEALED_KEY, CLEARING_KEY = "sealed-bids#2030-01-03T02:00:00Z", "clearing#2030-01-03T02:00:00Z"
OPERATOR = "arn:aws:iam::123456789012:user/market-ops"
EARLY_REASON = "grid operator's test of the seal, ticket 7"
EARLY = {"early": True, "operator": OPERATOR, "reason": EARLY_REASON}
STACK = {
    "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
    "Outputs": {"MarketJobsFunctionName": {"Value": "etp-test-market-jobs"}},
}


@pytest.fixture
def people(aws):
    users = DynamoUserStore()
    for account in ("Seller_BEMS", "Buyer_BEMS", "Late_BEMS"):
        accounts.create_account(users, None, accounts.NewAccount(account, account, "energy-demo"), utcnow())
    return {account: login_bearer(account) for account in ("Seller_BEMS", "Buyer_BEMS", "Late_BEMS")}


def submit(token: str, side: str, kwh: float, price: float, window=WINDOW):
    body = {"bid_type": side, **window, "value": kwh, "price": price}
    return call(market, load_event("market/submit_bid.json", bearer=token, body=body))


def edit(token: str, bid_id: str, side: str, kwh: float, price: float, window=WINDOW):
    body = {"id": bid_id, "bid_type": side, **window, "value": kwh, "price": price}
    return call(market, load_event("market/edit_bid.json", bearer=token, body=body))


def delete(token: str, bid_id: str):
    return call(market, load_event("market/delete_bid.json", bearer=token, body={"id": bid_id}))


def stored() -> list[str]:
    """Every item of the bids and audit tables, to show that a refusal wrote nothing."""
    client = boto3.client("dynamodb")
    return sorted(
        json.dumps(item, sort_keys=True)
        for table in ("etp-test-bids", "etp-test-audit")
        for item in client.scan(TableName=table, ConsistentRead=True)["Items"]
    )


def job(name: str, **extra) -> dict:
    return market_jobs.lambda_handler({"job": name, "slot": SLOT_ARG, **extra}, FakeLambdaContext())


def closed(description: str) -> tuple[int, dict]:
    return 400, {"message": "Reject", "description": description}


class InProcessLambda:
    """The Lambda API as etp-admin uses it, answering with the market jobs' handler in-process."""

    def __init__(self) -> None:
        self.answers: list[dict] = []

    def invoke(self, FunctionName: str, Payload: bytes) -> dict:
        assert FunctionName == "etp-test-market-jobs"
        self.answers.append(market_jobs.lambda_handler(json.loads(Payload), FakeLambdaContext()))
        return {"Payload": io.BytesIO(json.dumps(self.answers[-1]).encode())}


@pytest.fixture
def operator(aws, monkeypatch, capsys):
    """`etp-admin --env dev jobs run ...` against a stack whose market jobs function runs in-process:
    each call gives (exit code, the job's answer, what went to stderr)."""
    boto3.client("cloudformation").create_stack(StackName="etp-sealed-slots", TemplateBody=json.dumps(STACK))
    function, client = InProcessLambda(), stacks.Stack.client
    monkeypatch.setattr(
        stacks.Stack, "client", lambda stack, name: function if name == "lambda" else client(stack, name)
    )

    def run(*argv: str) -> tuple[int, dict, str]:
        capsys.readouterr()
        invoked = len(function.answers)
        code = cli.main(["--env", "dev", "--stack", "etp-sealed-slots", "--region", "us-east-1", "jobs", "run", *argv])
        printed = capsys.readouterr()
        return code, function.answers[-1] if len(function.answers) > invoked else {}, printed.out + printed.err

    return run


def test_an_early_clear_is_refused_unless_asked_then_the_slot_is_closed_and_cleared_once(people, operator, caplog):
    """The reproduction of issue #12 item 4: clear two days ahead, bid on, clear again."""
    seller, buyer, late = people["Seller_BEMS"], people["Buyer_BEMS"], people["Late_BEMS"]
    sell_id = submit(seller, "sell", 10, 2.0)[1]["id"]  # type: ignore[index]
    assert submit(buyer, "buy", 6, 4.0)[0] == 200
    elsewhere = submit(late, "buy", 3, 9.0, OTHER_WINDOW)[1]["id"]  # type: ignore[index]
    before = stored()

    code, answer, printed = operator("clear", "--slot", SLOT_ARG)
    assert code == 1 and answer["status"] == "rejected"
    assert "etp-admin: job clear refused: clear: the gate of slot 2030-01-03T02:00:00Z closes at" in printed
    assert operator("seal", "--slot", SLOT_ARG)[0] == 1
    assert operator("clear", "--slot", SLOT_ARG, "--now", "2030-01-03T09:45")[0] == 1, "`now` is not the clock"
    assert stored() == before, "a refused seal or clear writes nothing"
    assert operator("deliver", "--slot", SLOT_ARG, "--early", "--reason", "why")[0] == 1, "--early: seal, clear"

    code, first, _ = operator("clear", "--slot", SLOT_ARG, "--early", "--reason", REASON)
    assert code == 0
    assert ("WARNING", "slot handled before its gate, as asked") in [(r.levelname, r.message) for r in caplog.records]
    assert first["results"] == [
        {
            "slot": SLOT.isoformat(),
            "changed": 2,
            "volume_wh": 6_000,
            "price_milli": 3_000,
            "pairs": 1,
            "audit_recorded": True,
            "early": True,
        }
    ]
    state = DynamoBidStore().slot_state(SLOT)
    assert state.early and state.sealed_at == state.cleared_at == utcnow().replace(microsecond=0)
    assert state.sealed_by == state.cleared_by == Leave(by=CALLER, reason=REASON), "the caller's AWS identity"
    for key in (SEALED_KEY, CLEARING_KEY):
        message = json.loads(present(DynamoOutbox().get(key)).message)
        assert (message["early"], message["operator"], message["reason"]) == (True, CALLER, REASON), key
    after_clearing = stored()

    assert submit(late, "buy", 5, 5.0) == closed("The bidding for this slot has closed"), "no late bid"
    assert edit(late, elsewhere, "buy", 3, 9.0) == closed("The bidding for this slot has closed"), "none moved in"
    assert edit(seller, sell_id, "sell", 4, 2.0, OTHER_WINDOW) == closed("The bid has been closed"), "none moved out"
    assert delete(seller, sell_id) == closed("The bid has been closed")
    assert stored() == after_clearing, "the refused bids wrote nothing"

    code, again, _ = operator("clear", "--slot", SLOT_ARG, "--early", "--reason", "again, by mistake")
    assert code == 0
    assert again["results"] == [
        {
            "slot": SLOT.isoformat(),
            "changed": 0,
            "volume_wh": 6_000,
            "price_milli": 3_000,
            "pairs": 1,
            "cleared_at": "2030-01-01T01:10:00Z",
        }
    ], "the first clearing's result, and no second auction"
    assert operator("seal", "--slot", SLOT_ARG, "--early", "--reason", "again")[0] == 0
    assert operator("clear", "--slot", SLOT_ARG)[0] == 1, "still before the gate: refused without --early"
    assert stored() == after_clearing, "one clearing, one audit record of each kind, the first leave kept"


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("seal", "--early"), "--early needs --reason"),
        (("clear", "--early"), "--early needs --reason"),
        (("seal", "--early", "--reason", "   "), "--early needs --reason"),
        (("clear", "--early", "--reason", "x" * 501), "--early needs --reason: say why, in 1 to 500 characters"),
        (("seal", "--reason", "no --early"), "--reason is for --early"),
        (("deliver", "--early", "--reason", "why"), "--early is for seal and clear"),
    ],
)
def test_an_early_step_without_a_reason_is_a_cli_error_and_invokes_nothing(people, operator, argv, says):
    assert submit(people["Seller_BEMS"], "sell", 10, 2.0)[0] == 200
    before = stored()
    code, answer, printed = operator(argv[0], "--slot", SLOT_ARG, *argv[1:])
    assert (code, answer) == (1, {}), "refused before the job is invoked"
    assert f"etp-admin: {says}" in printed
    assert stored() == before


def test_a_reason_of_500_characters_is_taken_whole(people, operator):
    assert submit(people["Seller_BEMS"], "sell", 10, 2.0)[0] == 200
    assert operator("seal", "--slot", SLOT_ARG, "--early", "--reason", "r" * 500)[0] == 0
    assert present(DynamoBidStore().slot_state(SLOT).sealed_by).reason == "r" * 500


def test_no_bid_enters_or_leaves_a_sealed_slot_even_one_the_seal_has_not_moved_yet(people):
    """The seal writes the slot's marker before it moves any bid: a bid still 投標中 in a sealed slot
    (the seal is moving the bids, or its slot index had not shown that bid yet) is closed all the same."""
    seller, late = people["Seller_BEMS"], people["Late_BEMS"]
    sell_id = submit(seller, "sell", 10, 2.0)[1]["id"]  # type: ignore[index]
    elsewhere = submit(late, "buy", 3, 9.0, OTHER_WINDOW)[1]["id"]  # type: ignore[index]
    store = DynamoBidStore()
    state = store.seal_slot(SLOT, utcnow(), leave=Leave(by=OPERATOR, reason="test"))
    assert state.sealed_at == utcnow() and state.early and state.cleared_at is None and state.bids == 1
    assert present(store.get(sell_id)).status == bids.SUBMITTED and store.get("slot#2030-01-03T02:00:00Z") is None
    assert store.slot_state(SLOT).bids == 1, "the refusals below change no count"
    before = stored()

    assert edit(seller, sell_id, "sell", 4, 2.0) == closed("The bid has been closed")
    assert edit(seller, sell_id, "sell", 4, 2.0, OTHER_WINDOW) == closed("The bid has been closed")
    assert delete(seller, sell_id) == closed("The bid has been closed")
    assert submit(late, "buy", 5, 5.0) == closed("The bidding for this slot has closed")
    assert edit(late, elsewhere, "buy", 3, 9.0) == closed("The bidding for this slot has closed")
    assert stored() == before, "nothing written"

    bid = present(store.get(sell_id))
    with pytest.raises(SlotSealed) as refused:
        store.create(replace(bid, id="another", user_id="someone", slot=SLOT))
    assert refused.value.slot == SLOT
    moving_in = present(store.get(elsewhere))
    with pytest.raises(SlotSealed) as refused:
        store.replace(moving_in, replace(moving_in, slot=SLOT, version=moving_in.version + 1))
    assert refused.value.slot == SLOT, "the slot it would move into"
    assert edit(late, elsewhere, "buy", 4, 9.0, OTHER_WINDOW)[0] == 200, "other slots stay open"


def test_an_early_seal_is_refused_unless_asked_and_then_logged_and_recorded(people, frozen_clock, caplog):
    assert submit(people["Seller_BEMS"], "sell", 10, 2.0)[0] == 200
    before = stored()
    for bad in (
        {"early": "yes"},
        {"early": 1},
        {"early": None, "now": "2030-01-03T09:45:00"},
        {"early": True},  # who asks, and why?
        {**EARLY, "reason": ""},
        {**EARLY, "reason": " " * 3},
        {**EARLY, "reason": "x" * 501},
        {**EARLY, "reason": 7},
        {**EARLY, "operator": None},
        {**EARLY, "operator": ""},
        {"operator": OPERATOR, "reason": "no early"},
    ):
        answer = job("seal", **bad)
        assert answer["status"] == "rejected", bad
    assert answer["error"] == "operator, reason: only with early"
    assert job("seal", early=True)["error"] == "operator: the identity of who asks (an ARN), required with early"
    event = {"job": "deliver", **EARLY}
    assert market_jobs.lambda_handler(event, FakeLambdaContext())["status"] == "rejected"
    assert stored() == before

    sealed = job("seal", **EARLY)
    assert sealed["status"] == "ok" and sealed["results"][0] == {
        "slot": SLOT.isoformat(),
        "changed": 1,
        "audit_recorded": True,
        "early": True,
    }
    (warned,) = [r for r in caplog.records if r.message == "slot handled before its gate, as asked"]
    assert (warned.levelname, warned.operator, warned.reason) == ("WARNING", OPERATOR, EARLY_REASON)
    first_seal = utcnow()
    frozen_clock.advance(timedelta(hours=1))
    assert job("seal", **{**EARLY, "operator": "arn:aws:iam::123456789012:user/other"})["results"][0]["changed"] == 0
    state = DynamoBidStore().slot_state(SLOT)
    assert (state.sealed_at, state.early, state.cleared_at) == (first_seal, True, None), "the first seal stays"
    assert state.sealed_by == Leave(by=OPERATOR, reason=EARLY_REASON), "and so does its leave"
    message = json.loads(present(DynamoOutbox().get(SEALED_KEY)).message)
    assert (message["bids"], message["early"], message["operator"], message["reason"]) == (
        1,
        True,
        OPERATOR,
        EARLY_REASON,
    )
    assert {b.status for b in DynamoBidStore().of_slot(SLOT)} == {bids.SEALED}


def test_after_the_gate_seal_and_clear_need_no_early_and_are_not_marked_early(people, frozen_clock):
    assert submit(people["Seller_BEMS"], "sell", 10, 2.0)[0] == 200
    assert submit(people["Buyer_BEMS"], "buy", 6, 4.0)[0] == 200
    frozen_clock.now = SLOT - timedelta(minutes=20)  # the gate, to the second
    assert job("seal")["results"][0] == {"slot": SLOT.isoformat(), "changed": 2, "audit_recorded": True}
    assert "early" not in job("clear", **EARLY)["results"][0], "early asks for leave; after the gate none is needed"
    state = DynamoBidStore().slot_state(SLOT)
    assert not state.early and state.sealed_at == state.cleared_at == SLOT - timedelta(minutes=20)
    assert state.sealed_by is None and state.cleared_by is None
    for key in (SEALED_KEY, CLEARING_KEY):
        assert not {"early", "operator", "reason"} & set(json.loads(present(DynamoOutbox().get(key)).message)), key


def cleared_state() -> list[tuple]:
    return sorted(
        (b.account, b.status, b.fill_wh, b.cleared_price_milli, tuple(b.pairs)) for b in DynamoBidStore().of_slot(SLOT)
    )


@pytest.fixture
def book_at_the_gate(people, frozen_clock):
    """Three bids in the slot (a seller: 10 kWh at 2; buyers: 6 at 4, 6 at 3), then the clock past its gate."""
    for account, side, kwh, price in (
        ("Seller_BEMS", "sell", 10, 2.0),
        ("Buyer_BEMS", "buy", 6, 4.0),
        ("Late_BEMS", "buy", 6, 3.0),
    ):
        assert submit(people[account], side, kwh, price)[0] == 200
    frozen_clock.now = SLOT - timedelta(minutes=15)


@pytest.mark.parametrize("dies_in", ["record_outcome", "mark_cleared"])
def test_a_clear_that_died_half_way_is_completed_by_the_next_run_not_run_again(book_at_the_gate, monkeypatch, dies_in):
    expected = {"volume_wh": 10_000, "price_milli": 2_500, "pairs": 2}
    real = getattr(DynamoBidStore, dies_in)
    calls = []

    def dies_after_one(self, *args, **kwargs):
        calls.append(args)
        if len(calls) > 1 or dies_in == "mark_cleared":
            raise RuntimeError("the clear job died here")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(DynamoBidStore, dies_in, dies_after_one)
    with pytest.raises(RuntimeError):
        job("clear")
    monkeypatch.setattr(DynamoBidStore, dies_in, real)
    assert DynamoBidStore().slot_state(SLOT).cleared_at is None

    finished = job("clear")["results"][0]
    assert {k: finished[k] for k in expected} == expected
    assert finished["changed"] == (2 if dies_in == "record_outcome" else 0), "only what was missing is written"
    assert finished.get("audit_recorded", False) is (dies_in == "record_outcome")
    outcome = cleared_state()
    assert [(account, status) for account, status, *_ in outcome] == [
        ("Buyer_BEMS", bids.WON),
        ("Late_BEMS", bids.WON),
        ("Seller_BEMS", bids.WON),
    ]
    assert {fill for _, _, fill, _, _ in outcome} == {6_000, 4_000, 10_000}
    assert DynamoBidStore().slot_state(SLOT).cleared_at == utcnow()
    again = job("clear")["results"][0]
    assert {k: again[k] for k in expected} == expected and again["changed"] == 0
    assert cleared_state() == outcome
    assert json.loads(present(DynamoOutbox().get(CLEARING_KEY)).message)["volume_wh"] == 10_000


def test_a_bid_write_that_only_lost_a_race_on_the_slot_marker_is_tried_again(people, monkeypatch):
    from pynamodb.connection import Connection
    from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError

    real, tries = Connection.transact_write_items, []

    def busy_twice(self, *args, **kwargs):
        tries.append(1)
        if len(tries) <= 2:
            reasons = [CancellationReason(code="TransactionConflict"), None, None]
            cause = VerboseClientError(
                {"Error": {"Code": "TransactionCanceledException", "Message": "conflict"}},
                "TransactWriteItems",
                cancellation_reasons=reasons,
            )
            raise TransactWriteError("Failed to write transaction items", cause)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Connection, "transact_write_items", busy_twice)
    status, body = submit(people["Seller_BEMS"], "sell", 10, 2.0)
    assert status == 200 and len(tries) == 3
    assert [b.id for b in DynamoBidStore().of_slot(SLOT)] == [body["id"]]  # type: ignore[index]
