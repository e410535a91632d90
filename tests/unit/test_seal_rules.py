"""The rules behind a sealed slot: when a seal or clear is early, what a clearing's result is as its
bids hold it, and which failed writes are worth trying again."""

from datetime import UTC, datetime, timedelta

import pytest
from pynamodb.exceptions import CancellationReason, PutError, TransactWriteError, VerboseClientError

from etp import dynamo
from etp.market import bids
from etp.market.jobs import TooEarly, outcome, runs_early

SLOT = datetime(2030, 1, 1, 2, tzinfo=UTC)  # 10:00 in Taipei; its gate closes at 09:40 (01:40 UTC)
GATE = SLOT - timedelta(minutes=20)


@pytest.mark.parametrize("job", ["seal", "clear"])
def test_before_the_gate_a_step_needs_an_explicit_early(job):
    with pytest.raises(
        TooEarly, match=rf"^{job}: the gate of slot 2030-01-01T02:00:00Z closes at 2030-01-01T01:40:00Z"
    ):
        runs_early(job, SLOT, GATE - timedelta(seconds=1), early=False)
    assert runs_early(job, SLOT, GATE - timedelta(days=2), early=True) is True


@pytest.mark.parametrize("early", [False, True])
def test_from_the_gate_on_a_step_is_never_early(early):
    for clock in (GATE, GATE + timedelta(minutes=5), SLOT + timedelta(hours=3)):
        assert runs_early("clear", SLOT, clock, early=early) is False


def decided(number: int, side: str, fill_wh: int, pairs: int, status: str = bids.WON) -> bids.StoredBid:
    pair = bids.BidPair(counterpart_id="x", counterpart="X_BEMS", volume_wh=1)
    return bids.StoredBid(
        id=f"b{number}",
        user_id=f"u{number}",
        account=f"U{number}_BEMS",
        side=side,
        slot=SLOT,
        volume_wh=10_000,
        price_milli=3_000,
        status=status,
        uploaded_at=SLOT,
        version=2,
        fill_wh=fill_wh,
        cleared_price_milli=2_500,
        pairs=(pair,) * pairs,
    )


def test_a_clearings_result_is_read_back_from_its_decided_bids():
    book = [
        decided(1, "sell", 10_000, 2),
        decided(2, "buy", 6_000, 1, bids.DELIVERING),  # delivery and settlement keep fills and pairs
        decided(3, "buy", 4_000, 1, bids.SETTLED),
        decided(4, "buy", 0, 0, bids.LOST),
        decided(5, "buy", 0, 0, bids.SEALED),  # not decided yet: no part of the result
    ]
    assert outcome(book) == {"volume_wh": 10_000, "price_milli": 2_500, "pairs": 2}
    assert outcome([]) == {"volume_wh": 0, "price_milli": None, "pairs": 0}


def cancelled(*codes: str | None) -> TransactWriteError:
    reasons = [None if code is None else CancellationReason(code=code) for code in codes]
    cause = VerboseClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}},
        "TransactWriteItems",
        cancellation_reasons=reasons,
    )
    return TransactWriteError("Failed to write transaction items", cause)


def failed(code: str) -> PutError:
    return PutError("Failed to put item", VerboseClientError({"Error": {"Code": code, "Message": "m"}}, "PutItem"))


def test_only_a_lost_race_is_worth_another_try():
    assert dynamo.lost_a_race(cancelled("TransactionConflict", None))
    assert dynamo.lost_a_race(failed("TransactionConflictException"))
    assert not dynamo.lost_a_race(cancelled("ConditionalCheckFailed", None)), "a refusal stays one"
    assert not dynamo.lost_a_race(cancelled("TransactionConflict", "ConditionalCheckFailed"))
    assert not dynamo.lost_a_race(failed("ConditionalCheckFailedException"))
    assert not dynamo.lost_a_race(failed("ValidationException"))


def test_a_write_is_tried_again_while_it_loses_races_and_no_longer(monkeypatch):
    monkeypatch.setattr("time.sleep", lambda seconds: None)
    errors = [cancelled("TransactionConflict"), cancelled("TransactionConflict")]

    def write() -> str:
        if errors:
            raise errors.pop(0)
        return "written"

    assert dynamo.retry_races(write) == "written"
    errors[:] = [cancelled("TransactionConflict")] * 4
    with pytest.raises(TransactWriteError):
        dynamo.retry_races(write, attempts=4)
    assert errors == [], "four attempts in all"
    refusal = cancelled("ConditionalCheckFailed")
    errors[:] = [refusal, cancelled("TransactionConflict")]
    with pytest.raises(TransactWriteError) as raised:
        dynamo.retry_races(write)
    assert raised.value is refusal and len(errors) == 1, "a refused condition is not tried again"
