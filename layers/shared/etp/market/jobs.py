"""The market's scheduled steps for one slot, each idempotent (re-running changes nothing done).

seal    (:40, for the coming slot)  marks the slot sealed (its marker: from then on no bid enters or
        leaves it), then 投標中 -> 已投標, then the sealed bids' digest goes to the audit trail
clear   (:45, for the coming slot)  已投標 -> 已得標 / 未得標, with fills, the price and the pairs, then the
        clearing result goes to the audit trail and the marker notes the slot cleared; a cleared slot
        is never cleared again (a re-run answers the first clearing's result and records nothing)
deliver (:00, for the slot starting) 已得標 -> 執行中
settle  (:05, for the slots that ended) 執行中 -> 結算中, then -> 已結算 once every participant's
        readings reach the slot's end, or SETTLE_DEADLINE after it: achievement from metered data.

seal and clear judge the slot's gate by the real clock (`clock`), not by the time a run is asked to
act as of: before the gate they are refused (TooEarly, nothing written) unless the operator asked
for `early`; an early seal is recorded on the marker and in the sealed-bids record.

Settlement rules: etp.market.settlement (achievement from metered energy, pair by pair); the same
rules re-settle a settled slot when a reading of it is quarantined or released.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Protocol

from etp.audit.trail import Record
from etp.clock import to_utc_iso
from etp.market import bids, clearing, records, settlement, slots
from etp.market.bids import BidPair
from etp.market.slots import SLOT, SlotState
from etp.meters.readings import Readings

SETTLE_DEADLINE = settlement.SETTLE_DEADLINE


class BidStore(Protocol):
    def of_slot(self, slot: datetime) -> list: ...
    def reread(self, book: list) -> list: ...
    def set_status(self, bid, status: str, expected: str) -> bool: ...
    def record_outcome(
        self, bid, *, status: str, expected: str, fill_wh: int, cleared_price_milli: int | None, pairs: tuple
    ) -> bool: ...
    def slot_state(self, slot: datetime) -> SlotState: ...
    def seal_slot(self, slot: datetime, at: datetime, *, early: bool) -> SlotState: ...
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


def runs_early(job: str, slot: datetime, clock: datetime, early: bool) -> bool:
    """Whether a seal or clear of `slot` at `clock` (the real time) is before the slot's gate, which
    only an explicit `early` allows; TooEarly otherwise."""
    if not slots.is_open(slot, clock):
        return False
    if not early:
        gate = to_utc_iso(slots.gate_closure(slot))
        raise TooEarly(f"{job}: the gate of slot {to_utc_iso(slot)} closes at {gate}; before it only with early")
    return True


def _seal(
    store: BidStore, slot: datetime, trail: Trail, now: datetime, clock: datetime, early: bool
) -> tuple[StepReport, list]:
    """Seal the slot (its marker first, so a bid write racing the seal lands before it and is moved, or
    is refused), move its bids and record them; the report, and the sealed bids read back consistently
    (the digest covers each bid exactly as it was sealed)."""
    state = store.seal_slot(slot, clock, early=early)
    report, book = _move(store, slot, "seal", bids.SUBMITTED, bids.SEALED)
    sealed = [b for b in store.reread(book) if b.status != bids.SUBMITTED]
    if sealed:
        record = records.sealed_bids_record(slot, sealed, early=state.early)
        report.details["audit_recorded"] = trail.put(record, now)
    if early:
        report.details["early"] = True
    return report, sealed


def seal(
    store: BidStore, slot: datetime, trail: Trail, now: datetime, *, clock: datetime, early: bool = False
) -> StepReport:
    """Seal the slot; `clock` is the real time, `early` the operator's leave to seal before the gate."""
    ran_early = runs_early("seal", slot, clock, early)
    cleared_at = store.slot_state(slot).cleared_at
    if cleared_at is not None:  # its bids are decided: there is nothing to seal
        return StepReport(job="seal", slot=slot.isoformat(), details={"cleared_at": to_utc_iso(cleared_at)})
    return _seal(store, slot, trail, now, clock, ran_early)[0]


def deliver(store: BidStore, slot: datetime) -> StepReport:
    return _move(store, slot, "deliver", bids.WON, bids.DELIVERING)[0]


def clear(
    store: BidStore, slot: datetime, k: Fraction, trail: Trail, now: datetime, *, clock: datetime, early: bool = False
) -> StepReport:
    """Clear the slot once, over every bid sealed in it (those still 已投標 and, after a run that died
    half way, those already decided: the sealed slot takes no new bid, so a re-run computes the same
    auction and writes only what is missing). Once no bid is left 已投標, the clearing result goes to
    the audit trail and the marker notes the slot cleared; from then on clear only reports that result."""
    ran_early = runs_early("clear", slot, clock, early)
    report = StepReport(job="clear", slot=slot.isoformat())
    state = store.slot_state(slot)
    if state.cleared_at is not None:
        report.details = {**outcome(store.reread(store.of_slot(slot))), "cleared_at": to_utc_iso(state.cleared_at)}
        return report
    # a missed seal run must not leave bids out of the auction
    _, book = _seal(store, slot, trail, now, clock, ran_early)
    if any(b.status == bids.SEALED for b in book):
        report.changed = _clear_book(store, book, k)
    cleared = store.reread(book)
    report.details = outcome(cleared)
    if all(b.status != bids.SEALED for b in cleared):  # decided (or nothing to decide): cleared
        if cleared:
            report.details["audit_recorded"] = trail.put(records.clearing_record(slot, cleared), now)
        store.mark_cleared(slot, clock)
    if ran_early:
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
    result = clearing.clear(
        (
            clearing.Bid(id=b.id, participant=b.user_id, side=b.side, volume_wh=b.volume_wh, price_milli=b.price_milli)
            for b in book
        ),
        k,
    )
    accounts = {b.user_id: b.account for b in book}
    pairs = defaultdict(list)
    for pair in result.pairs:
        pairs[pair.buy_id].append((pair.seller, pair.volume_wh))
        pairs[pair.sell_id].append((pair.buyer, pair.volume_wh))
    changed = 0
    for bid in book:
        if bid.status != bids.SEALED:
            continue
        fill = result.fills[bid.id]
        written = store.record_outcome(
            bid,
            status=bids.WON if fill else bids.LOST,
            expected=bids.SEALED,
            fill_wh=fill,
            cleared_price_milli=result.price_milli,
            pairs=tuple(
                BidPair(counterpart_id=user, counterpart=accounts[user], volume_wh=volume)
                for user, volume in pairs[bid.id]
            ),
        )
        changed += written
    return changed


def settle(store: BidStore, readings: Readings, slot: datetime, now: datetime) -> StepReport:
    """Settle the slot's bids once their readings reach its end (or SETTLE_DEADLINE after it), by the
    rules of etp.market.settlement (which `etp-admin readings quarantine` and release re-apply)."""
    end = slot + SLOT
    report = StepReport(job="settle", slot=slot.isoformat())
    if now < end:
        return report
    report.changed += _move(store, slot, "settle", bids.DELIVERING, bids.SETTLING)[0].changed
    book = [b for b in store.of_slot(slot) if b.status in (bids.SETTLING, bids.SETTLED)]
    settling = [b for b in book if b.status == bids.SETTLING]
    if not settling:
        return report
    achievement, complete = settlement.achievements(readings, book, slot)
    if not complete and now < end + SETTLE_DEADLINE:
        report.details = {"waiting": "readings have not reached the slot's end yet"}
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
