"""Demand response rules (pure logic): the offer's target day, the acceptance window, and the rate.

- An offer made before 10:30 local is for tomorrow; from 10:30 on, for the day after tomorrow.
- An aggregator accepts offers for a window [start, end) that lies within their target day.
- Baseline: for each moment of the window, the mean metered net load (kW) at the same local time of
  day over the previous seven days (step-hold samples, as everywhere). The achieved curtailment is
  the baseline energy minus the metered energy over the window; the committed curtailment is the
  offered kW times the window's hours; rate = achieved / committed, clamped to [0, 1].
"""

import math
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from etp.readings import energy_kwh

CUTOFF = time(10, 30)
BASELINE_DAYS = 7
MAX_KW = 100_000.0
MAX_PRICE = 1_000.0


class DrRejected(ValueError):
    pass


def target_day(offered_at: datetime, zone: ZoneInfo) -> date:
    local = offered_at.astimezone(zone)
    return local.date() + timedelta(days=1 if local.time() < CUTOFF else 2)


def offer_amounts(volume: object, price: object) -> tuple[float, float]:
    """(kW, NT$) of a BEMS offer: finite, positive JSON numbers within sane maxima."""
    checked = []
    for name, value, maximum in (("volume", volume, MAX_KW), ("price", price, MAX_PRICE)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise DrRejected(f"{name} must be a finite number")
        if not 0 < value <= maximum:
            raise DrRejected(f"{name} must be greater than 0 and at most {maximum:g}")
        checked.append(float(value))
    return checked[0], checked[1]


def acceptance_window(start: datetime, end: datetime, day: date, zone: ZoneInfo) -> None:
    """Raise unless [start, end) (aware) is a non-empty window within the local `day`."""
    day_start = datetime.combine(day, time(0), tzinfo=zone)
    day_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    if not day_start <= start < end <= day_end:
        raise DrRejected("the window must be non-empty and lie within the offers' target day")


def rate(samples: Iterable[tuple[datetime, float]], start: datetime, end: datetime, committed_kw: float) -> float:
    """Achieved ÷ committed curtailment over [start, end), from (time, net load kW) samples that
    include the previous seven days."""
    samples = list(samples)
    committed = committed_kw * (end - start).total_seconds() / 3600
    if committed <= 0:
        return 0.0
    baseline = sum(
        energy_kwh(samples, start - timedelta(days=days), end - timedelta(days=days))
        for days in range(1, BASELINE_DAYS + 1)
    ) / BASELINE_DAYS
    achieved = baseline - energy_kwh(samples, start, end)
    return min(1.0, max(0.0, achieved / committed))
