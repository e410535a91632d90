"""Bid rules of the hourly market, and the bid record. Pure logic: no HTTP, no AWS.

Volumes are kept as integer Wh and prices as integer milli-NT$ per kWh, so clearing and
settlement are exact. A bid's slot must be exactly one local hour, still open (its gate closes at
H-1:40) and within the bidding horizon (it starts at most `horizon` after now); volume and price
must be finite, positive and within sane maxima.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from etp.market import slots
from etp.numbers import BadNumber, thousandths

SUBMITTED, SEALED, WON, LOST = "投標中", "已投標", "已得標", "未得標"
DELIVERING, SETTLING, SETTLED = "執行中", "結算中", "已結算"
STATUSES = (SUBMITTED, SEALED, WON, LOST, DELIVERING, SETTLING, SETTLED)
# A won bid keeps winning as it moves on through delivery and settlement.
WON_STATUSES = (WON, DELIVERING, SETTLING, SETTLED)
SIDES = ("buy", "sell")

MAX_VOLUME_KWH = 10_000  # 10 MWh in one hour: beyond any building on this market
MAX_PRICE_NTD = 100  # NT$/kWh: ~30x the grid tariff
# How many won bids a user's latest-wins list holds (the home page shows them), newest first.
HOMEPAGE_WINS = 10


class BidRejected(Exception):
    """The contract's `description`: why a bid cannot be accepted."""


BIDDING_CLOSED = "The bidding for this slot has closed"  # a new offer for a closed (or sealed) slot
BID_CLOSED = "The bid has been closed"  # a change to a bid that is sealed, or whose slot is


class BidConflict(Exception):
    """A store's condition failed: the side rule, or the bid changed (status, version, owner) meanwhile."""


class SlotSealed(BidConflict):
    """The slot `slot` (UTC start) is sealed: no bid enters or leaves it, whatever the clock says."""

    def __init__(self, slot: datetime) -> None:
        super().__init__(f"slot {slot.isoformat()} is sealed")
        self.slot = slot


@dataclass(frozen=True)
class Offer:
    side: str
    slot_start: datetime  # aware, local
    volume_wh: int
    price_milli: int


def offer(
    *,
    bid_type: object,
    start_time: object,
    end_time: object,
    value: object,
    price: object,
    now: datetime,
    zone: ZoneInfo,
    horizon: timedelta,
) -> Offer:
    if bid_type not in SIDES:
        raise BidRejected("bid_type must be buy or sell")
    try:
        start = slots.parse_dh(start_time, zone)
        end = slots.parse_dh(end_time, zone)
    except slots.BadSlotTime as problem:
        raise BidRejected(f"start_time/end_time: {problem}") from None
    if end - start != slots.SLOT:
        raise BidRejected("end_time must be one hour after start_time")
    if not slots.is_open(start, now):
        raise BidRejected(BIDDING_CLOSED)
    if start - now > horizon:
        raise BidRejected(f"start_time: the slot is more than {horizon.days} days ahead (the bidding horizon)")
    try:
        volume_wh, price_milli = thousandths("value", value, MAX_VOLUME_KWH), thousandths("price", price, MAX_PRICE_NTD)
    except BadNumber as why:
        raise BidRejected(str(why)) from None
    return Offer(side=str(bid_type), slot_start=start, volume_wh=volume_wh, price_milli=price_milli)


@dataclass(frozen=True)
class BidPair:
    """One counterpart of a cleared bid, and (once settled) how that pair settled."""

    counterpart_id: str
    counterpart: str  # account
    volume_wh: int
    achievement: float | None = None
    settlement_milli: int | None = None


@dataclass(frozen=True)
class StoredBid:
    id: str
    user_id: str
    account: str
    side: str
    slot: datetime  # UTC start of the slot
    volume_wh: int
    price_milli: int
    status: str
    uploaded_at: datetime
    version: int
    fill_wh: int = 0
    cleared_price_milli: int | None = None
    pairs: tuple[BidPair, ...] = ()
    seal_tx: str | None = None  # audit-trail transaction of the slot's sealed bids
    clear_tx: str | None = None  # ... and of its clearing result
    counted: bool = True  # in its slot's bid count (False: written before the count existed)
    listed: bool = True  # in its owner's open list and count (False: its slot started, or from before the list)


def newest_wins(listed: Iterable[str], won: Iterable[str]) -> list[str]:
    """A user's latest-wins list once the bids `won` join it (all as index keys `<slot>#<id>`, which
    sort by slot): its HOMEPAGE_WINS newest, newest first, each once."""
    return sorted(set(listed) | set(won), reverse=True)[:HOMEPAGE_WINS]


def won_in_slot(latest: list[StoredBid], slot: datetime) -> list[StoredBid] | None:
    """A user's won bids of `slot`, from its latest won bids (newest slot first, at most
    HOMEPAGE_WINS): all of them are there unless the list is full and reaches no older slot; then
    None (more may be left out)."""
    if len(latest) >= HOMEPAGE_WINS and latest[-1].slot >= slot:
        return None
    return [b for b in latest if b.slot == slot]
