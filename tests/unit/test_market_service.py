"""Submitting, changing and withdrawing bids, against an in-memory bid book: every refusal in the
contract's words, and a store conflict kept as the cause."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from builders import stored_bid

from etp.market import service
from etp.market.bids import SUBMITTED, BidConflict, BidRejected, Offer, SlotSealed, StoredBid

NOW = datetime(2030, 1, 1, 1, 0, tzinfo=UTC)
SLOT = NOW + timedelta(hours=3)  # its gate closes at 02:40
OFFER = Offer(side="buy", slot_start=SLOT, volume_wh=2000, price_milli=3000)


class Book:
    def __init__(self, conflict: bool = False) -> None:
        self.bids: dict[str, StoredBid] = {}
        self.conflict = conflict
        self.sealed: set[datetime] = set()  # slots whose marker says sealed

    def _check(self, *slots: datetime) -> None:
        for slot in slots:
            if slot in self.sealed:
                raise SlotSealed(slot)
        if self.conflict:
            raise BidConflict("ConditionalCheckFailed")

    def get(self, bid_id: str) -> StoredBid | None:
        return self.bids.get(bid_id)

    def create(self, bid: StoredBid) -> None:
        self._check(bid.slot)
        self.bids[bid.id] = bid

    def replace(self, old: StoredBid, new: StoredBid) -> None:
        self._check(old.slot, new.slot)
        self.bids[new.id] = new

    def delete(self, bid: StoredBid) -> None:
        self._check(bid.slot)
        del self.bids[bid.id]


def test_a_submitted_bid_is_open_and_owned_by_its_submitter():
    book = Book()
    bid = service.submit(book, "u1", "Carlab_BEMS", OFFER, NOW)
    assert book.get(bid.id) == bid and (bid.status, bid.user_id, bid.version) == (SUBMITTED, "u1", 0)
    assert service.open_bid_of(book, "u1", bid.id, NOW) == bid


def test_another_users_bid_is_as_unknown_as_a_missing_one():
    book = Book()
    bid = service.submit(book, "u1", "Carlab_BEMS", OFFER, NOW)
    for user_id, bid_id in (("u2", bid.id), ("u1", "no-such-bid")):
        with pytest.raises(BidRejected, match=r"^Invalid ID$"):
            service.open_bid_of(book, user_id, bid_id, NOW)


def test_a_bid_past_its_gate_or_sealed_is_closed():
    book = Book()
    bid = service.submit(book, "u1", "Carlab_BEMS", OFFER, NOW)
    with pytest.raises(BidRejected, match=r"^The bid has been closed$"):
        service.open_bid_of(book, "u1", bid.id, SLOT - timedelta(minutes=20))
    book.bids[bid.id] = replace(bid, status="已投標")
    with pytest.raises(BidRejected, match=r"^The bid has been closed$"):
        service.open_bid_of(book, "u1", bid.id, NOW)


def test_a_change_bumps_the_version_and_a_withdrawal_removes_the_bid():
    book = Book()
    bid = service.submit(book, "u1", "Carlab_BEMS", OFFER, NOW)
    changed = service.change(book, bid, replace(OFFER, side="sell", volume_wh=500), NOW + timedelta(minutes=1))
    assert (changed.side, changed.volume_wh, changed.version) == ("sell", 500, 1) and book.get(bid.id) == changed
    service.withdraw(book, changed)
    assert book.get(bid.id) is None


@pytest.mark.parametrize(
    ("step", "words"),
    [
        (
            lambda book, bid: service.submit(book, "u1", "Carlab_BEMS", OFFER, NOW),
            "You already have a bid of the other type in this slot",
        ),
        (
            lambda book, bid: service.change(book, bid, OFFER, NOW),
            "The bid changed meanwhile, or that slot has a bid of the other type",
        ),
        (lambda book, bid: service.withdraw(book, bid), "The bid has been closed"),
    ],
)
def test_a_store_conflict_is_refused_in_the_contracts_words_with_its_cause(step, words):
    book = Book()
    bid = service.submit(book, "u1", "Carlab_BEMS", OFFER, NOW)
    book.conflict = True
    with pytest.raises(BidRejected) as refused:
        step(book, bid)
    assert str(refused.value) == words and isinstance(refused.value.__cause__, BidConflict)
    assert book.bids == {bid.id: bid}, "nothing changed"


def test_a_sealed_slot_refuses_bids_in_the_contracts_closed_words_whatever_the_clock():
    book = Book()
    bid = service.submit(book, "u1", "Carlab_BEMS", OFFER, NOW)
    elsewhere = service.submit(book, "u2", "NCKU_BEMS", replace(OFFER, slot_start=SLOT + timedelta(hours=1)), NOW)
    book.sealed.add(SLOT)  # sealed early: by the clock, the slot is still open
    for step, words in (
        (lambda: service.submit(book, "u3", "ABRI_BEMS", OFFER, NOW), "The bidding for this slot has closed"),
        (lambda: service.change(book, bid, replace(OFFER, volume_wh=1), NOW), "The bid has been closed"),
        (lambda: service.change(book, elsewhere, OFFER, NOW), "The bidding for this slot has closed"),  # moving in
        (lambda: service.withdraw(book, bid), "The bid has been closed"),
    ):
        with pytest.raises(BidRejected) as refused:
            step()
        assert str(refused.value) == words and isinstance(refused.value.__cause__, SlotSealed)
    assert book.bids == {bid.id: bid, elsewhere.id: elsewhere}, "nothing changed"


def _bid(bid_id: str, side: str, slot: datetime, price_milli: int, user_id: str = "u1") -> StoredBid:
    return stored_bid(id=bid_id, user_id=user_id, account="A_BEMS", side=side, slot=slot, kwh=1,
                      price_milli=price_milli, uploaded_at=NOW)  # fmt: skip


def test_open_bids_of_a_side_come_by_slot_then_in_merit_order():
    later = SLOT + timedelta(hours=1)
    mine = [
        _bid("d", "buy", later, 9000),
        _bid("c", "buy", SLOT, 1000),
        _bid("b", "buy", SLOT, 5000),
        _bid("a", "buy", SLOT, 5000),
        _bid("s", "sell", SLOT, 1000),
        _bid("old", "buy", NOW, 9000),  # started: no longer listed
    ]
    assert [b.id for b in service.open_bids_of_side(mine, "buy", NOW)] == ["a", "b", "c", "d"]
    sells = [_bid("y", "sell", SLOT, 3000), _bid("x", "sell", SLOT, 3000), _bid("z", "sell", SLOT, 1000)]
    assert [b.id for b in service.open_bids_of_side(sells, "sell", NOW)] == ["z", "x", "y"]


def test_the_next_open_book_skips_slots_sealed_early():
    from etp.market.slots import SlotState

    class Slots:
        def slot_state(self, slot: datetime) -> SlotState:
            return SlotState(sealed_at=NOW) if slot == NOW + timedelta(hours=1) else SlotState()

        def of_slot(self, slot: datetime) -> list[StoredBid]:
            return [_bid(slot.isoformat(), "buy", slot, 1000)]

    zone = ZoneInfo("UTC")
    (bid,) = service.next_open_book(Slots(), NOW, zone, timedelta(days=1))
    assert bid.slot == NOW + timedelta(hours=2)  # 01:00 is past its gate, 02:00 sealed early
    assert service.next_open_book(Slots(), NOW, zone, timedelta(minutes=30)) == []
