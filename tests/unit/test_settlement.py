"""Settlement's rules and their correction (etp.market.settlement), with readings and stores in memory."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

from builders import pairs, stored_bid

from etp.audit.trail import SETTLEMENT_CORRECTION, Record
from etp.market import bids, settlement
from etp.market.bids import StoredBid
from etp.meters.readings import Overlay, StoredReading

TAIPEI = ZoneInfo("Asia/Taipei")
SLOT = datetime(2030, 1, 1, 2, tzinfo=UTC)  # 10:00-11:00 in Taipei


def bid(user: str, side: str, by_counterpart: dict[str, int], status: str = bids.SETTLED) -> StoredBid:
    volume_wh = sum(by_counterpart.values())
    return stored_bid(id=f"{user}-bid", user_id=user, side=side, slot=SLOT, volume_wh=volume_wh, price=2,
                      status=status, version=3, fill_wh=volume_wh, cleared_price_milli=2500,
                      pairs=pairs(by_counterpart))  # fmt: skip


def settled(book: list[StoredBid], achievement: dict[str, Fraction]) -> list[StoredBid]:
    return [replace(b, pairs=settlement.settled_pairs(b, achievement)) for b in book]


# A sells 4 kWh to B and 2 kWh to C; D sells 3 kWh to C: C is paired with A and D.
BOOK = [
    bid("A", "sell", {"B": 4000, "C": 2000}),
    bid("B", "buy", {"A": 4000}),
    bid("C", "buy", {"A": 2000, "D": 3000}),
    bid("D", "sell", {"C": 3000}),
]
BEFORE = {"A": Fraction(1), "B": Fraction(1), "C": Fraction(1), "D": Fraction(3, 4)}


def test_a_pair_settles_at_the_lower_achievement_of_its_two_ends():
    a, _, c, _ = settled(BOOK, BEFORE)
    assert [(p.counterpart, p.achievement, p.settlement_milli) for p in a.pairs] == [
        ("B_BEMS", 1.0, 10_000),
        ("C_BEMS", 1.0, 5_000),
    ]
    assert [(p.counterpart, p.achievement, p.settlement_milli) for p in c.pairs] == [
        ("A_BEMS", 1.0, 5_000),
        ("D_BEMS", 0.75, 5_625),
    ]
    assert settlement.counterparts(BOOK, "C") == {"A", "C", "D"}


def test_resettling_a_participant_changes_its_pairs_and_its_counterparts_pairs_with_it_only():
    book = settled(BOOK, BEFORE)
    after = {**BEFORE, "C": Fraction(1, 2)}  # C's readings now say it took half
    changed = settlement.resettle(book, after, "C")
    assert {item.bid.user_id for item in changed} == {"A", "C", "D"}, "B is not paired with C"
    changes = {(c.account, c.counterpart): (c.old, c.new) for c in settlement.pair_changes(changed)}
    assert changes == {
        ("A_BEMS", "C_BEMS"): ((1.0, 5_000), (0.5, 2_500)),
        ("C_BEMS", "A_BEMS"): ((1.0, 5_000), (0.5, 2_500)),
        ("C_BEMS", "D_BEMS"): ((0.75, 5_625), (0.5, 3_750)),
        ("D_BEMS", "C_BEMS"): ((0.75, 5_625), (0.5, 3_750)),
    }, "A's pair with B stays"
    # exactly what settle computes from the same achievements
    assert {item.bid.id: item.pairs for item in changed} == {
        b.id: b.pairs for b in settled(BOOK, after) if b.user_id in ("A", "C", "D")
    }
    applied = [replace(b, pairs=next((i.pairs for i in changed if i.bid.id == b.id), b.pairs)) for b in book]
    assert settlement.resettle(applied, after, "C") == [], "a repeat changes nothing"
    assert settlement.resettle(book, BEFORE, "C") == [], "unchanged achievements change nothing"


def test_only_settled_bids_are_corrected():
    book = [replace(b, status=bids.SETTLING) for b in settled(BOOK, BEFORE)]
    assert settlement.resettle(book, {**BEFORE, "C": Fraction(0)}, "C") == []


def test_the_correction_record_is_one_per_action_and_fits_a_transaction():
    changes = settlement.pair_changes(settlement.resettle(settled(BOOK, BEFORE), {**BEFORE, "C": Fraction(0)}, "C"))
    record = settlement.correction_record(SLOT, "r-1", "quarantined", 1, changes)
    assert record.kind == SETTLEMENT_CORRECTION and record.key.endswith("#2030-01-01T02:00:00Z#r-1#1")
    assert record.body["pairs"] == 4 and record.body["action"] == "quarantined"
    assert (record.body["old"]["settlement_milli"], record.body["new"]["settlement_milli"]) == (21_250, 0)
    assert record.body["old"]["sha256"] != record.body["new"]["sha256"]
    assert len(record.message()) <= 2187 // 2, "one transaction's message fragment"
    assert settlement.correction_record(SLOT, "r-1", "released", 2, changes).key != record.key


def test_a_reading_counts_in_the_local_hour_it_was_taken_in():
    assert settlement.slot_of(SLOT + timedelta(minutes=59, seconds=59), TAIPEI) == SLOT
    assert settlement.slot_of(SLOT + timedelta(hours=1), TAIPEI) == SLOT + timedelta(hours=1)


class Readings:
    def __init__(self, readings: list[StoredReading]) -> None:
        self.readings = readings

    def between(self, user_id: str, start: datetime, end: datetime) -> list[StoredReading]:
        return [r for r in self.readings if r.user_id == user_id and start <= r.taken_at < end]


def demand(user: str, minute: int, kw: float, reading_id: str | None = None) -> StoredReading:
    moment = SLOT + timedelta(minutes=minute)
    return StoredReading(reading_id or f"{user}-{minute}", user, "m", "Demand", moment, kw, "T")


class Store:
    def __init__(self, book: list[StoredBid]) -> None:
        self.bids = {b.id: b for b in book}
        self.writes = 0

    def of_slot(self, slot: datetime) -> list[StoredBid]:
        return [b for b in self.bids.values() if b.slot == slot]

    def reread(self, book: list[StoredBid]) -> list[StoredBid]:
        return [self.bids[b.id] for b in book]

    def record_outcome(self, bid, *, status, expected, fill_wh, cleared_price_milli, pairs) -> bool:
        if self.bids[bid.id].status != expected:
            return False
        self.bids[bid.id] = replace(bid, status=status, pairs=pairs, version=bid.version + 1)
        self.writes += 1
        return True


class Trail:
    def __init__(self) -> None:
        self.records: dict[str, Record] = {}

    def put(self, record: Record, now: datetime) -> bool:
        return self.records.setdefault(record.key, record) is record


def test_a_correction_re_settles_from_the_readings_as_they_are_now_once():
    every_quarter = [0, 15, 30, 45, 60]
    readings = [demand("A", m, -10.0) for m in every_quarter] + [demand("B", m, 2.0) for m in every_quarter]
    spike = demand("B", 20, 100.0, "spike")
    book = [bid("A", "sell", {"B": 4000}), bid("B", "buy", {"A": 4000})]
    achievement, complete = settlement.achievements(Readings([*readings, spike]), book, SLOT)
    assert complete and achievement == {"A": 1, "B": 1}, "the spike makes B's 4 kWh look taken"
    store, trail = Store(settled(book, achievement)), Trail()
    hidden = Overlay(Readings([*readings, spike]), exclude=frozenset({"spike"}))  # the index still shows it

    done = settlement.correct(store, hidden, trail, spike, ("quarantined", 1), SLOT, TAIPEI)
    assert done is not None and done.recorded and done.written == 2 and len(done.changes) == 2
    assert {p.achievement for b in store.bids.values() for p in b.pairs} == {0.5}, "B imported 2 of 4 kWh"
    again = settlement.correct(store, hidden, trail, spike, ("quarantined", 1), SLOT, TAIPEI)
    assert again is not None and again.changes == [] and store.writes == 2 and len(trail.records) == 1

    back = Overlay(Readings(readings), include=(spike,))  # released: the index does not show it yet
    done = settlement.correct(store, back, trail, spike, ("released", 2), SLOT, TAIPEI)
    assert done is not None and done.written == 2 and len(trail.records) == 2
    assert {p.achievement for b in store.bids.values() for p in b.pairs} == {1.0}


def test_a_slot_not_settled_is_left_to_settle():
    store = Store([bid("A", "sell", {"B": 4000}, bids.DELIVERING), bid("B", "buy", {"A": 4000}, bids.DELIVERING)])
    assert (
        settlement.correct(store, Readings([]), Trail(), demand("B", 5, 1.0), ("quarantined", 1), SLOT, TAIPEI) is None
    )
    assert store.writes == 0
