"""Settlement of a slot's won bids from metered energy, and its correction after a reading is
quarantined or released. The rules, one place for both (etp.market.jobs.settle and `correct`):

- over the slot, a seller delivered the energy it exported (the step-hold integral of max(-grid, 0)
  of its Demand readings) and a buyer the energy it imported (of max(grid, 0));
- a participant's achievement is delivered / contracted (the sum of its fills in the slot), clamped
  to [0, 1];
- a pair's achievement is the lower of its seller's and its buyer's; a pair settles for
  p* x its volume x its achievement (etp.market.clearing.settlement_milli).

A correction re-settles the settled pairs of one slot that involve one participant (the reading's
owner): its own bids' pairs, and its counterparts' pairs with it (a pair's achievement depends on
both ends). The other pairs of those counterparts depend on nobody's changed readings and stay.
Achievements are computed from the readings as stored now, exactly as settle computes them.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Protocol
from zoneinfo import ZoneInfo

from etp.audit.trail import SETTLEMENT_CORRECTION, Record, digest
from etp.clock import to_utc_iso
from etp.market import bids, clearing
from etp.market.bids import BidPair, StoredBid
from etp.market.slots import SLOT
from etp.meters.readings import Readings, StoredReading, energy_kwh

SETTLE_DEADLINE = timedelta(hours=2)


def delivered_wh(readings: Readings, user_id: str, side: str, start: datetime, end: datetime) -> tuple[int, bool]:
    """(Wh exported by a seller / imported by a buyer over [start, end), readings reach the end?)."""
    samples = [
        (r.taken_at, r.power_kw) for r in readings.between(user_id, start, end + SETTLE_DEADLINE) if r.kind == "Demand"
    ]
    sign = -1 if side == "sell" else 1
    kwh = energy_kwh([(t, max(sign * p, 0.0)) for t, p in samples], start, end)
    return round(kwh * 1000), any(t >= end for t, _ in samples)


def achievements(
    readings: Readings, book: Iterable[StoredBid], slot: datetime, users: Iterable[str] | None = None
) -> tuple[dict[str, Fraction], bool]:
    """Each participant's achievement in the slot (of `users` only, when given), from the won bids of
    `book`, and whether every one's readings reach the slot's end."""
    contracted: dict[str, int] = defaultdict(int)
    side_of: dict[str, str] = {}
    for bid in book:
        contracted[bid.user_id] += bid.fill_wh
        side_of[bid.user_id] = bid.side
    wanted = set(contracted) if users is None else set(users) & set(contracted)
    result: dict[str, Fraction] = {}
    complete = True
    for user in sorted(wanted):
        delivered, reached_end = delivered_wh(readings, user, side_of[user], slot, slot + SLOT)
        complete &= reached_end
        volume = contracted[user]
        result[user] = min(Fraction(1), Fraction(delivered, volume)) if volume else Fraction(0)
    return result, complete


def settled_pair(bid: StoredBid, pair: BidPair, achievement: Mapping[str, Fraction]) -> BidPair:
    """A pair of a won bid, settled: the lower achievement of its two ends, and its money."""
    pair_achievement = min(achievement[bid.user_id], achievement.get(pair.counterpart_id, Fraction(0)))
    return replace(
        pair,
        achievement=round(float(pair_achievement), 3),
        settlement_milli=clearing.settlement_milli(bid.cleared_price_milli or 0, pair.volume_wh, pair_achievement),
    )


def settled_pairs(bid: StoredBid, achievement: Mapping[str, Fraction]) -> tuple[BidPair, ...]:
    return tuple(settled_pair(bid, pair, achievement) for pair in bid.pairs)


# --- corrections --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairChange:
    """One settled pair whose achievement or settlement a correction changes."""

    bid_id: str
    account: str
    counterpart: str
    volume_wh: int
    old: tuple[float | None, int | None]  # (achievement, settlement_milli)
    new: tuple[float | None, int | None]

    def as_dict(self) -> dict:
        return {
            "bid": self.bid_id,
            "account": self.account,
            "counterpart": self.counterpart,
            "volume_wh": self.volume_wh,
            "old": {"achievement": self.old[0], "settlement_milli": self.old[1]},
            "new": {"achievement": self.new[0], "settlement_milli": self.new[1]},
        }


@dataclass(frozen=True)
class Resettled:
    bid: StoredBid
    pairs: tuple[BidPair, ...]


def resettle(book: list[StoredBid], achievement: Mapping[str, Fraction], user_id: str) -> list[Resettled]:
    """The settled bids of a slot whose pairs with or of `user_id` settle otherwise under
    `achievement` (which holds `user_id` and its counterparts), with all their pairs as they become;
    empty when nothing changes (a repeat)."""
    changed = []
    for bid in book:
        if bid.status != bids.SETTLED or not bid.pairs:
            continue
        pairs = tuple(
            settled_pair(bid, pair, achievement) if user_id in (bid.user_id, pair.counterpart_id) else pair
            for pair in bid.pairs
        )
        if pairs != bid.pairs:
            changed.append(Resettled(bid, pairs))
    return changed


def counterparts(book: Iterable[StoredBid], user_id: str) -> set[str]:
    """`user_id` and every participant it is paired with in the slot's book."""
    found = {user_id}
    for bid in book:
        for pair in bid.pairs:
            if bid.user_id == user_id:
                found.add(pair.counterpart_id)
            elif pair.counterpart_id == user_id:
                found.add(bid.user_id)
    return found


def pair_changes(resettled: Iterable[Resettled]) -> list[PairChange]:
    return [
        PairChange(
            bid_id=item.bid.id,
            account=item.bid.account,
            counterpart=new.counterpart,
            volume_wh=new.volume_wh,
            old=(old.achievement, old.settlement_milli),
            new=(new.achievement, new.settlement_milli),
        )
        for item in resettled
        for old, new in zip(item.bid.pairs, item.pairs, strict=True)
        if old != new
    ]


def correction_record(slot: datetime, reading_id: str, action: str, sequence: int, changes: list[PairChange]) -> Record:
    """The audit record of one correction: the slot, the reading and what happened to it (its
    `sequence`-th quarantine or release), how many pairs changed, and for the old and the new
    settlement their total and a digest of each changed pair's (bid, counterpart, achievement,
    milli-NT$). Its subject `<slot>#<reading>#<sequence>` makes it one record per action: a repeat
    finds it there already."""

    def side(pick: int) -> dict:
        rows = [[c.bid_id, c.counterpart, *(c.old, c.new)[pick]] for c in changes]
        total = sum((c.old, c.new)[pick][1] or 0 for c in changes)
        return {"settlement_milli": total, "sha256": digest(rows)}

    body = {"slot": to_utc_iso(slot), "reading": reading_id, "action": action, "pairs": len(changes)}
    return Record(
        SETTLEMENT_CORRECTION, f"{to_utc_iso(slot)}#{reading_id}#{sequence}", {**body, "old": side(0), "new": side(1)}
    )


class SettledBids(Protocol):
    def of_slot(self, slot: datetime) -> list: ...
    def reread(self, book: list) -> list: ...
    def record_outcome(
        self, bid, *, status: str, expected: str, fill_wh: int, cleared_price_milli: int | None, pairs: tuple
    ) -> bool: ...


class Trail(Protocol):
    def put(self, record: Record, now: datetime) -> bool: ...


@dataclass(frozen=True)
class Correction:
    """What correcting one settled slot came to: the pairs changed (none: already right), whether the
    audit record was new, how many bids were written."""

    slot: datetime
    changes: list[PairChange]
    recorded: bool = False
    written: int = 0
    record: str | None = None  # the audit record's key

    def as_dict(self) -> dict:
        return {
            "slot": to_utc_iso(self.slot),
            "pairs_changed": len(self.changes),
            "audit_recorded": self.recorded,
            "bids_written": self.written,
            "audit_record": self.record,
            "changes": [change.as_dict() for change in self.changes],
        }


def slot_of(moment: datetime, zone: ZoneInfo) -> datetime:
    """The slot (UTC start) whose energy a reading taken at `moment` counts in."""
    return moment.astimezone(zone).replace(minute=0, second=0, microsecond=0).astimezone(UTC)


def correct(
    store: SettledBids,
    readings: Readings,
    trail: Trail,
    reading: StoredReading,
    event: tuple[str, int],
    now: datetime,
    zone: ZoneInfo,
) -> Correction | None:
    """Re-settle the slot `reading` counts in after its quarantine or release (`event`: the action and
    its sequence number in the reading's log), if that slot is settled (None otherwise: settle will
    read the readings as they are by then). The audit record goes first, then each changed bid (only
    if still 已結算), so a run that dies half way is finished by a repeat, which records nothing new;
    a repeat of a finished correction finds nothing to change."""
    slot = slot_of(reading.taken_at, zone)
    book = [b for b in store.reread(store.of_slot(slot)) if b.status in (bids.SETTLING, bids.SETTLED)]
    if not any(b.status == bids.SETTLED for b in book):
        return None
    achievement, _ = achievements(readings, book, slot, counterparts(book, reading.user_id))
    resettled = resettle(book, achievement, reading.user_id)
    changes = pair_changes(resettled)
    if not changes:
        return Correction(slot, [])
    action, sequence = event
    record = correction_record(slot, reading.id, action, sequence, changes)
    recorded = trail.put(record, now)
    written = sum(
        store.record_outcome(
            item.bid,
            status=bids.SETTLED,
            expected=bids.SETTLED,
            fill_wh=item.bid.fill_wh,
            cleared_price_milli=item.bid.cleared_price_milli,
            pairs=item.pairs,
        )
        for item in resettled
    )
    return Correction(slot, changes, recorded, written, record.key)
