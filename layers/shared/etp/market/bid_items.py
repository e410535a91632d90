"""The bids table's items and keys (PynamoDB), and how they read as the market's values.

Table `BIDS_TABLE`, hash key `id`:
- bid items, with GSI `by-user-week` (`user_week` = `<user id>#<ISO week of the slot, UTC>`,
  `slot_key` = `<slot start UTC>#<id>`: a user's bids of a time window, a Query per week it spans,
  for /matchresult, or of one slot, for /homepage when its latest wins may not hold all of the
  current slot's; a partition holds a week, not the user's whole history, which the emulators sort
  and filter on every Query), GSI `by-slot` (`slot`, `id`: every bid of a slot, for the market jobs
  and /bidstatus), the sparse `by-user-open` (`open_user` = `<user id>#<side>`, `open_key` =
  `<slot start UTC>#<price priority>#<id>`: a user's bids of one side from their create until their
  slot starts, in the GET /bidsubmit list's order, so a Query with `Limit` reads a page), and the
  unread `by-user-slot` and the sparse `by-user-won` (`won_by`), no longer read nor written, which
  the next two versions remove, one each (CloudFormation changes one GSI of a table per update). Bids written before
  `by-user-week` existed get their keys from the migration `0003_bids_week_keys` (`etp-admin
  migrate`, run by `make run` and after every deployment);
- latest-wins lists `wins#<user id>` (in no index): the index keys of the user's HOMEPAGE_WINS newest
  won bids, newest first, and a `version`. The outcome that makes a bid won (a bid never leaves the
  won statuses after) and the list's update are one transaction, conditional on the list's version,
  so /homepage reads one item and a BatchGet however long the history. Won bids written before the
  lists existed join them through the migration `0004_bids_latest_wins`;
- open-list counts `open#<user id>#<side>` (in no index): how many bids the user's `by-user-open`
  partition of that side holds (`open_bids`), moved only in the transaction that lists a bid or
  takes it off (etp.market.store); open bids written before the lists existed join them through
  the migration `0006_bids_open_lists`;
- side guards `side#<user id>#<slot>` (no GSI attributes, so in no index) holding the side a user
  bids on in a slot and how many open bids it has: a participant never has both a buy and a sell
  in one slot, even when two requests race;
- slot markers `slot#<slot start UTC>` (in no index either): how many bids the slot holds
  (`bid_count`), when the slot was sealed (`sealed_at`; `early` if before its gate, with the
  operator's `sealed_by` and `seal_reason`) and cleared (`cleared_at`; an early clear's `cleared_by`
  and `clear_reason`).

How a store writes and reads them: etp.market.store (bids, markers and guards) and
etp.market.win_lists (the latest-wins lists).
"""

from datetime import UTC, datetime, timedelta

from pynamodb.attributes import BooleanAttribute, ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from etp.clock import from_utc_iso, to_utc_iso
from etp.dynamo import TableModel, table_meta
from etp.market.bids import MAX_PRICE_NTD, BidPair, StoredBid
from etp.market.slots import Leave, SlotState

MAX_PRICE_MILLI = MAX_PRICE_NTD * 1000


class PairAttribute(MapAttribute):
    counterpart_id = UnicodeAttribute()
    counterpart = UnicodeAttribute()
    volume_wh = NumberAttribute()
    achievement = NumberAttribute(null=True)
    settlement_milli = NumberAttribute(null=True)


class _BySlot(GlobalSecondaryIndex["BidModel"]):
    class Meta:
        index_name = "by-slot"
        projection = AllProjection()

    slot = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)


class _ByUserWeek(GlobalSecondaryIndex["BidModel"]):
    class Meta:
        index_name = "by-user-week"
        projection = AllProjection()

    user_week = UnicodeAttribute(hash_key=True)
    slot_key = UnicodeAttribute(range_key=True)


class _ByUserOpen(GlobalSecondaryIndex["BidModel"]):
    class Meta:
        index_name = "by-user-open"
        projection = AllProjection()

    open_user = UnicodeAttribute(hash_key=True)
    open_key = UnicodeAttribute(range_key=True)


class BidModel(TableModel):
    Meta = table_meta("bids_table")

    id = UnicodeAttribute(hash_key=True)
    # bid items
    user_id = UnicodeAttribute(null=True)
    account = UnicodeAttribute(null=True)
    side = UnicodeAttribute(null=True)
    slot = UnicodeAttribute(null=True)
    slot_key = UnicodeAttribute(null=True)
    user_week = UnicodeAttribute(null=True)
    volume_wh = NumberAttribute(null=True)
    price_milli = NumberAttribute(null=True)
    status = UnicodeAttribute(null=True)
    uploaded_at = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)
    fill_wh = NumberAttribute(null=True)
    cleared_price_milli = NumberAttribute(null=True)
    pairs = ListAttribute(of=PairAttribute, null=True)
    seal_tx = UnicodeAttribute(null=True)  # audit-trail transactions of the slot's sealed bids and clearing
    clear_tx = UnicodeAttribute(null=True)
    counted = BooleanAttribute(null=True)  # in its slot marker's bid_count (bids written since it exists)
    open_user = UnicodeAttribute(null=True)  # `by-user-open` keys: only while its slot has not started
    open_key = UnicodeAttribute(null=True)
    # side guards (how many open bids the user has in the slot) and open-list counts (how many bids
    # the user's `by-user-open` partition of a side holds)
    open_bids = NumberAttribute(null=True)
    # latest-wins lists (and `version`)
    won_keys = ListAttribute[str](null=True)  # untyped elements: strings stored as S
    # slot markers
    sealed_at = UnicodeAttribute(null=True)
    early = BooleanAttribute(null=True)
    cleared_at = UnicodeAttribute(null=True)
    bid_count = NumberAttribute(null=True)
    sealed_by = UnicodeAttribute(null=True)  # an early seal's operator (AWS identity) and reason
    seal_reason = UnicodeAttribute(null=True)
    cleared_by = UnicodeAttribute(null=True)  # an early clear's
    clear_reason = UnicodeAttribute(null=True)
    # markers and guards: the TTL (epoch seconds, etp.retention); bids never carry it
    expires_at = NumberAttribute(null=True)

    by_slot = _BySlot()
    by_user_week = _ByUserWeek()
    by_user_open = _ByUserOpen()


def week_key(user_id: str, slot: datetime) -> str:
    """A bid's `by-user-week` partition: its owner and the ISO week (UTC) its slot starts in."""
    year, week, _ = slot.astimezone(UTC).isocalendar()
    return f"{user_id}#{year}-W{week:02d}"


def weeks(start: datetime, end: datetime) -> list[datetime]:
    """A moment in each ISO week (UTC) that [start, end] touches, oldest first."""
    monday = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    monday -= timedelta(days=monday.weekday())
    weeks = []
    while monday <= end:
        weeks.append(monday)
        monday += timedelta(weeks=1)
    return weeks


def bid_slot_key(bid: StoredBid) -> str:
    return f"{to_utc_iso(bid.slot)}#{bid.id}"


def open_user(user_id: str, side: str) -> str:
    """A bid's `by-user-open` partition: its owner and its side (the list is of one side)."""
    return f"{user_id}#{side}"


def open_key(bid: StoredBid) -> str:
    """A bid's `by-user-open` sort key, in the list's order: its slot, its price priority (buy: the
    highest price first; sell: the lowest), then its id, as the merit order breaks ties
    (etp.market.merit.merit_order); the price a fixed width of digits, so text order is number order."""
    price = MAX_PRICE_MILLI - bid.price_milli if bid.side == "buy" else bid.price_milli
    return f"{to_utc_iso(bid.slot)}#{min(max(price, 0), MAX_PRICE_MILLI):06d}#{bid.id}"


def open_count_key(user_id: str, side: str) -> str:
    return f"open#{user_id}#{side}"


def wins_key(user_id: str) -> str:
    return f"wins#{user_id}"


def guard_key(user_id: str, slot: datetime) -> str:
    return f"side#{user_id}#{to_utc_iso(slot)}"


def marker_key(slot: datetime) -> str:
    return f"slot#{to_utc_iso(slot)}"


def _leave(by: str | None, reason: str | None) -> Leave | None:
    return Leave(by=by, reason=reason or "") if by else None


def to_state(item: BidModel) -> SlotState:
    return SlotState(
        sealed_at=from_utc_iso(item.sealed_at) if item.sealed_at else None,
        early=bool(item.early),
        cleared_at=from_utc_iso(item.cleared_at) if item.cleared_at else None,
        bids=int(item.bid_count or 0),
        sealed_by=_leave(item.sealed_by, item.seal_reason),
        cleared_by=_leave(item.cleared_by, item.clear_reason),
    )


def to_bid(item: BidModel) -> StoredBid:
    return StoredBid(
        id=item.id,
        user_id=_text(item.user_id),
        account=_text(item.account),
        side=_text(item.side),
        slot=from_utc_iso(_text(item.slot)),
        volume_wh=_whole(item.volume_wh),
        price_milli=_whole(item.price_milli),
        status=_text(item.status),
        uploaded_at=from_utc_iso(_text(item.uploaded_at)),
        version=_whole(item.version),
        fill_wh=_whole(item.fill_wh),
        cleared_price_milli=_whole_or_none(item.cleared_price_milli),
        pairs=tuple(_to_pair(p) for p in item.pairs or []),
        seal_tx=item.seal_tx,
        clear_tx=item.clear_tx,
        counted=bool(item.counted),
        listed=item.open_key is not None,
    )


def _text(value: str | None) -> str:
    return value or ""


def _whole(value: float | None) -> int:
    return int(value or 0)


def _whole_or_none(value: float | None) -> int | None:
    return None if value is None else int(value)


def _to_pair(stored: PairAttribute) -> BidPair:
    return BidPair(
        counterpart_id=stored.counterpart_id,
        counterpart=stored.counterpart,
        volume_wh=int(stored.volume_wh),
        achievement=None if stored.achievement is None else float(stored.achievement),
        settlement_milli=_whole_or_none(stored.settlement_milli),
    )


def pair_attribute(pair: BidPair) -> PairAttribute:
    return PairAttribute(
        counterpart_id=pair.counterpart_id,
        counterpart=pair.counterpart,
        volume_wh=pair.volume_wh,
        achievement=pair.achievement,
        settlement_milli=pair.settlement_milli,
    )


def bid_item(bid: StoredBid, *, counted: bool, listed: bool = False) -> BidModel:
    """The bid's item; `listed`: in its owner's open list (`by-user-open`), as a bid is from its
    create until its slot starts."""
    return BidModel(
        id=bid.id,
        user_id=bid.user_id,
        account=bid.account,
        side=bid.side,
        slot=to_utc_iso(bid.slot),
        slot_key=bid_slot_key(bid),
        user_week=week_key(bid.user_id, bid.slot),
        volume_wh=bid.volume_wh,
        price_milli=bid.price_milli,
        status=bid.status,
        uploaded_at=to_utc_iso(bid.uploaded_at),
        version=bid.version,
        counted=True if counted else None,  # in its slot's count: absent on bids from before the count
        open_user=open_user(bid.user_id, bid.side) if listed else None,
        open_key=open_key(bid) if listed else None,
    )
