"""DynamoDB storage of bids (PynamoDB). Imported on first use.

Table `BIDS_TABLE`, hash key `id`:
- bid items, with GSI `by-user-week` (`user_week` = `<user id>#<ISO week of the slot, UTC>`,
  `slot_key` = `<slot start UTC>#<id>`: a user's bids of a time window, a Query per week it spans,
  for the GET /bidsubmit list and /matchresult, or of one slot, for /homepage when its latest wins
  may not hold all of the current slot's; a partition holds a week, not the user's whole history,
  which the emulators sort and filter on every Query), GSI `by-slot` (`slot`, `id`: every bid of a
  slot, for the market jobs and /bidstatus), and the sparse `by-user-won` (`won_by`), no longer read
  nor written, which the next version removes (CloudFormation changes one GSI of a table per
  update). Bids written before `by-user-week` existed get their keys from the migration
  `0003_bids_week_keys` (`etp-admin migrate`, run by `make run` and after every deployment);
- latest-wins lists `wins#<user id>` (in no index): the index keys of the user's HOMEPAGE_WINS newest
  won bids, newest first, and a `version`. The outcome that makes a bid won (a bid never leaves the
  won statuses after) and the list's update are one transaction, conditional on the list's version,
  so /homepage reads one item and a BatchGet however long the history. Won bids written before the
  lists existed join them through the migration `0004_bids_latest_wins`;
- side guards `side#<user id>#<slot>` (no GSI attributes, so in no index) holding the side a user
  bids on in a slot and how many open bids it has: a participant never has both a buy and a sell
  in one slot, even when two requests race;
- slot markers `slot#<slot start UTC>` (in no index either): how many bids the slot holds
  (`bid_count`), when the slot was sealed (`sealed_at`; `early` if before its gate, with the
  operator's `sealed_by` and `seal_reason`) and cleared (`cleared_at`; an early clear's `cleared_by`
  and `clear_reason`).
Every change of a bid is conditional on its owner, its status (投標中) and its version, so two
concurrent edits, or an edit racing the seal job, leave it fully before or fully after. Every
create, edit and delete also updates, in the same transaction, the slot's marker (both slots, for
an edit that moves the bid), conditional on its having no `sealed_at`: it adds the bid to the
marker's `bid_count` (or takes it off). The seal job writes `sealed_at` before it moves any bid, so
no bid enters or leaves a sealed slot, whenever and however it was sealed, and the sealed marker's
count is exactly the slot's bids (those written since the count exists: `counted` on the bid),
which the seal waits to see in the eventually consistent `by-slot` index (etp.market.jobs).
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pynamodb.attributes import BooleanAttribute, ListAttribute, MapAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.transactions import TransactWrite

from etp.clock import from_utc_iso, to_utc_iso
from etp.dynamo import TableModel, conditional, failed_conditions, lost_a_race, retry_races, table_meta
from etp.market.bids import SUBMITTED, WON_STATUSES, BidConflict, BidPair, SlotSealed, StoredBid, newest_wins
from etp.market.slots import Leave, SlotState
from etp.retention import GUARDS_KEPT, MARKERS_KEPT, expires_at


class _PairAttribute(MapAttribute):
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
    pairs = ListAttribute(of=_PairAttribute, null=True)
    seal_tx = UnicodeAttribute(null=True)  # audit-trail transactions of the slot's sealed bids and clearing
    clear_tx = UnicodeAttribute(null=True)
    counted = BooleanAttribute(null=True)  # in its slot marker's bid_count (bids written since it exists)
    # side guards
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


LIST_ATTEMPTS = 5  # writes of a latest-wins list that may find it changed meanwhile


def week_key(user_id: str, slot: datetime) -> str:
    """A bid's `by-user-week` partition: its owner and the ISO week (UTC) its slot starts in."""
    year, week, _ = slot.astimezone(UTC).isocalendar()
    return f"{user_id}#{year}-W{week:02d}"


def _weeks(start: datetime, end: datetime) -> list[datetime]:
    """A moment in each ISO week (UTC) that [start, end] touches, oldest first."""
    monday = start.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    monday -= timedelta(days=monday.weekday())
    weeks = []
    while monday <= end:
        weeks.append(monday)
        monday += timedelta(weeks=1)
    return weeks


def _slot_key(bid: StoredBid) -> str:
    return f"{to_utc_iso(bid.slot)}#{bid.id}"


def _wins_key(user_id: str) -> str:
    return f"wins#{user_id}"


def _guard_key(user_id: str, slot: datetime) -> str:
    return f"side#{user_id}#{to_utc_iso(slot)}"


def _marker_key(slot: datetime) -> str:
    return f"slot#{to_utc_iso(slot)}"


def _leave(by: str | None, reason: str | None) -> Leave | None:
    return Leave(by=by, reason=reason or "") if by else None


def _to_state(item: BidModel) -> SlotState:
    return SlotState(
        sealed_at=from_utc_iso(item.sealed_at) if item.sealed_at else None,
        early=bool(item.early),
        cleared_at=from_utc_iso(item.cleared_at) if item.cleared_at else None,
        bids=int(item.bid_count or 0),
        sealed_by=_leave(item.sealed_by, item.seal_reason),
        cleared_by=_leave(item.cleared_by, item.clear_reason),
    )


def _to_bid(item: BidModel) -> StoredBid:
    return StoredBid(
        id=item.id,
        user_id=item.user_id or "",
        account=item.account or "",
        side=item.side or "",
        slot=from_utc_iso(item.slot or ""),
        volume_wh=int(item.volume_wh or 0),
        price_milli=int(item.price_milli or 0),
        status=item.status or "",
        uploaded_at=from_utc_iso(item.uploaded_at or ""),
        version=int(item.version or 0),
        fill_wh=int(item.fill_wh or 0),
        cleared_price_milli=None if item.cleared_price_milli is None else int(item.cleared_price_milli),
        pairs=tuple(
            BidPair(
                counterpart_id=p.counterpart_id,
                counterpart=p.counterpart,
                volume_wh=int(p.volume_wh),
                achievement=None if p.achievement is None else float(p.achievement),
                settlement_milli=None if p.settlement_milli is None else int(p.settlement_milli),
            )
            for p in (item.pairs or [])
        ),
        seal_tx=item.seal_tx,
        clear_tx=item.clear_tx,
        counted=bool(item.counted),
    )


def _claim_side(transaction: TransactWrite, user_id: str, slot: datetime, side: str) -> None:
    guard = BidModel(_guard_key(user_id, slot))
    transaction.update(
        guard,
        actions=[
            BidModel.side.set(side),
            BidModel.open_bids.add(1),
            BidModel.expires_at.set(expires_at(slot, GUARDS_KEPT)),
        ],
        condition=BidModel.side.does_not_exist() | (BidModel.side == side) | (BidModel.open_bids == 0),
    )


def _release_side(transaction: TransactWrite, user_id: str, slot: datetime) -> None:
    transaction.update(
        BidModel(_guard_key(user_id, slot)), actions=[BidModel.open_bids.add(-1)], condition=BidModel.open_bids > 0
    )


def _open_bid_condition(bid: StoredBid):
    return (BidModel.user_id == bid.user_id) & (BidModel.status == SUBMITTED) & (BidModel.version == bid.version)


class DynamoBidStore:
    def _connection(self):
        return BidModel._get_connection().connection

    def get(self, bid_id: str) -> StoredBid | None:
        try:
            item = BidModel.get(bid_id, consistent_read=True)
        except DoesNotExist:
            return None
        return _to_bid(item) if item.user_id else None  # a guard key is no bid

    def _write_bid(self, counts: list[tuple[datetime, int]], build: Callable[[TransactWrite], None]) -> None:
        """One transaction: each slot of `counts` is not sealed, and its marker's bid count moves by
        the number given (a marker is created by its slot's first bid), and what `build` adds.
        Refused: SlotSealed for a sealed slot (the first of `counts`, read back after a refused
        condition), else BidConflict. A transaction that only lost a race (every bid of a slot updates
        its marker) is tried again."""

        def attempt() -> None:
            with TransactWrite(connection=self._connection()) as transaction:
                for slot, delta in counts:
                    transaction.update(
                        BidModel(_marker_key(slot)),
                        actions=[BidModel.bid_count.add(delta)],
                        condition=BidModel.sealed_at.does_not_exist(),
                    )
                build(transaction)

        try:
            retry_races(attempt)
        except TransactWriteError as error:
            if any(failed_conditions(error)):
                for slot, _ in counts:
                    if self.slot_state(slot).sealed_at is not None:
                        raise SlotSealed(slot) from None
            raise BidConflict(f"{error.cause_response_code}: {error.cause}") from None

    def create(self, bid: StoredBid) -> None:
        def build(transaction: TransactWrite) -> None:
            _claim_side(transaction, bid.user_id, bid.slot, bid.side)
            transaction.save(_bid_item(bid, counted=True), condition=BidModel.id.does_not_exist())

        self._write_bid([(bid.slot, 1)], build)

    def replace(self, old: StoredBid, new: StoredBid) -> None:
        """Swap an open bid's offer (maybe its slot or side), only if nobody changed it meanwhile. A bid
        that moves leaves its old slot's count (if it was in it) and joins the new one's."""
        moves = new.slot != old.slot

        def build(transaction: TransactWrite) -> None:
            if old.slot != new.slot:
                _release_side(transaction, old.user_id, old.slot)
                _claim_side(transaction, new.user_id, new.slot, new.side)
            elif old.side != new.side:  # the same guard: switch sides only if this is its only bid
                transaction.update(
                    BidModel(_guard_key(old.user_id, old.slot)),
                    actions=[BidModel.side.set(new.side)],
                    condition=(BidModel.side == old.side) & (BidModel.open_bids == 1),
                )
            transaction.save(_bid_item(new, counted=moves or old.counted), condition=_open_bid_condition(old))

        self._write_bid([(old.slot, -int(old.counted)), (new.slot, 1)] if moves else [(old.slot, 0)], build)

    def delete(self, bid: StoredBid) -> None:
        def build(transaction: TransactWrite) -> None:
            _release_side(transaction, bid.user_id, bid.slot)
            transaction.delete(BidModel(bid.id), condition=_open_bid_condition(bid))

        self._write_bid([(bid.slot, -int(bid.counted))], build)

    def slot_state(self, slot: datetime) -> SlotState:
        """What the slot's marker says, read consistently."""
        try:
            return _to_state(BidModel.get(_marker_key(slot), consistent_read=True))
        except DoesNotExist:
            return SlotState()

    def seal_slot(self, slot: datetime, at: datetime, *, leave: Leave | None = None) -> SlotState:
        """Mark the slot sealed, from now on refusing every bid write in it; `leave`: an operator's
        early seal (who, why). The first seal wins (its time and leave stay). The slot's state after,
        read consistently: its count is then final."""
        marker = BidModel(_marker_key(slot))
        actions: list[Action] = [
            BidModel.sealed_at.set(to_utc_iso(at)),
            BidModel.early.set(leave is not None),
            BidModel.expires_at.set(expires_at(slot, MARKERS_KEPT)),
        ]
        if leave is not None:
            actions += [BidModel.sealed_by.set(leave.by), BidModel.seal_reason.set(leave.reason)]
        retry_races(
            lambda: conditional(lambda: marker.update(actions=actions, condition=BidModel.sealed_at.does_not_exist()))
        )
        return self.slot_state(slot)

    def note_early_clear(self, slot: datetime, leave: Leave) -> SlotState:
        """Note on the sealed slot's marker who clears it before its gate, and why (once: the first
        early clear's leave stays, as its clearing record names it); the slot's state after."""
        conditional(
            lambda: BidModel(_marker_key(slot)).update(
                actions=[BidModel.cleared_by.set(leave.by), BidModel.clear_reason.set(leave.reason)],
                condition=BidModel.sealed_at.exists()
                & BidModel.cleared_at.does_not_exist()
                & BidModel.cleared_by.does_not_exist(),
            )
        )
        return self.slot_state(slot)

    def mark_cleared(self, slot: datetime, at: datetime) -> None:
        """Note that the sealed slot is cleared (once: a later call changes nothing)."""
        conditional(
            lambda: BidModel(_marker_key(slot)).update(
                actions=[BidModel.cleared_at.set(to_utc_iso(at))],
                condition=BidModel.sealed_at.exists() & BidModel.cleared_at.does_not_exist(),
            )
        )

    def set_status(self, bid: StoredBid, status: str, expected: str) -> bool:
        """Move one bid on (e.g. 投標中 -> 已投標); False when it is not in `expected` any more."""
        return conditional(
            lambda: BidModel(bid.id).update(
                actions=[BidModel.status.set(status), BidModel.version.add(1)], condition=(BidModel.status == expected)
            )
        )

    def record_outcome(
        self,
        bid: StoredBid,
        *,
        status: str,
        expected: str,
        fill_wh: int,
        cleared_price_milli: int | None,
        pairs: tuple[BidPair, ...],
    ) -> bool:
        """Write a clearing or settlement outcome, only if the bid is still in `expected`."""
        stored_pairs = [
            _PairAttribute(
                counterpart_id=p.counterpart_id,
                counterpart=p.counterpart,
                volume_wh=p.volume_wh,
                achievement=p.achievement,
                settlement_milli=p.settlement_milli,
            )
            for p in pairs
        ]
        price = (
            BidModel.cleared_price_milli.remove()
            if cleared_price_milli is None
            else BidModel.cleared_price_milli.set(cleared_price_milli)
        )
        won = status in WON_STATUSES and fill_wh > 0
        actions: list[Action] = [
            BidModel.status.set(status),
            BidModel.version.add(1),
            BidModel.fill_wh.set(fill_wh),
            price,
            BidModel.pairs.set(stored_pairs),
        ]
        condition = BidModel.status == expected
        if won and expected not in WON_STATUSES:  # it enters the won statuses, which it never leaves
            return self._add_wins(bid.user_id, [_slot_key(bid)], outcome=(bid.id, actions, condition))
        return conditional(lambda: BidModel(bid.id).update(actions=actions, condition=condition))

    def _add_wins(
        self, user_id: str, keys: list[str], outcome: tuple[str, list[Action], Condition] | None = None
    ) -> bool:
        """Put won bids (their index keys) on the user's latest-wins list, conditional on the list's
        version, and write `outcome` (a bid's id, update and condition) in the same transaction; True
        when written. False when `outcome`'s condition failed (then nothing is written) or, without
        an outcome, when the list already had them. A list changed meanwhile (another of the user's
        bids won) is read again and the transaction retried, up to LIST_ATTEMPTS times."""
        for attempt in range(1, LIST_ATTEMPTS + 1):
            listed, version = self._wins_list(user_id)
            merged = newest_wins(listed, keys)
            if outcome is None and merged == listed:
                return False
            try:
                with TransactWrite(connection=self._connection()) as transaction:
                    if outcome is not None:
                        bid_id, actions, condition = outcome
                        transaction.update(BidModel(bid_id), actions=actions, condition=condition)
                    # an update, not a put: PynamoDB sends a transaction's puts before its updates, and
                    # the cancellation reasons come in the order sent (the bid's first)
                    transaction.update(
                        BidModel(_wins_key(user_id)),
                        actions=[BidModel.won_keys.set(merged), BidModel.version.set(version + 1)],
                        condition=BidModel.version.does_not_exist() if version == 0 else BidModel.version == version,
                    )
                return True
            except TransactWriteError as error:
                refused = failed_conditions(error)
                if outcome is not None and refused[:1] == [True]:
                    return False
                if attempt == LIST_ATTEMPTS or not (any(refused) or lost_a_race(error)):
                    raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _wins_list(self, user_id: str, *, consistent: bool = True) -> tuple[list[str], int]:
        """A user's latest-wins list (index keys, newest first) and its version (0: none yet)."""
        try:
            item = BidModel.get(_wins_key(user_id), consistent_read=consistent)
        except DoesNotExist:
            return [], 0
        return list(item.won_keys or []), int(item.version or 0)

    def of_user_between(self, user_id: str, start: datetime, end: datetime) -> list[StoredBid]:
        """A user's bids whose slot starts in [start, end], oldest first: a Query of each week's
        partition, reading exactly those bids."""
        condition = BidModel.slot_key.between(to_utc_iso(start), f"{to_utc_iso(end)}#~")
        return [
            _to_bid(item)
            for week in _weeks(start, end)
            for item in BidModel.by_user_week.query(week_key(user_id, week), range_key_condition=condition)
        ]

    def of_user_in_slot(self, user_id: str, slot: datetime) -> list[StoredBid]:
        """A user's bids of one slot (reads exactly those: the slot is the key's prefix)."""
        condition = BidModel.slot_key.startswith(f"{to_utc_iso(slot)}#")
        query = BidModel.by_user_week.query(week_key(user_id, slot), range_key_condition=condition)
        return [_to_bid(item) for item in query]

    def latest_won_of_user(self, user_id: str, count: int) -> list[StoredBid]:
        """A user's `count` (at most HOMEPAGE_WINS) newest won bids (won, delivering, settling or
        settled, with a fill), newest slot first: its latest-wins list (one GetItem) and those bids
        (one BatchGet), however long the user's history."""
        ids = [key.rpartition("#")[2] for key in self._wins_list(user_id, consistent=False)[0][:count]]
        found = {item.id: _to_bid(item) for item in BidModel.batch_get(ids)} if ids else {}
        return [found[bid_id] for bid_id in ids if bid_id in found]

    def of_slot(self, slot: datetime) -> list[StoredBid]:
        return [_to_bid(i) for i in BidModel.by_slot.query(to_utc_iso(slot))]

    def reread(self, book: list[StoredBid]) -> list[StoredBid]:
        """The same bids, read consistently (the slot index is only eventually consistent)."""
        return [_to_bid(i) for i in BidModel.batch_get([b.id for b in book], consistent_read=True)]

    def set_audit_hash(self, slot: datetime, step: str, tx_hash: str) -> None:
        """Note the audit transaction of a slot's `seal` or `clear` step on each bid it covers."""
        attribute = BidModel.seal_tx if step == "seal" else BidModel.clear_tx
        for bid in self.of_slot(slot):
            if bid.status != SUBMITTED:
                BidModel(bid.id).update(actions=[attribute.set(tx_hash)], condition=BidModel.id.exists())


def _bid_item(bid: StoredBid, *, counted: bool) -> BidModel:
    return BidModel(
        id=bid.id,
        user_id=bid.user_id,
        account=bid.account,
        side=bid.side,
        slot=to_utc_iso(bid.slot),
        slot_key=_slot_key(bid),
        user_week=week_key(bid.user_id, bid.slot),
        volume_wh=bid.volume_wh,
        price_milli=bid.price_milli,
        status=bid.status,
        uploaded_at=to_utc_iso(bid.uploaded_at),
        version=bid.version,
        counted=True if counted else None,  # in its slot's count: absent on bids from before the count
    )
