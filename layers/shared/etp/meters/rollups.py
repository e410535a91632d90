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
recomputed from the readings (never adjusted by deltas), so recomputing is idempotent: a re-run, a
reading that arrives after its neighbours, or one that is hidden, all leave the exact values.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, timedelta
from fractions import Fraction
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


class Owned(Protocol):
    @property
    def user_id(self) -> str: ...
    @property
    def taken_at(self) -> datetime: ...


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


def refresh(
    changed: Iterable[Owned],
    zone: ZoneInfo,
    read: Callable[[str, datetime, datetime], Iterable[Sample]],
    write: Callable[[str, date, Cells], None],
) -> None:
    """Recompute (never adjust) the buckets that readings added or hidden at these times touch, from
    `read(user, start, end)`: the readings taken in [start, end), those buckets and the HOLD_CAP after
    them; `write(user, day, cells)` sets each recomputed bucket whole."""
    targets: dict[tuple[str, date], set[int]] = defaultdict(set)
    for reading in changed:
        for day, bucket in affected(reading.taken_at, zone):
            targets[(reading.user_id, day)].add(bucket)
    for (user_id, day), buckets in targets.items():
        start, end = day_bounds(day, zone)
        for first, last in _runs(buckets):
            low = bucket_bounds(first, start, end)[0]
            high = min(bucket_bounds(last, start, end)[1] + HOLD_CAP, end)
            write(user_id, day, day_cells(read(user_id, low, high), day, zone, range(first, last + 1)))


def encode_energy(kws: Fraction) -> str:
    return str(kws)


def decode_energy(text: str) -> Fraction:
    numerator, _, denominator = text.partition("/")  # str(Fraction): `n/d`, or `n` when whole
    return Fraction(int(numerator), int(denominator or 1))
