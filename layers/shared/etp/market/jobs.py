"""The market's scheduled steps for one slot, each idempotent (re-running changes nothing done).

seal    (:40, for the coming slot)  marks the slot sealed (its marker: from then on no bid enters or
        leaves it, and its bid count is final), reads the slot's bids until the slot index shows every
        bid counted (covered_book), then 投標中 -> 已投標, then the sealed bids' digest goes to the
        audit trail
clear   (:45, for the coming slot)  seals first if no seal ran, then over the same bids 已投標 -> 已得標 /
        未得標, with fills, the price and the pairs; once none is left 投標中 or 已投標, the clearing
        result goes to the audit trail and the marker notes the slot cleared; a cleared slot is never
        cleared again (a re-run answers the first clearing's result and records nothing)
deliver (:00, for the slot starting) 已得標 -> 執行中, and once the slot has started every bid of it
        leaves its owner's open list (GET /bidsubmit) and the list's count
settle  (:05, for the slots that ended) 執行中 -> 結算中, then -> 已結算 once every participant's
        readings reach the slot's end, or SETTLE_DEADLINE after it: achievement from metered data;
        a bid of those slots still on its open list (a deliver run missed) leaves it.

seal and clear judge the slot's gate by the real clock (`clock`), not by the time a run is asked to
act as of: before the gate they are refused (TooEarly, nothing written) unless the operator asked
for `early`, which names the operator and their reason (a slots.Leave); an early seal's or clear's
leave is recorded on the marker and in its audit record (sealed-bids, clearing).

Index lag: the slot index (`by-slot`) is eventually consistent, so a bid accepted just before the
seal may be missing from its first reads. Every bid write counts the bid on the slot's marker in the
transaction that checks the marker, so the sealed marker knows how many bids the slot holds; seal
reads the index (each bid again, consistently) until it shows them all, pausing longer each time,
and raises IndexLag after INDEX_READS reads. Then nothing but the marker is written (no bid moved,
no record): the slot stays sealed, and the job's retry or an operator's re-run resumes it.

Settlement rules: etp.market.settlement (achievement from metered energy, pair by pair); the same
rules re-settle a settled slot when a reading of it is quarantined or released.
"""

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Protocol

from etp.audit.trail import Record
from etp.clock import to_utc_iso
from etp.market import bids, clearing, records, settlement, slots
from etp.market.bids import BidPair
from etp.market.slots import SLOT, Leave, SlotState
from etp.meters.readings import Readings

SETTLE_DEADLINE = settlement.SETTLE_DEADLINE


class SlotBook(Protocol):
    def of_slot(self, slot: datetime) -> list: ...  # the slot index: eventually consistent
    def reread(self, book: list) -> list: ...  # the same bids, read consistently (gone ones left out)


class BidStore(SlotBook, Protocol):
    def set_status(self, bid, status: str, expected: str) -> bool: ...
    def unlist(self, bid) -> bool: ...
    def record_outcome(
        self, bid, *, status: str, expected: str, fill_wh: int, cleared_price_milli: int | None, pairs: tuple
    ) -> bool: ...
    def slot_state(self, slot: datetime) -> SlotState: ...
    def seal_slot(self, slot: datetime, at: datetime, *, leave: Leave | None = None) -> SlotState: ...
    def note_early_clear(self, slot: datetime, leave: Leave) -> SlotState: ...
    def mark_cleared(self, slot: datetime, at: datetime) -> None: ...


class Trail(Protocol):
    def put(self, record: Record, now: datetime) -> bool: ...


@dataclass
class StepReport:
    job: str
    slot: str
    changed: int = 0
    details: dict = field(default_factory=dict)


def _move(store: BidStore, slot: datetime, job: str, source: str, target: str) -> tuple[StepReport, list]:
    """Move the slot's bids from `source` to `target`; the report, and the bids as read before."""
    report = StepReport(job=job, slot=slot.isoformat())
    book = store.of_slot(slot)
    for bid in book:
        if bid.status == source and store.set_status(bid, target, expected=source):
            report.changed += 1
    return report, book


class TooEarly(Exception):
    """A seal or clear of a slot whose gate has not passed, without the operator's explicit `early`."""


class IndexLag(Exception):
    """The slot index did not show every bid the sealed slot's marker counts within INDEX_READS reads."""


INDEX_READS = 6  # reads of the slot index before IndexLag, the pauses between them doubling:
FIRST_PAUSE = 0.2  # seconds: 0.2 + 0.4 + ... + 3.2 = 6.2 s in all, against a lag of well under a second

Sleep = Callable[[float], None]


def runs_early(job: str, slot: datetime, clock: datetime, early: Leave | None) -> Leave | None:
    """The operator's leave when a seal or clear of `slot` at `clock` (the real time) is before the
    slot's gate, which only an explicit leave (`early`) allows; TooEarly otherwise. None at or after
    the gate, when no leave is needed."""
    if not slots.is_open(slot, clock):
        return None
    if early is None:
        gate = to_utc_iso(slots.gate_closure(slot))
        raise TooEarly(f"{job}: the gate of slot {to_utc_iso(slot)} closes at {gate}; before it only with early")
    return early


def covered_book(store: SlotBook, slot: datetime, counted: int, sleep: Sleep | None = None) -> tuple[list, int]:
    """Every bid of the sealed slot, read consistently, and how many index reads that took. The slot
    index is read, each bid it shows read again consistently (dropping bids deleted or moved out
    meanwhile), until the bids counted on the marker (`counted`, final once sealed) are all there:
    those read are then exactly the slot's counted bids. IndexLag after INDEX_READS reads."""
    pause, shown = FIRST_PAUSE, 0
    for read in range(1, INDEX_READS + 1):
        book = [b for b in store.reread(store.of_slot(slot)) if b.slot == slot]
        shown = sum(1 for b in book if b.counted)
        if shown >= counted:
            return book, read
        if read < INDEX_READS:
            (sleep or time.sleep)(pause)
            pause *= 2
    raise IndexLag(
        f"the slot index shows {shown} of the {counted} bids sealed in slot {to_utc_iso(slot)} "
        f"after {INDEX_READS} reads; nothing moved, the slot stays sealed: run the step again"
    )


def _seal(
    store: BidStore,
    slot: datetime,
    trail: Trail,
    now: datetime,
    clock: datetime,
    leave: Leave | None,
    sleep: Sleep | None,
) -> tuple[StepReport, list]:
    """Seal the slot (its marker first, so a bid write racing the seal lands before it, counted, and is
    moved, or is refused), move every bid it counts and record them; the report, and the sealed bids
    read back consistently (the digest covers each bid exactly as it was sealed)."""
    state = store.seal_slot(slot, clock, leave=leave)
    book, reads = covered_book(store, slot, state.bids, sleep)
    report = StepReport(job="seal", slot=slot.isoformat())
    for bid in book:
        if bid.status == bids.SUBMITTED and store.set_status(bid, bids.SEALED, expected=bids.SUBMITTED):
            report.changed += 1
    sealed = store.reread(book)
    if sealed:
        record = records.sealed_bids_record(slot, sealed, early=state.early, leave=state.sealed_by)
        report.details["audit_recorded"] = trail.put(record, now)
    if reads > 1:
        report.details["index_reads"] = reads
    if leave is not None:
        report.details["early"] = True
    return report, sealed


def seal(
    store: BidStore,
    slot: datetime,
    trail: Trail,
    now: datetime,
    *,
    clock: datetime,
    early: Leave | None = None,
    sleep: Sleep | None = None,
) -> StepReport:
    """Seal the slot; `clock` is the real time, `early` the operator's leave to seal before the gate."""
    leave = runs_early("seal", slot, clock, early)
    cleared_at = store.slot_state(slot).cleared_at
    if cleared_at is not None:  # its bids are decided: there is nothing to seal
        return StepReport(job="seal", slot=slot.isoformat(), details={"cleared_at": to_utc_iso(cleared_at)})
    return _seal(store, slot, trail, now, clock, leave, sleep)[0]


def _move_then_unlist(
    store: BidStore, slot: datetime, clock: datetime, job: str, source: str, target: str
) -> StepReport:
    """_move, then take the slot's bids still listed off their owners' open lists once the slot has
    started by the real clock: GET /bidsubmit lists a bid until then, whatever its status, so an
    operator's run for a slot to come (deliver, or settle with a later `now`) leaves them listed."""
    report, book = _move(store, slot, job, source, target)
    if slot <= clock:
        unlisted = sum(store.unlist(bid) for bid in book if bid.listed and bid.slot == slot)
        if unlisted:
            report.details["unlisted"] = unlisted
    return report


def deliver(store: BidStore, slot: datetime, now: datetime, *, clock: datetime) -> StepReport:
    """Move the slot's won bids to delivering; `clock` is the real time."""
    return _move_then_unlist(store, slot, clock, "deliver", bids.WON, bids.DELIVERING)


def clear(
    store: BidStore,
    slot: datetime,
    k: Fraction,
    trail: Trail,
    now: datetime,
    *,
    clock: datetime,
    early: Leave | None = None,
    sleep: Sleep | None = None,
) -> StepReport:
    """Clear the slot once, over every bid sealed in it (those still 已投標 and, after a run that died
    half way, those already decided: the sealed slot takes no new bid, so a re-run computes the same
    auction and writes only what is missing). Once no bid is left 投標中 or 已投標, the clearing result
    goes to the audit trail and the marker notes the slot cleared; from then on clear only reports
    that result. An early clear's leave goes on the marker first (the first one stays) and into the
    clearing record."""
    leave = runs_early("clear", slot, clock, early)
    report = StepReport(job="clear", slot=slot.isoformat())
    state = store.slot_state(slot)
    if state.cleared_at is not None:
        book, _ = covered_book(store, slot, state.bids, sleep)
        report.details = {**outcome(book), "cleared_at": to_utc_iso(state.cleared_at)}
        return report
    # a missed seal run must not leave bids out of the auction: the seal's book is the clearing's
    _, book = _seal(store, slot, trail, now, clock, leave, sleep)
    if leave is not None:
        state = store.note_early_clear(slot, leave)
    if any(b.status == bids.SEALED for b in book):
        report.changed = _clear_book(store, book, k)
    cleared = store.reread(book)
    report.details = outcome(cleared)
    if all(b.status not in (bids.SUBMITTED, bids.SEALED) for b in cleared):  # decided, or nothing to decide
        if cleared:
            record = records.clearing_record(slot, cleared, leave=state.cleared_by)
            report.details["audit_recorded"] = trail.put(record, now)
        store.mark_cleared(slot, clock)
    if leave is not None:
        report.details["early"] = True
    return report


def outcome(book: list) -> dict:
    """A slot's clearing as its decided bids hold it: the volume traded, the price, how many pairs."""
    decided = [b for b in book if b.status not in (bids.SUBMITTED, bids.SEALED)]
    return {
        "volume_wh": sum(b.fill_wh for b in decided if b.side == "buy"),
        "price_milli": next((b.cleared_price_milli for b in decided if b.cleared_price_milli is not None), None),
        "pairs": sum(len(b.pairs) for b in decided if b.side == "buy"),
    }


def _clear_book(store: BidStore, book: list, k: Fraction) -> int:
    """Run the auction over the book and write the outcome of each bid still 已投標; how many were written."""
    result = clearing.auction(
        [
            clearing.Bid(id=b.id, participant=b.user_id, side=b.side, volume_wh=b.volume_wh, price_milli=b.price_milli)
            for b in book
        ],
        k,
    )
    accounts = {b.user_id: b.account for b in book}
    pairs = defaultdict(list)  # by the bid's position in the book: its counterparts and volumes, in pair order
    columns = (result.pair_buys.tolist(), result.pair_sells.tolist(), result.pair_volumes.tolist())
    for buy, sell, volume in zip(*columns, strict=True):
        pairs[buy].append((book[sell].user_id, volume))
        pairs[sell].append((book[buy].user_id, volume))
    fills = result.fills.tolist()
    changed = 0
    for position, bid in enumerate(book):
        if bid.status != bids.SEALED:
            continue
        fill = fills[position]
        written = store.record_outcome(
            bid,
            status=bids.WON if fill else bids.LOST,
            expected=bids.SEALED,
            fill_wh=fill,
            cleared_price_milli=result.price_milli,
            pairs=tuple(
                BidPair(counterpart_id=user, counterpart=accounts[user], volume_wh=volume)
                for user, volume in pairs[position]
            ),
        )
        changed += written
    return changed


def settle(store: BidStore, readings: Readings, slot: datetime, now: datetime, *, clock: datetime) -> StepReport:
    """Settle the slot's bids once their readings reach its end (or SETTLE_DEADLINE after it), by the
    rules of etp.market.settlement (which `etp-admin readings quarantine` and release re-apply);
    `clock` is the real time."""
    end = slot + SLOT
    report = StepReport(job="settle", slot=slot.isoformat())
    if now < end:
        return report
    report = _move_then_unlist(store, slot, clock, "settle", bids.DELIVERING, bids.SETTLING)
    book = [b for b in store.of_slot(slot) if b.status in (bids.SETTLING, bids.SETTLED)]
    settling = [b for b in book if b.status == bids.SETTLING]
    if not settling:
        return report
    achievement, complete = settlement.achievements(readings, book, slot)
    if not complete and now < end + SETTLE_DEADLINE:
        report.details["waiting"] = "readings have not reached the slot's end yet"
        return report
    for bid in settling:
        report.changed += store.record_outcome(
            bid,
            status=bids.SETTLED,
            expected=bids.SETTLING,
            fill_wh=bid.fill_wh,
            cleared_price_milli=bid.cleared_price_milli,
            pairs=settlement.settled_pairs(bid, achievement),
        )
    return report
