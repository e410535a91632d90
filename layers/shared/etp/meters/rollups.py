"""Energy rollups: a local day's energy per hour and type, kept at ingest so /power_info reads what it
answers. Pure logic (the table is etp.meters.rollups_store; keeping it fresh, etp.meters.readings_store).

A day's energy (etp.meters.readings, step-hold) is a sum over the samples taken within the local day:
a sample contributes power x held time, held until the next sample of its series (same meter, same
type; ties at one second ordered by power, as the direct integral sorts them), for at most HOLD_CAP,
never past the day's end. Each sample's whole contribution is attributed to the hour *it was taken
in* (the hour-`bucket` counted from local midnight: 0..22 on a 23-hour day, 0..24 on a 25-hour one),
so the buckets of a day add up to exactly the day's integral, whatever the sample times.

Exact: a contribution is kept as a Fraction of kW x whole seconds (a float power is an exact binary
fraction; stored times have whole seconds), so any sum of them, in any order, is exact, and a day's
energies from the rollups are *equal* to the direct integral's. The direct path (`day_energies` in
etp.meters.power) uses the same exact sum; both round only at the end, to the answer's 3 decimals.

Late readings: a sample changes its own contribution and, through the hold, its series' predecessor's,
which is at most HOLD_CAP earlier (an older one's hold is capped before the new sample). So a new,
quarantined or released reading at t affects the buckets of t and of t - HOLD_CAP (within the same
day: a predecessor in the day before is clipped at that day's end anyway). Those buckets are
recomputed from the readings, so recomputing is idempotent: a re-run, a reading that arrives after
its neighbours, or one that is hidden, all leave the exact values.

In order, O(new): a day's rollup also keeps each series' *tail*, its latest sample of the day (time
and power). A reading taken after its series' tail (the common case: meters publish in order) only
changes two contributions, both known from the rollup itself: the tail's hold now ends at the new
reading (at most HOLD_CAP, never past the day's end) and the new reading holds until the day's end
or HOLD_CAP. So `advance` updates the day from what the rollup keeps, with no read of the hour's
readings. Every other change (a reading at or before its series' tail, a duplicate, a quarantine or
a release) takes the exact recompute above, which also sets the tails it touches: the latest sample
of the series within HOLD_CAP of the newest changed reading or, when there is none, a *horizon* at
that reading (no power: no later reading changes a hold, and one at or before it is late). A re-run
of an in-order reading finds it at its tail, so it is recomputed, not counted twice. Writes are
conditional on the token the rollup was read with (`Store.save`): a concurrent writer makes one retry.
"""

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from functools import partial
from typing import Protocol
from zoneinfo import ZoneInfo

from etp.clock import day_bounds
from etp.meters.readings import HOLD_CAP

ENERGY_KEYS = ("Demand", "PV", "EV", "ESS", "WT")
HOUR = timedelta(hours=1)

# One bucket: type -> (kW x s, samples); a day's cells: bucket -> that.
Cell = dict[str, tuple[Fraction, int]]
Cells = dict[int, Cell]


class Sample(Protocol):
    @property
    def meter_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def taken_at(self) -> datetime: ...
    @property
    def power_kw(self) -> float: ...


class Owned(Sample, Protocol):
    @property
    def id(self) -> str: ...
    @property
    def user_id(self) -> str: ...


def bucket_of(moment: datetime, day_start: datetime) -> int:
    return int((moment - day_start).total_seconds()) // 3600


def bucket_bounds(bucket: int, day_start: datetime, day_end: datetime) -> tuple[datetime, datetime]:
    return day_start + bucket * HOUR, min(day_start + (bucket + 1) * HOUR, day_end)


def affected(moment: datetime, zone: ZoneInfo) -> set[tuple[date, int]]:
    """The (local day, bucket)s whose values a reading taken at `moment` changes (added or removed)."""
    found = set()
    for at in (moment, moment - HOLD_CAP):
        day = at.astimezone(zone).date()
        if day == moment.astimezone(zone).date():
            found.add((day, bucket_of(at, day_bounds(day, zone)[0])))
    return found


def contributions[S: Sample](samples: Iterable[S], start: datetime, end: datetime) -> Iterator[tuple[S, Fraction]]:
    """Each sample taken in [start, end) with its exact step-hold contribution (kW x s) over it."""
    series: dict[tuple[str, str], list[S]] = defaultdict(list)
    for sample in samples:
        if start <= sample.taken_at < end:
            series[(sample.meter_id, sample.kind)].append(sample)
    for members in series.values():
        members.sort(key=lambda s: (s.taken_at, s.power_kw))
        for index, sample in enumerate(members):
            following = members[index + 1].taken_at if index + 1 < len(members) else end
            held = min(following, sample.taken_at + HOLD_CAP, end) - sample.taken_at
            yield sample, Fraction(sample.power_kw) * int(held.total_seconds())


def day_cells(samples: Iterable[Sample], day: date, zone: ZoneInfo, buckets: Iterable[int] | None = None) -> Cells:
    """The cells of a local day (or of some of its buckets: each one asked for is in the answer, empty
    if no sample was taken in it). `samples` must hold every sample of the buckets asked for and the
    ones up to HOLD_CAP after them."""
    start, end = day_bounds(day, zone)
    wanted = set(range(bucket_of(end - timedelta(seconds=1), start) + 1) if buckets is None else buckets)
    energy: dict[int, dict[str, Fraction]] = {bucket: {} for bucket in wanted}
    counts: dict[int, dict[str, int]] = {bucket: {} for bucket in wanted}
    for sample, kws in contributions(samples, start, end):
        bucket = bucket_of(sample.taken_at, start)
        if bucket in wanted:
            energy[bucket][sample.kind] = energy[bucket].get(sample.kind, Fraction(0)) + kws
            counts[bucket][sample.kind] = counts[bucket].get(sample.kind, 0) + 1
    return {
        bucket: {kind: (energy[bucket][kind], counts[bucket][kind]) for kind in energy[bucket]} for bucket in wanted
    }


def kind_totals(cells: Iterable[Cell]) -> dict[str, Fraction]:
    totals = {key: Fraction(0) for key in ENERGY_KEYS}
    for cell in cells:
        for kind, (kws, _) in cell.items():
            totals[kind] += kws
    return totals


def samples_in(cells: Cells) -> int:
    return sum(count for cell in cells.values() for _, count in cell.values())


def energies(totals: dict[str, Fraction]) -> dict[str, float]:
    """The answer's energies (kWh, 3 decimals) from exact per-type totals (kW x s)."""
    kwh = {key: totals[key] / 3600 for key in ENERGY_KEYS}
    generate = kwh["WT"] + kwh["PV"] + kwh["EV"] + kwh["ESS"]
    result = {key: round(float(value), 3) for key, value in kwh.items()}
    result["Generate"] = round(float(generate), 3)
    result["Consume"] = round(float(kwh["Demand"] - generate), 3)
    return result


def _runs(buckets: set[int]) -> list[tuple[int, int]]:
    """Consecutive buckets as (first, last) runs."""
    runs: list[tuple[int, int]] = []
    for bucket in sorted(buckets):
        if runs and runs[-1][1] == bucket - 1:
            runs[-1] = (runs[-1][0], bucket)
        else:
            runs.append((bucket, bucket))
    return runs


Series = tuple[str, str]  # (meter id, type)
ATTEMPTS = 5  # conditional writes of one user-day that may meet a concurrent writer


@dataclass(frozen=True)
class Tail:
    """A series' latest sample of the day; without a power, a horizon: nothing of the series is taken
    after `at`, and no sample's hold changes with a later one."""

    at: datetime
    power_kw: float | None = None


Tails = dict[Series, Tail]


@dataclass(frozen=True)
class Kept:
    """A user-day's rollup as stored, and the token its next write is conditional on (None: no item;
    empty: an item kept before tails, rebuilt whole from the day's readings when it next changes)."""

    cells: Cells = field(default_factory=dict)
    tails: Tails = field(default_factory=dict)
    token: str | None = None


class Store(Protocol):
    def load_many(self, keys: list[tuple[str, date]]) -> dict[tuple[str, date], Kept]: ...

    def save_many(self, writes: list[tuple[str, date, Kept, Cells, Tails]]) -> list[tuple[str, date]]:
        """Set these buckets and tails of each day, each write conditional on its Kept's token; the
        (user, day)s whose token no longer matched (nothing written for them)."""
        ...


def _series(sample: Sample) -> Series:
    return (sample.meter_id, sample.kind)


def _held(at: datetime, until: datetime, end: datetime) -> int:
    """Seconds a sample taken `at` holds when the next one of its series is taken `until`."""
    return int((min(until, at + HOLD_CAP, end) - at).total_seconds())


def in_order(samples: Iterable[Sample], tails: Tails) -> bool:
    """Whether each series' samples are taken one after another (none at the same second) after its tail."""
    last = {series: tail.at for series, tail in tails.items()}
    for sample in sorted(samples, key=lambda s: s.taken_at):
        series = _series(sample)
        if series in last and sample.taken_at <= last[series]:
            return False
        last[series] = sample.taken_at
    return True


def _add(cells: Cells, kept: Cells, bucket: int, kind: str, kws: Fraction, count: int) -> None:
    if bucket not in cells:
        cells[bucket] = dict(kept.get(bucket, {}))
    energy, samples = cells[bucket].get(kind, (Fraction(0), 0))
    cells[bucket][kind] = (energy + kws, samples + count)


def advance(kept: Kept, samples: Iterable[Sample], start: datetime, end: datetime) -> tuple[Cells, Tails]:
    """The buckets and tails that in-order samples of the day [start, end) change, from the kept
    rollup alone: each shortens its series' tail's hold to end at it, and holds to the day's end or HOLD_CAP."""
    cells: Cells = {}
    tails: Tails = {}
    for sample in sorted(samples, key=lambda s: s.taken_at):
        series = _series(sample)
        tail = tails.get(series) or kept.tails.get(series)
        if tail is not None and tail.power_kw is not None:
            shorter = _held(tail.at, sample.taken_at, end) - _held(tail.at, end, end)
            _add(cells, kept.cells, bucket_of(tail.at, start), sample.kind, Fraction(tail.power_kw) * shorter, 0)
        held = _held(sample.taken_at, end, end)
        _add(cells, kept.cells, bucket_of(sample.taken_at, start), sample.kind, Fraction(sample.power_kw) * held, 1)
        tails[series] = Tail(sample.taken_at, sample.power_kw)
    return cells, tails


def day_tails(samples: Iterable[Sample], day: date, zone: ZoneInfo) -> Tails:
    """Each series' latest sample of a local day (`samples`: all of the day's)."""
    start, end = day_bounds(day, zone)
    tails: Tails = {}
    for sample in sorted(samples, key=lambda s: (s.taken_at, s.power_kw)):
        if start <= sample.taken_at < end:
            tails[_series(sample)] = Tail(sample.taken_at, sample.power_kw)
    return tails


def _recomputed_tails(tails: Tails, changed: Iterable[Sample], seen: list[Sample]) -> Tails:
    """The tails of the series whose newest changed sample is at or after their kept tail, from the
    samples read around it (`seen` holds all of the series' samples within HOLD_CAP before it)."""
    newest: dict[Series, datetime] = {}
    for sample in changed:
        newest[_series(sample)] = max(sample.taken_at, newest.get(_series(sample), sample.taken_at))
    found: Tails = {}
    for series, horizon in newest.items():
        if series in tails and horizon < tails[series].at:
            continue
        near = [s for s in seen if _series(s) == series and s.taken_at >= horizon - HOLD_CAP]
        latest = max(near, key=lambda s: (s.taken_at, s.power_kw), default=None)
        found[series] = Tail(latest.taken_at, latest.power_kw) if latest is not None else Tail(horizon)
    return found


def recompute(
    kept: Kept,
    changed: Sequence[Sample],
    day: date,
    zone: ZoneInfo,
    read: Callable[[datetime, datetime], Iterable[Sample]],
) -> tuple[Cells, Tails]:
    """The buckets that these samples of the day, added or hidden, touch, recomputed from `read(start,
    end)` (the day's visible readings taken in [start, end)), and the tails they change."""
    start, end = day_bounds(day, zone)
    buckets = {bucket for sample in changed for at, bucket in affected(sample.taken_at, zone) if at == day}
    cells: Cells = {}
    seen: list[Sample] = []
    for first, last in _runs(buckets):
        low = bucket_bounds(first, start, end)[0]
        high = min(bucket_bounds(last, start, end)[1] + HOLD_CAP, end)
        window = list(read(low, high))
        seen += window
        cells |= day_cells(window, day, zone, range(first, last + 1))
    return cells, _recomputed_tails(kept.tails, changed, seen)


def _kept_day(
    kept: Kept,
    changed: Sequence[Owned],
    added: Collection[str],
    day: date,
    zone: ZoneInfo,
    read: Callable[[datetime, datetime], Iterable[Sample]],
) -> tuple[Cells, Tails]:
    """What to write of one user-day: advanced, recomputed, or (kept before tails) rebuilt whole."""
    if kept.token == "":
        samples = list(read(*day_bounds(day, zone)))
        return day_cells(samples, day, zone), day_tails(samples, day, zone)
    if all(r.id in added for r in changed) and in_order(changed, kept.tails):
        return advance(kept, changed, *day_bounds(day, zone))
    return recompute(kept, changed, day, zone, read)


def refresh(
    changed: Iterable[Owned],
    zone: ZoneInfo,
    read: Callable[[str, datetime, datetime], Iterable[Sample]],
    store: Store,
    added: Collection[str] = (),
) -> None:
    """Keep the rollups of the user-days these readings (added, or hidden) are in. A day whose changed
    readings are all `added` (ids) and in order after their series' tails `advance`s; any other is
    recomputed from `read(user, start, end)`: the readings taken in [start, end), the changed ones as
    they now are. Every write is conditional on the rollup read; a day that met a concurrent writer
    is read and done again."""
    groups: dict[tuple[str, date], list[Owned]] = defaultdict(list)
    for reading in changed:
        groups[(reading.user_id, reading.taken_at.astimezone(zone).date())].append(reading)
    pending = list(groups)
    for _ in range(ATTEMPTS):
        if not pending:
            return
        kept = store.load_many(pending)
        writes: list[tuple[str, date, Kept, Cells, Tails]] = []
        for user_id, day in pending:
            day_kept = kept.get((user_id, day), Kept())
            window = partial(read, user_id)
            writes.append(
                (user_id, day, day_kept, *_kept_day(day_kept, groups[(user_id, day)], added, day, zone, window))
            )
        pending = store.save_many(writes)
    if pending:
        raise RuntimeError(f"rollups of {len(pending)} user-days kept meeting concurrent writers")


def encode_energy(kws: Fraction) -> str:
    return str(kws)


def decode_energy(text: str) -> Fraction:
    numerator, _, denominator = text.partition("/")  # str(Fraction): `n/d`, or `n` when whole
    return Fraction(int(numerator), int(denominator or 1))
