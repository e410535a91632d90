"""DynamoDB storage of bids (PynamoDB): the bids, the slots' markers and the side guards. Imported
on first use. The table's items and keys: etp.market.bid_items; the latest-wins lists that
/homepage reads: etp.market.win_lists.

Every change of a bid is conditional on its owner, its status (投標中) and its version, so two
concurrent edits, or an edit racing the seal job, leave it fully before or fully after. Every
create, edit and delete also updates, in the same transaction, the slot's marker (both slots, for
an edit that moves the bid), conditional on its having no `sealed_at`: it adds the bid to the
marker's `bid_count` (or takes it off). The seal job writes `sealed_at` before it moves any bid, so
no bid enters or leaves a sealed slot, whenever and however it was sealed, and the sealed marker's
count is exactly the slot's bids (those written since the count exists: `counted` on the bid),
which the seal waits to see in the eventually consistent `by-slot` index (etp.market.jobs).

The open lists (GET /bidsubmit): a create lists the bid and counts it on its owner's open-list count
of its side; an edit keeps it listed (moving the count between sides if it switches); a delete takes
it off; `unlist` (the deliver and settle jobs, once its slot started) takes it off too. Each in the
transaction that moves the bid, conditional on the bid as read, whether it is listed included, so
the count moves exactly once per bid that enters or leaves.
"""

from collections.abc import Callable
from datetime import datetime

from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from etp.clock import to_utc_iso
from etp.dynamo import conditional, failed_conditions, retry_races
from etp.market import win_lists
from etp.market.bid_items import (
    BidModel,
    bid_item,
    bid_slot_key,
    guard_key,
    marker_key,
    open_count_key,
    open_user,
    pair_attribute,
    to_bid,
    to_state,
    week_key,
    weeks,
)
from etp.market.bids import SUBMITTED, WON_STATUSES, BidConflict, BidPair, SlotSealed, StoredBid
from etp.market.slots import Leave, SlotState
from etp.retention import GUARDS_KEPT, MARKERS_KEPT, expires_at

__all__ = ["BidModel", "DynamoBidStore", "StoredBid", "week_key"]  # the names importers used before the split


def _claim_side(transaction: TransactWrite, user_id: str, slot: datetime, side: str) -> None:
    guard = BidModel(guard_key(user_id, slot))
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
        BidModel(guard_key(user_id, slot)), actions=[BidModel.open_bids.add(-1)], condition=BidModel.open_bids > 0
    )


def _open_bid_condition(bid: StoredBid):
    """The bid as read: its owner, open, its version, and in its owner's open list or not (so the
    list's count moves only in the write that moves the bid in or out)."""
    listed = BidModel.open_key.exists() if bid.listed else BidModel.open_key.does_not_exist()
    return (
        (BidModel.user_id == bid.user_id) & (BidModel.status == SUBMITTED) & (BidModel.version == bid.version) & listed
    )


def _count_open(transaction: TransactWrite, user_id: str, side: str, delta: int) -> None:
    """Move the user's open-list count of `side` (in the transaction that lists or unlists a bid)."""
    transaction.update(BidModel(open_count_key(user_id, side)), actions=[BidModel.open_bids.add(delta)])


def _open_moves(old: StoredBid | None, new: StoredBid | None) -> list[tuple[str, str, int]]:
    """(user, side, delta) of the open-list counts when `old` (None: a create) becomes `new` (None: a
    delete); the new bid is always listed, the old one counted only if it was."""
    moves: dict[tuple[str, str], int] = {}
    if old is not None and old.listed:
        moves[(old.user_id, old.side)] = -1
    if new is not None:
        moves[(new.user_id, new.side)] = moves.get((new.user_id, new.side), 0) + 1
    return [(user, side, delta) for (user, side), delta in moves.items() if delta]


class DynamoBidStore:
    def _connection(self):
        return BidModel._get_connection().connection

    def get(self, bid_id: str) -> StoredBid | None:
        try:
            item = BidModel.get(bid_id, consistent_read=True)
        except DoesNotExist:
            return None
        return to_bid(item) if item.user_id else None  # a guard key is no bid

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
                        BidModel(marker_key(slot)),
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
            _count_open(transaction, bid.user_id, bid.side, 1)
            transaction.save(bid_item(bid, counted=True, listed=True), condition=BidModel.id.does_not_exist())

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
                    BidModel(guard_key(old.user_id, old.slot)),
                    actions=[BidModel.side.set(new.side)],
                    condition=(BidModel.side == old.side) & (BidModel.open_bids == 1),
                )
            for user, side, delta in _open_moves(old, new):
                _count_open(transaction, user, side, delta)
            transaction.save(
                bid_item(new, counted=moves or old.counted, listed=True), condition=_open_bid_condition(old)
            )

        self._write_bid([(old.slot, -int(old.counted)), (new.slot, 1)] if moves else [(old.slot, 0)], build)

    def delete(self, bid: StoredBid) -> None:
        def build(transaction: TransactWrite) -> None:
            _release_side(transaction, bid.user_id, bid.slot)
            for user, side, delta in _open_moves(bid, None):
                _count_open(transaction, user, side, delta)
            transaction.delete(BidModel(bid.id), condition=_open_bid_condition(bid))

        self._write_bid([(bid.slot, -int(bid.counted))], build)

    def slot_state(self, slot: datetime) -> SlotState:
        """What the slot's marker says, read consistently."""
        try:
            return to_state(BidModel.get(marker_key(slot), consistent_read=True))
        except DoesNotExist:
            return SlotState()

    def seal_slot(self, slot: datetime, at: datetime, *, leave: Leave | None = None) -> SlotState:
        """Mark the slot sealed, from now on refusing every bid write in it; `leave`: an operator's
        early seal (who, why). The first seal wins (its time and leave stay). The slot's state after,
        read consistently: its count is then final."""
        marker = BidModel(marker_key(slot))
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
            lambda: BidModel(marker_key(slot)).update(
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
            lambda: BidModel(marker_key(slot)).update(
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
        stored_pairs = [pair_attribute(p) for p in pairs]
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
            return win_lists.add_wins(bid.user_id, [bid_slot_key(bid)], outcome=(bid.id, actions, condition))
        return conditional(lambda: BidModel(bid.id).update(actions=actions, condition=condition))

    def of_user_between(self, user_id: str, start: datetime, end: datetime) -> list[StoredBid]:
        """A user's bids whose slot starts in [start, end], oldest first: a Query of each week's
        partition, reading exactly those bids."""
        condition = BidModel.slot_key.between(to_utc_iso(start), f"{to_utc_iso(end)}#~")
        return [
            to_bid(item)
            for week in weeks(start, end)
            for item in BidModel.by_user_week.query(week_key(user_id, week), range_key_condition=condition)
        ]

    def open_page(self, user_id: str, side: str, now: datetime, first: int, count: int) -> tuple[list[StoredBid], int]:
        """(the user's open bids of `side` number `first` to `first + count` - 1, counting from 0, in
        the list's order: by slot, then price priority, then id; how many the list holds). Reads the
        list's count (one GetItem) and, unless it is 0, the `by-user-open` partition from its start up
        to the page's end (one Query, `Limit` first + count; 1 for a page past the end). A bid of a
        slot that started and is still listed (none once the deliver job ran: it takes them off)
        sorts before the rest: it is read too, and left out of the page and the count."""
        try:
            listed = int(BidModel.get(open_count_key(user_id, side)).open_bids or 0)
        except DoesNotExist:
            listed = 0
        if listed <= 0:
            return [], 0
        need, now_key = (first + count if first < listed else 1), f"{to_utc_iso(now)}#~"
        shown, started = [], 0
        for item in BidModel.by_user_open.query(open_user(user_id, side), page_size=need):
            if (item.open_key or "") < now_key:
                started += 1
                continue
            shown.append(item)
            if len(shown) >= need:
                break  # the started ones sort first: all of them are counted
        return [to_bid(item) for item in shown[first : first + count]], max(listed - started, 0)

    def unlist(self, bid: StoredBid) -> bool:
        """Take a bid whose slot started off its owner's open list, and its count, in one transaction
        conditional on its still being listed in this side and slot (a re-run, or a bid moved
        meanwhile, changes nothing); True when it was taken off."""

        def attempt() -> None:
            with TransactWrite(connection=self._connection()) as transaction:
                transaction.update(
                    BidModel(bid.id),
                    actions=[BidModel.open_user.remove(), BidModel.open_key.remove()],
                    condition=(BidModel.open_user == open_user(bid.user_id, bid.side))
                    & BidModel.open_key.startswith(f"{to_utc_iso(bid.slot)}#"),
                )
                _count_open(transaction, bid.user_id, bid.side, -1)

        try:
            retry_races(attempt)
        except TransactWriteError as error:
            if any(failed_conditions(error)):
                return False
            raise
        return True

    def of_user_in_slot(self, user_id: str, slot: datetime) -> list[StoredBid]:
        """A user's bids of one slot (reads exactly those: the slot is the key's prefix)."""
        condition = BidModel.slot_key.startswith(f"{to_utc_iso(slot)}#")
        query = BidModel.by_user_week.query(week_key(user_id, slot), range_key_condition=condition)
        return [to_bid(item) for item in query]

    def latest_won_of_user(self, user_id: str, count: int) -> list[StoredBid]:
        """A user's `count` (at most HOMEPAGE_WINS) newest won bids (won, delivering, settling or
        settled, with a fill), newest slot first: its latest-wins list (one GetItem) and those bids
        (one BatchGet), however long the user's history."""
        ids = [key.rpartition("#")[2] for key in win_lists.wins_list(user_id, consistent=False)[0][:count]]
        found = {item.id: to_bid(item) for item in BidModel.batch_get(ids)} if ids else {}
        return [found[bid_id] for bid_id in ids if bid_id in found]

    def of_slot(self, slot: datetime) -> list[StoredBid]:
        return [to_bid(i) for i in BidModel.by_slot.query(to_utc_iso(slot))]

    def reread(self, book: list[StoredBid]) -> list[StoredBid]:
        """The same bids, read consistently (the slot index is only eventually consistent)."""
        return [to_bid(i) for i in BidModel.batch_get([b.id for b in book], consistent_read=True)]

    def set_audit_hash(self, slot: datetime, step: str, tx_hash: str) -> None:
        """Note the audit transaction of a slot's `seal` or `clear` step on each bid it covers."""
        attribute = BidModel.seal_tx if step == "seal" else BidModel.clear_tx
        for bid in self.of_slot(slot):
            if bid.status != SUBMITTED:
                BidModel(bid.id).update(actions=[attribute.set(tx_hash)], condition=BidModel.id.exists())
