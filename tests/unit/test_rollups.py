"""Energy rollups (etp.meters.rollups): kept at ingest, in any arrival order, they answer exactly what
integrating the day's readings directly answers."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etp.clock import day_bounds
from etp.meters import power, rollups
from etp.meters.readings import StoredReading, energy_kwh

TAIPEI = ZoneInfo("Asia/Taipei")
ZONES = [TAIPEI, ZoneInfo("Europe/Berlin"), ZoneInfo("Asia/Kolkata")]
# 2026-03-28 .. 2026-03-30 UTC: Berlin's 23-hour day (2026-03-29) lies inside.
ORIGIN = datetime(2026, 3, 28, 0, 0, tzinfo=UTC)
SPAN = 3 * 86_400


@dataclass
class World:
    """A readings table and a rollups table in memory, kept as the tracker and the operator keep them."""

    zone: ZoneInfo
    readings: dict[str, StoredReading]
    cells: dict[tuple[str, date], rollups.Cells]
    tails: dict[tuple[str, date], rollups.Tails] = field(default_factory=dict)
    tokens: dict[tuple[str, date], str] = field(default_factory=dict)
    reads: int = 0

    def read(self, user_id: str, low: datetime, high: datetime) -> list[StoredReading]:
        self.reads += 1
        return [r for r in self.readings.values() if r.user_id == user_id and low <= r.taken_at < high]

    def load_many(self, keys: list[tuple[str, date]]) -> dict[tuple[str, date], rollups.Kept]:
        return {
            key: rollups.Kept(dict(self.cells[key]), dict(self.tails.get(key, {})), self.tokens[key])
            for key in keys
            if key in self.tokens
        }

    def save_many(self, writes) -> list[tuple[str, date]]:
        for user_id, day, kept, cells, tails in writes:
            key = (user_id, day)
            assert self.tokens.get(key) == kept.token
            self.cells.setdefault(key, {}).update(cells)
            self.tails.setdefault(key, {}).update(tails)
            self.tokens[key] = f"t{len(self.tokens)}-{self.reads}-{len(cells)}"
        return []

    def ingest(self, batch: list[StoredReading]) -> None:
        self.readings |= {r.id: r for r in batch}
        rollups.refresh(batch, self.zone, self.read, self, added={r.id for r in batch})

    def hide(self, reading: StoredReading) -> None:
        del self.readings[reading.id]
        rollups.refresh([reading], self.zone, self.read, self)

    def days(self) -> set[tuple[str, date]]:
        return {(r.user_id, r.taken_at.astimezone(self.zone).date()) for r in self.readings.values()}

    def assert_exact(self) -> None:
        for user_id, day in self.days() | set(self.cells):
            day_readings = [r for r in self.readings.values() if r.user_id == user_id]
            start, end = day_bounds(day, self.zone)
            direct = dict.fromkeys(rollups.ENERGY_KEYS, Fraction(0))
            for reading, kws in rollups.contributions(day_readings, start, end):
                direct[reading.kind] += kws
            kept = self.cells.get((user_id, day), {})
            assert rollups.kind_totals(kept.values()) == direct
            assert power.rollup_energies(kept) == power.day_energies(day_readings, day, self.zone)
            assert rollups.samples_in(kept) == sum(start <= r.taken_at < end for r in day_readings)
            self.assert_tails(user_id, day)

    def assert_tails(self, user_id: str, day: date) -> None:
        """Each series' kept tail is its latest sample of the day, or a horizon no later sample's hold reaches."""
        mine = [r for r in self.readings.values() if r.user_id == user_id]
        latest = rollups.day_tails(mine, day, self.zone)
        kept = self.tails.get((user_id, day), {})
        for series, tail in kept.items():
            if tail.power_kw is not None:
                assert latest.get(series) == tail
            else:
                assert series not in latest or latest[series].at < tail.at - rollups.HOLD_CAP
        assert set(latest) <= set(kept)

    def present(self) -> dict[tuple[str, date], rollups.Cells]:
        """The kept cells without empty buckets (an empty bucket and none read the same)."""
        return {key: {b: cell for b, cell in cells.items() if cell} for key, cells in self.cells.items()}


def _moment(base: int, nudge: int) -> datetime:
    return ORIGIN + timedelta(seconds=min(max(base + nudge, 0), SPAN - 1))


# Times: anywhere, or near a few hours that are local midnights (Taipei 16:00Z, Berlin 22:00Z/23:00Z,
# Kolkata 18:30Z) or plain hours, densely enough that series' neighbours within HOLD_CAP, ties at one
# second, gaps over 15 minutes, and hour and day boundaries all occur.
HOURS = [16, 18.5, 22, 23, 40]
times = st.one_of(
    st.integers(0, SPAN - 1).map(lambda s: _moment(s, 0)),
    st.builds(_moment, st.sampled_from(HOURS).map(lambda h: int(h * 3600)), st.integers(-600, 600)),
    st.builds(_moment, st.sampled_from(HOURS).map(lambda h: int(h * 3600)), st.integers(-3, 3)),
)
powers = st.one_of(st.sampled_from([0.0, 0.1, 1.5, -2.25, 10.0]), st.floats(-1000, 1000, allow_nan=False))
drafts = st.tuples(
    st.one_of(st.just("u-1"), st.sampled_from(["u-1", "u-2"])),
    st.one_of(st.just("m-1"), st.sampled_from(["m-1", "m-2"])),
    st.one_of(st.just("Demand"), st.sampled_from(rollups.ENERGY_KEYS)),
    times,
    powers,
)


def _readings(rows) -> list[StoredReading]:
    return [
        StoredReading(
            id=f"r-{index}", user_id=u, meter_id=m, kind=k, taken_at=t, power_kw=p, tx_hash=f"T{index}".ljust(81, "9")
        )
        for index, (u, m, k, t, p) in enumerate(rows)
    ]


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.sampled_from(ZONES),
    st.lists(drafts, min_size=2, max_size=40)
    .map(_readings)
    .flatmap(lambda rs: st.tuples(st.just(rs), st.permutations(rs))),
    st.lists(st.integers(1, 6), min_size=1, max_size=20),
    st.data(),
)
def test_rollups_kept_in_any_arrival_order_equal_the_direct_integral(zone, readings_and_order, sizes, data):
    _, arrival = readings_and_order
    world = World(zone, {}, {})
    position, turn = 0, 0
    while position < len(arrival):
        size = sizes[turn % len(sizes)]
        world.ingest(arrival[position : position + size])
        position, turn = position + size, turn + 1
    world.assert_exact()

    before = world.present()
    world.ingest(list(arrival))  # a re-run stores nothing new and changes nothing
    assert world.present() == before

    if arrival:
        hidden = data.draw(st.sampled_from(arrival))
        world.hide(hidden)  # quarantine
        world.assert_exact()
        world.ingest([hidden])  # release
        assert world.present() == before
        world.assert_exact()


def _mostly_in_order(readings: list[StoredReading], delays: list[tuple[int, int]]) -> list[StoredReading]:
    """The readings in the order they were taken, but some arrive later: (which, how many places later)."""
    arrival = sorted(readings, key=lambda r: r.taken_at)
    for which, later in delays:
        if arrival:
            late = arrival.pop(which % len(arrival))
            arrival.insert(min(which % (len(arrival) + 1) + later, len(arrival)), late)
    return arrival


@settings(max_examples=300, deadline=None, database=None)
@given(
    st.sampled_from(ZONES),
    st.lists(drafts, min_size=2, max_size=40).map(_readings),
    st.lists(st.tuples(st.integers(0, 40), st.integers(1, 12)), max_size=5),
    st.lists(st.integers(1, 6), min_size=1, max_size=20),
    st.data(),
)
def test_rollups_kept_in_order_with_late_arrivals_interleaved_equal_the_direct_integral(
    zone, readings, delays, sizes, data
):
    """The common case, in-order readings kept from the rollup alone (`advance`), interleaved with late
    ones, re-runs, quarantines and releases (recomputed): after every step, exactly the direct integral."""
    arrival = _mostly_in_order(readings, delays)
    world = World(zone, {}, {})
    position, turn = 0, 0
    while position < len(arrival):
        size = sizes[turn % len(sizes)]
        world.ingest(arrival[position : position + size])
        world.assert_exact()
        if data.draw(st.booleans()):
            again = data.draw(st.sampled_from(arrival[: position + size]))
            world.ingest([again])  # an overlapping run stores it again
            world.assert_exact()
        position, turn = position + size, turn + 1
    hidden = data.draw(st.sampled_from(arrival))
    world.hide(hidden)
    world.assert_exact()
    world.ingest([*[r for r in arrival if r.taken_at > hidden.taken_at][:3], hidden])
    world.assert_exact()


def test_readings_in_order_are_kept_from_the_rollup_alone():
    start = day_bounds(date(2026, 3, 29), TAIPEI)[0]
    rows = [
        ("u-1", meter, "Demand", start + timedelta(hours=5, minutes=minute), float(minute))
        for minute in range(0, 120, 5)
        for meter in ("m-1", "m-2")
    ]
    readings = _readings(rows)
    world = World(TAIPEI, {}, {})
    for at in range(0, len(readings), 4):
        world.ingest(readings[at : at + 4])
    assert world.reads == 0  # not one read of the hour's readings
    world.assert_exact()
    world.ingest([readings[5]])  # a re-run's reading is at or before its tail: recomputed
    assert world.reads > 0
    world.assert_exact()


@settings(max_examples=100, deadline=None)
@given(st.lists(drafts, max_size=30).map(_readings))
def test_the_exact_direct_integral_is_the_float_step_hold_integral(readings):
    for day in (date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)):
        start, end = day_bounds(day, TAIPEI)
        series = defaultdict(list)
        for r in readings:
            if r.user_id == "u-1":
                series[(r.meter_id, r.kind)].append((r.taken_at, r.power_kw))
        direct = dict.fromkeys(rollups.ENERGY_KEYS, Fraction(0))
        for reading, kws in rollups.contributions([r for r in readings if r.user_id == "u-1"], start, end):
            direct[reading.kind] += kws
        for kind in rollups.ENERGY_KEYS:
            floats = sum(energy_kwh(s, start, end) for (_, k), s in series.items() if k == kind)
            assert float(direct[kind] / 3600) == pytest.approx(floats, rel=1e-9, abs=1e-9)


def test_a_late_reading_corrects_its_predecessors_hour():
    zone, start = TAIPEI, day_bounds(date(2026, 3, 29), TAIPEI)[0]
    early = _readings([("u-1", "m-1", "Demand", start + timedelta(minutes=55), 12.0)])[0]
    late = StoredReading("late", "u-1", "m-1", "Demand", start + timedelta(minutes=65), 6.0, "L" * 81)
    world = World(zone, {}, {})
    world.ingest([early])
    assert world.cells[("u-1", date(2026, 3, 29))][0] == {"Demand": (Fraction(12 * 900), 1)}
    world.ingest([late])  # holds the 00:55 sample for 10 minutes, not 15
    assert world.cells[("u-1", date(2026, 3, 29))][0] == {"Demand": (Fraction(12 * 600), 1)}
    assert world.cells[("u-1", date(2026, 3, 29))][1] == {"Demand": (Fraction(6 * 900), 1)}


def test_a_reading_affects_its_hour_and_the_one_holding_its_predecessor_within_the_day():
    start = day_bounds(date(2026, 3, 29), TAIPEI)[0]
    assert rollups.affected(start + timedelta(hours=3, minutes=5), TAIPEI) == {
        (date(2026, 3, 29), 3),
        (date(2026, 3, 29), 2),
    }
    assert rollups.affected(start + timedelta(hours=3, minutes=30), TAIPEI) == {(date(2026, 3, 29), 3)}
    assert rollups.affected(start + timedelta(minutes=5), TAIPEI) == {(date(2026, 3, 29), 0)}


@settings(max_examples=50, deadline=None)
@given(st.lists(drafts, max_size=30).map(_readings))
def test_the_chart_from_rollups_is_the_chart_from_readings(readings):
    mine = [r for r in readings if r.user_id == "u-1"]
    last = date(2026, 3, 31)
    kept = {r.taken_at.astimezone(TAIPEI).date() for r in mine}  # a day without readings has no rollup
    days = {day: rollups.day_cells(mine, day, TAIPEI) for day in kept}
    assert power.rollup_chart(days, last) == power.chart(mine, last, TAIPEI)


def test_a_rollup_kept_before_tails_is_rebuilt_whole_when_its_day_next_changes():
    start = day_bounds(date(2026, 3, 29), TAIPEI)[0]
    rows = [
        ("u-1", m, "Demand", start + timedelta(hours=2, minutes=10 * i), 2.0 + i)
        for i in range(5)
        for m in ("m-1", "m-2")
    ]
    earlier, later = _readings(rows)[:8], _readings(rows)[8:]
    world = World(TAIPEI, {r.id: r for r in earlier}, {})
    key = ("u-1", date(2026, 3, 29))
    world.cells[key] = rollups.day_cells(earlier, key[1], TAIPEI)  # as the version before kept it: no tails
    world.tokens[key] = ""
    world.ingest(later)
    world.assert_exact()
    assert world.tails[key] == rollups.day_tails(earlier + later, key[1], TAIPEI)
