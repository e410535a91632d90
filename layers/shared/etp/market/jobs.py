"""The market's scheduled steps for one slot, each idempotent (re-running changes nothing done).

seal    (:40, for the coming slot)  投標中 -> 已投標, then the sealed bids' digest goes to the audit trail
clear   (:45, for the coming slot)  已投標 -> 已得標 / 未得標, with fills, the price and the pairs, then the
        clearing result goes to the audit trail
deliver (:00, for the slot starting) 已得標 -> 執行中
settle  (:05, for the slots that ended) 執行中 -> 結算中, then -> 已結算 once every participant's
        readings reach the slot's end, or SETTLE_DEADLINE after it: achievement from metered data.

Settlement rule: over the slot, a seller delivered the energy it exported (the step-hold integral
of max(-grid, 0) of its Demand readings) and a buyer the energy it imported (of max(grid, 0)).
A participant's achievement is delivered / contracted (the sum of its fills in the slot), clamped
to [0, 1]; a pair's achievement is the lower of its seller's and its buyer's; a pair settles for
p* x its volume x its achievement (etp.market.clearing.settlement_milli).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Protocol

from etp.audit.trail import Record
from etp.market import bids, clearing, records
from etp.market.bids import BidPair
from etp.market.slots import SLOT
from etp.meters.readings import Readings, energy_kwh

SETTLE_DEADLINE = timedelta(hours=2)


class BidStore(Protocol):
    def of_slot(self, slot: datetime) -> list: ...
    def reread(self, book: list) -> list: ...
    def set_status(self, bid, status: str, expected: str) -> bool: ...
    def record_outcome(
        self, bid, *, status: str, expected: str, fill_wh: int, cleared_price_milli: int | None, pairs: tuple
    ) -> bool: ...


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


def _seal(store: BidStore, slot: datetime, trail: Trail, now: datetime) -> tuple[StepReport, list]:
    """Seal the slot and record its sealed bids; the report, and those bids read back consistently
    (the digest covers each bid exactly as it was sealed)."""
    report, book = _move(store, slot, "seal", bids.SUBMITTED, bids.SEALED)
    sealed = [b for b in store.reread(book) if b.status != bids.SUBMITTED]
    if sealed:
        report.details["audit_recorded"] = trail.put(records.sealed_bids_record(slot, sealed), now)
    return report, sealed


def seal(store: BidStore, slot: datetime, trail: Trail, now: datetime) -> StepReport:
    return _seal(store, slot, trail, now)[0]


def deliver(store: BidStore, slot: datetime) -> StepReport:
    return _move(store, slot, "deliver", bids.WON, bids.DELIVERING)[0]


def clear(store: BidStore, slot: datetime, k: Fraction, trail: Trail, now: datetime) -> StepReport:
    """Clear the slot over every bid sealed at its gate (those still 已投標 and, after a partial run,
    those already cleared), so a re-run computes the same result and writes only what is missing.
    Once no bid is left 已投標, the clearing result goes to the audit trail (once)."""
    _, book = _seal(store, slot, trail, now)  # a missed seal run must not leave bids out of the auction
    report = StepReport(job="clear", slot=slot.isoformat())
    if any(b.status == bids.SEALED for b in book):
        _clear_book(store, book, k, report)
    cleared = store.reread(book)
    if cleared and all(b.status != bids.SEALED for b in cleared):
        report.details["audit_recorded"] = trail.put(records.clearing_record(slot, cleared), now)
    return report


def _clear_book(store: BidStore, book: list, k: Fraction, report: StepReport) -> None:
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
        report.changed += written
    report.details = {"volume_wh": result.volume_wh, "price_milli": result.price_milli, "pairs": len(result.pairs)}


def _delivered_wh(readings: Readings, user_id: str, side: str, start: datetime, end: datetime) -> tuple[int, bool]:
    """(Wh exported by a seller / imported by a buyer over [start, end), readings reach the end?)."""
    samples = [
        (r.taken_at, r.power_kw) for r in readings.between(user_id, start, end + SETTLE_DEADLINE) if r.kind == "Demand"
    ]
    sign = -1 if side == "sell" else 1
    kwh = energy_kwh([(t, max(sign * p, 0.0)) for t, p in samples], start, end)
    return round(kwh * 1000), any(t >= end for t, _ in samples)


def settle(store: BidStore, readings: Readings, slot: datetime, now: datetime) -> StepReport:
    end = slot + SLOT
    report = StepReport(job="settle", slot=slot.isoformat())
    if now < end:
        return report
    report.changed += _move(store, slot, "settle", bids.DELIVERING, bids.SETTLING)[0].changed
    book = [b for b in store.of_slot(slot) if b.status in (bids.SETTLING, bids.SETTLED)]
    settling = [b for b in book if b.status == bids.SETTLING]
    if not settling:
        return report
    contracted: dict[str, int] = defaultdict(int)
    side_of: dict[str, str] = {}
    for bid in book:
        contracted[bid.user_id] += bid.fill_wh
        side_of[bid.user_id] = bid.side
    achievement: dict[str, Fraction] = {}
    complete = True
    for user, volume in contracted.items():
        delivered, reached_end = _delivered_wh(readings, user, side_of[user], slot, end)
        complete &= reached_end
        achievement[user] = min(Fraction(1), Fraction(delivered, volume)) if volume else Fraction(0)
    if not complete and now < end + SETTLE_DEADLINE:
        report.details = {"waiting": "readings have not reached the slot's end yet"}
        return report
    for bid in settling:
        settled = []
        for pair in bid.pairs:
            pair_achievement = min(achievement[bid.user_id], achievement.get(pair.counterpart_id, Fraction(0)))
            settled.append(
                BidPair(
                    counterpart_id=pair.counterpart_id,
                    counterpart=pair.counterpart,
                    volume_wh=pair.volume_wh,
                    achievement=round(float(pair_achievement), 3),
                    settlement_milli=clearing.settlement_milli(
                        bid.cleared_price_milli or 0, pair.volume_wh, pair_achievement
                    ),
                )
            )
        report.changed += store.record_outcome(
            bid,
            status=bids.SETTLED,
            expected=bids.SETTLING,
            fill_wh=bid.fill_wh,
            cleared_price_milli=bid.cleared_price_milli,
            pairs=tuple(settled),
        )
    return report
