"""What a participant does with bids: submit, change and withdraw their own, list them, and see the
book of the next slot open for bidding.

Every refusal is a BidRejected whose text is the contract's `description`; a store conflict that
caused it stays attached as its `__cause__`, for the log.
"""

import uuid
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from etp.market import slots
from etp.market.bids import (
    BID_CLOSED,
    BIDDING_CLOSED,
    HOMEPAGE_WINS,
    SUBMITTED,
    BidConflict,
    BidRejected,
    Offer,
    SlotSealed,
    StoredBid,
    won_in_slot,
)
from etp.market.merit import merit_order
from etp.market.slots import SlotState


class BidBook(Protocol):
    def get(self, bid_id: str) -> StoredBid | None: ...
    def create(self, bid: StoredBid) -> None: ...
    def replace(self, old: StoredBid, new: StoredBid) -> None: ...
    def delete(self, bid: StoredBid) -> None: ...


class SlotReader(Protocol):
    def slot_state(self, slot: datetime) -> SlotState: ...
    def of_slot(self, slot: datetime) -> list[StoredBid]: ...


def open_bids_of_side(mine: Iterable[StoredBid], side: str, now: datetime) -> list[StoredBid]:
    """A user's bids of one side whose slot has not started at `now`: by slot, then in merit order."""
    buys, sells = merit_order(b for b in mine if b.side == side and b.slot > now)
    return sorted(buys if side == "buy" else sells, key=lambda b: b.slot)  # stable: merit order within a slot


def next_open_book(book: SlotReader, now: datetime, zone: ZoneInfo, horizon: timedelta) -> list[StoredBid]:
    """The bids of the next slot still open for bidding: the first slot from now on whose marker is not
    sealed, within the bidding horizon (none when every one is)."""

    def sealed(slot: datetime) -> bool:
        return book.slot_state(slot).sealed_at is not None

    slot = slots.next_unsealed_slot(now, zone, now + horizon, sealed)
    return book.of_slot(slot) if slot is not None else []


class UserBook(Protocol):
    def latest_won_of_user(self, user_id: str, count: int) -> list[StoredBid]: ...
    def of_user_in_slot(self, user_id: str, slot: datetime) -> list[StoredBid]: ...


def homepage_bids(
    book: UserBook, user_id: str, now: datetime, zone: ZoneInfo
) -> tuple[list[StoredBid], list[StoredBid]]:
    """(the user's HOMEPAGE_WINS latest won bids, newest slot first; its bids of the slot being delivered
    now, or only its won ones): the latest won bids hold the current slot's unless all of them are of
    that slot or later; only then are the slot's bids read too."""
    current_slot = now.astimezone(zone).replace(minute=0, second=0, microsecond=0)
    latest = book.latest_won_of_user(user_id, HOMEPAGE_WINS)
    current = won_in_slot(latest, current_slot)
    return latest, book.of_user_in_slot(user_id, current_slot) if current is None else current


def open_bid_of(book: BidBook, user_id: str, bid_id: str, now: datetime) -> StoredBid:
    """The user's bid `bid_id`, still open for changes."""
    bid = book.get(bid_id)
    if bid is None or bid.user_id != user_id:
        raise BidRejected("Invalid ID")  # another user's bid is as unknown as a missing one
    if bid.status != SUBMITTED or not slots.is_open(bid.slot, now):
        raise BidRejected(BID_CLOSED)
    return bid


def submit(book: BidBook, user_id: str, account: str, offer: Offer, now: datetime) -> StoredBid:
    bid = StoredBid(
        id=str(uuid.uuid4()),
        user_id=user_id,
        account=account,
        side=offer.side,
        slot=offer.slot_start,
        volume_wh=offer.volume_wh,
        price_milli=offer.price_milli,
        status=SUBMITTED,
        uploaded_at=now,
        version=0,
    )
    try:
        book.create(bid)
    except SlotSealed as sealed:  # sealed before its gate: closed however the clock reads
        raise BidRejected(BIDDING_CLOSED) from sealed
    except BidConflict as conflict:
        raise BidRejected("You already have a bid of the other type in this slot") from conflict
    return bid


def change(book: BidBook, bid: StoredBid, offer: Offer, now: datetime) -> StoredBid:
    new = replace(
        bid,
        side=offer.side,
        slot=offer.slot_start,
        volume_wh=offer.volume_wh,
        price_milli=offer.price_milli,
        uploaded_at=now,
        version=bid.version + 1,
    )
    try:
        book.replace(bid, new)
    except SlotSealed as sealed:  # the bid's own slot, or the one it would move into
        raise BidRejected(BID_CLOSED if sealed.slot == bid.slot else BIDDING_CLOSED) from sealed
    except BidConflict as conflict:
        raise BidRejected("The bid changed meanwhile, or that slot has a bid of the other type") from conflict
    return new


def withdraw(book: BidBook, bid: StoredBid) -> None:
    try:
        book.delete(bid)
    except BidConflict as conflict:
        raise BidRejected(BID_CLOSED) from conflict
