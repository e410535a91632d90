"""Historical meter data for the power-data simulator (pure logic): parse a BEMS's CSV and pick the
row that stands for "now" (same weekday and hour, nearest minute).

Two CSV shapes exist in the field: ABRI's (`total_load(kW)` and `TIME`) and Carlab's/NCKU's
(`grid_power` and `inserted_at`); times look like `2020/5/2 00:15`. ABRI_BEMS uses the first,
Carlab_BEMS and NCKU_BEMS the second, and any other BEMS falls back to the second with a warning.
"""

import csv
import io
import math
from dataclasses import dataclass
from datetime import datetime

from etp.meters.readings import MAX_ABS_KW

SHAPES = {"abri": ("total_load(kW)", "TIME"), "carlab": ("grid_power", "inserted_at")}
SHAPE_OF_BEMS = {"ABRI_BEMS": "abri", "Carlab_BEMS": "carlab", "NCKU_BEMS": "carlab"}


class SimulationDataError(ValueError):
    """A CSV that cannot drive the simulator; the message names the row and the cause."""


@dataclass(frozen=True)
class Sample:
    weekday: int  # Monday = 0
    minute: int  # minute of the day
    grid_kw: float


def shape_for(bems: str) -> tuple[str, list[str]]:
    """(shape, warnings) for a BEMS account."""
    if bems in SHAPE_OF_BEMS:
        return SHAPE_OF_BEMS[bems], []
    return "carlab", [f"{bems}: no known CSV shape, reading it as Carlab's (grid_power, inserted_at)"]


def _moment(row: dict, column: str, line: int) -> datetime:
    """The row's time (Y/M/D HH:MM) in `column`."""
    try:
        return datetime.strptime((row[column] or "").strip(), "%Y/%m/%d %H:%M")
    except ValueError:
        raise SimulationDataError(f"line {line}: {column} {row[column]!r} is not Y/M/D HH:MM") from None


def _power(row: dict, column: str, line: int) -> float:
    """The row's power (kW) in `column`: a finite number no larger than MAX_ABS_KW either way."""
    try:
        power = float(row[column])
    except (TypeError, ValueError):
        raise SimulationDataError(f"line {line}: {column} {row[column]!r} is not a number") from None
    if not math.isfinite(power) or abs(power) > MAX_ABS_KW:
        raise SimulationDataError(f"line {line}: {column} {power!r} is not a plausible power")
    return power


def parse_csv(text: str, shape: str) -> list[Sample]:
    power_column, time_column = SHAPES[shape]
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = [c for c in (power_column, time_column) if c not in (reader.fieldnames or [])]
    if missing:
        raise SimulationDataError(f"missing column(s) {', '.join(missing)} for the {shape} shape")
    samples = []
    for line, row in enumerate(reader, start=2):
        moment = _moment(row, time_column, line)
        power = _power(row, power_column, line)
        samples.append(Sample(weekday=moment.weekday(), minute=moment.hour * 60 + moment.minute, grid_kw=power))
    if not samples:
        raise SimulationDataError("the CSV has no rows")
    return samples


def pick(samples: list[Sample], now_local: datetime) -> Sample:
    """The row with now's weekday and hour whose minute is nearest to now's (earlier on a tie)."""
    hour_start = now_local.hour * 60
    candidates = [s for s in samples if s.weekday == now_local.weekday() and hour_start <= s.minute < hour_start + 60]
    if not candidates:
        raise SimulationDataError(f"no row for {now_local:%A} {now_local:%H}:xx")
    minute = hour_start + now_local.minute
    return min(candidates, key=lambda s: (abs(s.minute - minute), s.minute))
