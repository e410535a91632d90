"""The rules behind a sealed slot: when a seal or clear is early, what a clearing's result is as its
bids hold it, and which failed writes are worth trying again."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from builders import stored_bid
from pynamodb.exceptions import CancellationReason, PutError, TransactWriteError, VerboseClientError

from etp import dynamo
from etp.market import bids, slots
from etp.market.jobs import INDEX_READS, IndexLag, TooEarly, covered_book, outcome, runs_early

SLOT = datetime(2030, 1, 1, 2, tzinfo=UTC)  # 10:00 in Taipei; its gate closes at 09:40 (01:40 UTC)
GATE = SLOT - timedelta(minutes=20)
LEAVE = slots.Leave(by="arn:aws:iam::123456789012:user/ops", reason="the grid operator asked")


@pytest.mark.parametrize("job", ["seal", "clear"])
def test_before_the_gate_a_step_needs_an_explicit_early(job):
    with pytest.raises(
        TooEarly, match=rf"^{job}: the gate of slot 2030-01-01T02:00:00Z closes at 2030-01-01T01:40:00Z"
    ):
        runs_early(job, SLOT, GATE - timedelta(seconds=1), early=None)
    assert runs_early(job, SLOT, GATE - timedelta(days=2), early=LEAVE) == LEAVE


@pytest.mark.parametrize("early", [None, LEAVE])
def test_from_the_gate_on_a_step_is_never_early(early):
    for clock in (GATE, GATE + timedelta(minutes=5), SLOT + timedelta(hours=3)):
        assert runs_early("clear", SLOT, clock, early=early) is None


def test_an_operators_leave_names_who_asks_and_why():
    assert slots.leave(" arn:aws:iam::1:user/ops ", "  the grid asked  ") == slots.Leave(
        by="arn:aws:iam::1:user/ops", reason="the grid asked"
    )
    assert slots.leave("arn:x", "r" * 500).reason == "r" * 500
    for by, reason in (
        (None, "why"),
        ("", "why"),
        ("  ", "why"),
        (7, "why"),
        ("arn:x", None),
        ("arn:x", ""),
        ("arn:x", " \n "),
        ("arn:x", "r" * 501),
        ("arn:x", ["why"]),
    ):
        with pytest.raises(slots.BadLeave):
            slots.leave(by, reason)


def decided(number: int, side: str, fill_wh: int, pairs: int, status: str = bids.WON) -> bids.StoredBid:
    pair = bids.BidPair(counterpart_id="x", counterpart="X_BEMS", volume_wh=1)
    return stored_bid(
        id=f"b{number}",
        user_id=f"u{number}",
        account=f"U{number}_BEMS",
        side=side,
        slot=SLOT,
        kwh=10,
        price=3,
        status=status,
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


class LaggingIndex:
    """A slot's bids as a store holds them (read consistently), and a slot index that hides the bids
    in `hidden` for its first `lag` reads and still shows the bids in `stale` as they were."""

    def __init__(self, stored: list[bids.StoredBid], *, hidden=(), lag: int = 0, stale=()) -> None:
        self.stored = {b.id: b for b in stored}
        self.hidden, self.lag, self.stale, self.reads = set(hidden), lag, list(stale), 0

    def of_slot(self, slot: datetime) -> list[bids.StoredBid]:
        self.reads += 1
        shown = [b for b in self.stored.values() if b.slot == slot]
        if self.reads <= self.lag:
            shown = [b for b in shown if b.id not in self.hidden]
        return shown + self.stale

    def reread(self, book: list[bids.StoredBid]) -> list[bids.StoredBid]:
        return [self.stored[b.id] for b in book if b.id in self.stored]


def open_bid(number: int, *, slot: datetime = SLOT, counted: bool = True) -> bids.StoredBid:
    return replace(decided(number, "buy", 0, 0, bids.SUBMITTED), slot=slot, counted=counted)


def test_the_sealed_book_is_every_counted_bid_however_long_the_index_lags():
    book = [open_bid(n) for n in range(4)]
    pauses: list[float] = []
    index = LaggingIndex(book, hidden={"b2", "b3"}, lag=3)
    covered, reads = covered_book(index, SLOT, 4, pauses.append)
    assert sorted(b.id for b in covered) == ["b0", "b1", "b2", "b3"] and reads == 4
    assert pauses == [0.2, 0.4, 0.8], "a pause before each read again, twice as long each time"

    pauses.clear()
    assert covered_book(LaggingIndex(book), SLOT, 4, pauses.append) == (book, 1) and pauses == []


def test_bids_the_index_still_shows_but_are_gone_or_moved_do_not_stand_in_for_missing_ones():
    """A lagging index may show a withdrawn bid, or one moved to another slot, instead of a new one:
    as many bids as counted, but not the slot's. Each is read again consistently and drops out."""
    book = [open_bid(1), open_bid(2)]
    withdrawn, moved = open_bid(8), open_bid(9)
    index = LaggingIndex([*book, replace(moved, slot=SLOT + timedelta(hours=1))], hidden={"b2"}, lag=2)
    index.stale = [withdrawn, moved]  # as the index showed them before they went
    covered, reads = covered_book(index, SLOT, 2, lambda pause: None)
    assert sorted(b.id for b in covered) == ["b1", "b2"] and reads == 3


def test_bids_written_before_the_count_are_sealed_too_but_not_counted():
    legacy, counted = open_bid(1, counted=False), open_bid(2)
    assert covered_book(LaggingIndex([legacy, counted]), SLOT, 1)[0] == [legacy, counted]
    waits: list[float] = []
    lagging = LaggingIndex([legacy, counted], hidden={"b2"}, lag=1)
    assert covered_book(lagging, SLOT, 1, waits.append) == ([legacy, counted], 2), "the legacy bid is no stand-in"


def test_an_index_that_never_shows_every_counted_bid_ends_in_index_lag_after_bounded_reads():
    pauses: list[float] = []
    index = LaggingIndex([open_bid(1), open_bid(2)], hidden={"b2"}, lag=1_000)
    with pytest.raises(IndexLag, match=r"^the slot index shows 1 of the 2 bids sealed in slot 2030-01-01T02:00:00Z"):
        covered_book(index, SLOT, 2, pauses.append)
    assert index.reads == INDEX_READS == 6 and pauses == [0.2, 0.4, 0.8, 1.6, 3.2], "6.2 s in all"


def test_the_slot_bidstatus_describes_is_the_first_one_not_sealed():
    zone = ZoneInfo("Asia/Taipei")
    now = datetime(2030, 1, 1, 1, 10, tzinfo=UTC)  # 09:10 local: the next open slot is 10:00 (02:00 UTC)
    asked: list[datetime] = []

    def sealed_until(last_sealed: datetime):
        def sealed(slot: datetime) -> bool:
            asked.append(slot)
            return slot <= last_sealed

        return sealed

    horizon = now + timedelta(days=1)
    assert slots.next_unsealed_slot(now, zone, horizon, sealed_until(SLOT - timedelta(hours=1))) == SLOT
    assert asked == [SLOT], "one marker read when nothing was sealed early"
    asked.clear()
    assert slots.next_unsealed_slot(now, zone, horizon, sealed_until(SLOT + timedelta(hours=2))) == SLOT + timedelta(
        hours=3
    )
    assert asked == [SLOT + timedelta(hours=n) for n in range(4)]
    asked.clear()
    assert (
        slots.next_unsealed_slot(now, zone, SLOT + timedelta(hours=2), sealed_until(SLOT + timedelta(days=9))) is None
    )
    assert len(asked) == 3, "no further than the bidding horizon"


def test_early_is_asked_for_explicitly_for_seal_and_clear_only_with_who_and_why():
    assert slots.early_leave("deliver", None, None, None) is None
    assert slots.early_leave("seal", False, None, None) is None
    assert slots.early_leave("clear", True, "arn:x", " why ") == slots.Leave(by="arn:x", reason="why")
    for job, early, by, reason in [
        ("seal", None, "arn:x", None),  # who without early
        ("seal", False, None, "why"),  # why without early
        ("seal", "yes", "arn:x", "why"),  # early is a bool
        ("settle", True, "arn:x", "why"),  # only seal and clear
        ("seal", True, None, "why"),
        ("clear", True, "arn:x", ""),
    ]:
        with pytest.raises(slots.BadLeave):
            slots.early_leave(job, early, by, reason)
