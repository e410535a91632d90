"""The open lists (`by-user-open`) and their counts, which answer GET /bidsubmit: each count stays the
number of bids its list holds through every write that moves a bid in or out (create, edit,
withdraw, the deliver and settle jobs once the slot started), and a refused or repeated write moves
neither (on moto)."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from builders import SLOT, placed_bid, stored_bid
from helpers import FakeLambdaContext, load_function

from etp.market import bids
from etp.market.bid_items import BidModel, open_count_key
from etp.market.bids import BidConflict, SlotSealed
from etp.market.store import DynamoBidStore

jobs_function = load_function("market_jobs")
NEXT = SLOT + timedelta(hours=1)


@pytest.fixture
def store(aws, frozen_clock) -> DynamoBidStore:
    return DynamoBidStore()


def counts(user: str) -> dict[str, int]:
    """Each side's count, checked against the bids its list holds (a Scan: no index under test)."""
    found = {}
    for side in bids.SIDES:
        try:
            counted = int(BidModel.get(open_count_key(user, side), consistent_read=True).open_bids or 0)
        except BidModel.DoesNotExist:
            counted = 0
        held = sum(1 for _ in BidModel.scan(BidModel.open_user == f"{user}#{side}"))
        assert counted == held, (side, counted, held)
        found[side] = counted
    return found


def listed(store: DynamoBidStore, user: str, side: str, now: datetime) -> tuple[list[str], int]:
    page, total = store.open_page(user, side, now, 0, 100)
    return [b.id for b in page], total


def test_create_edit_and_withdraw_move_the_count_with_the_bid(store, frozen_clock):
    now = frozen_clock.now
    cheap, dear = placed_bid(price=2.0), placed_bid(price=3.0)
    later = placed_bid(slot=NEXT, price=9.0)
    assert counts("u-1") == {"buy": 3, "sell": 0}
    assert listed(store, "u-1", "buy", now) == ([dear.id, cheap.id, later.id], 3), "by slot, highest price first"

    cheaper = replace(cheap, price_milli=1_000, version=cheap.version + 1)
    store.replace(cheap, cheaper)  # the same side: it stays listed, in its new place
    assert counts("u-1") == {"buy": 3, "sell": 0}
    moved = replace(later, side="sell", slot=SLOT + timedelta(hours=2), version=later.version + 1)
    store.replace(later, moved)  # another side and slot: it leaves the buys' list for the sells'
    assert counts("u-1") == {"buy": 2, "sell": 1}
    assert listed(store, "u-1", "buy", now) == ([dear.id, cheap.id], 2)
    assert listed(store, "u-1", "sell", now) == ([later.id], 1)

    store.delete(store.get(dear.id))
    assert counts("u-1") == {"buy": 1, "sell": 1}
    assert listed(store, "u-1", "buy", now) == ([cheap.id], 1)


def test_a_refused_or_repeated_write_moves_no_count(store, frozen_clock):
    bid = placed_bid()
    with pytest.raises(BidConflict):
        store.create(bid)  # a retry of the same create: the bid exists
    edited = replace(bid, price_milli=4_000, version=1)
    store.replace(bid, edited)
    with pytest.raises(BidConflict):
        store.replace(bid, replace(bid, side="sell", version=1))  # a stale version
    with pytest.raises(BidConflict):
        store.delete(bid)  # the same stale version
    store.seal_slot(NEXT, frozen_clock.now)
    with pytest.raises(SlotSealed):
        store.create(stored_bid(slot=NEXT))
    with pytest.raises(SlotSealed):
        store.replace(edited, replace(edited, slot=NEXT, version=2))
    assert counts("u-1") == {"buy": 1, "sell": 0}
    assert store.get(bid.id) == edited


def test_a_bid_taken_off_its_list_cannot_be_withdrawn_into_a_negative_count(store, frozen_clock):
    bid = placed_bid()
    read = store.get(bid.id)
    assert store.unlist(read)
    assert not store.unlist(read), "once"
    with pytest.raises(BidConflict):
        store.delete(read)  # read while listed: its condition says so
    assert counts("u-1") == {"buy": 0, "sell": 0}


def run(job: str, now: str) -> dict:
    event = {"job": job, "slot": "2030-01-01T10:00:00", "now": now}
    return jobs_function.lambda_handler(event, FakeLambdaContext())["results"][0]


def test_sealed_and_cleared_bids_stay_listed_until_their_slot_starts(store, frozen_clock):
    frozen_clock.now = datetime(2030, 1, 1, 1, 45, tzinfo=UTC)  # past the slot's gate
    seller, buyer, loser = (
        placed_bid(user_id="A", side="sell", price=2.0),
        placed_bid(user_id="B", price=3.0),
        placed_bid(user_id="C", price=1.0),
    )
    other = placed_bid(user_id="B", slot=NEXT)
    run("seal", "2030-01-01T09:45:00")
    run("clear", "2030-01-01T09:45:00")
    assert {b.id: b.status for b in store.of_slot(SLOT)} == {
        seller.id: bids.WON,
        buyer.id: bids.WON,
        loser.id: bids.LOST,
    }
    assert [counts(user) for user in "ABC"] == [{"buy": 0, "sell": 1}, {"buy": 2, "sell": 0}, {"buy": 1, "sell": 0}]
    assert listed(store, "B", "buy", frozen_clock.now) == ([buyer.id, other.id], 2), "any status, until it starts"

    frozen_clock.now = SLOT + timedelta(minutes=1)  # started, the deliver run not yet done
    assert listed(store, "B", "buy", frozen_clock.now) == ([other.id], 1)
    assert run("deliver", "2030-01-01T10:00:00")["unlisted"] == 3
    assert "unlisted" not in run("deliver", "2030-01-01T10:00:00"), "once"
    assert [counts(user) for user in "ABC"] == [{"buy": 0, "sell": 0}, {"buy": 1, "sell": 0}, {"buy": 0, "sell": 0}]
    assert listed(store, "B", "buy", frozen_clock.now) == ([other.id], 1)


def test_settle_takes_off_what_a_missed_deliver_left_listed(store, frozen_clock):
    placed_bid(user_id="A", side="sell", price=2.0)
    frozen_clock.now = SLOT - timedelta(minutes=1)
    assert "unlisted" not in run("deliver", "2030-01-01T09:59:00"), "before the slot starts nothing leaves"
    assert counts("A") == {"buy": 0, "sell": 1}
    frozen_clock.now = SLOT + timedelta(hours=1, minutes=5)
    assert run("settle", "2030-01-01T11:05:00")["unlisted"] == 1
    assert counts("A") == {"buy": 0, "sell": 0}


def test_an_operators_run_with_a_later_now_leaves_a_slot_to_come_listed(store, frozen_clock):
    """The README tour runs deliver and settle for tomorrow's slot (settle with --now after it): GET
    /bidsubmit lists a bid until its slot starts by the real clock, so its owner still sees it there."""
    placed_bid(user_id="A", side="sell", price=2.0)
    frozen_clock.now = SLOT - timedelta(hours=20)
    for job in ("deliver", "settle"):
        assert "unlisted" not in run(job, "2030-01-01T11:05:00"), job
    assert counts("A") == {"buy": 0, "sell": 1}
    assert listed(store, "A", "sell", frozen_clock.now)[1] == 1
