"""Meter readings: tags, payload validation, and energy from power samples. Pure logic.

Energy rule (step-hold): each sample's power holds until the next sample of the same series,
for at most 15 minutes, and never past the end of the period. A day's energy in kWh is the sum
of power (kW) x held time (h) over the samples taken within that local day.
"""

import json
import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo

from etp.iota.trytes import ALPHABET

MAX_ABS_KW = 100_000.0  # 100 MW: anything beyond is a broken meter, not a building
# Plausibility (checked against the meter and the run, see check_plausible): the stable, counted reasons.
FROM_THE_FUTURE = "from the future"
ABOVE_RATED_CAPACITY = "above rated capacity"
HOLD_CAP = timedelta(minutes=15)
DAY_SLACK = timedelta(hours=1)

# payload type -> (tag prefix, the power fields it carries, the field shown as power_display, data_type)
TYPES: dict[str, tuple[str, tuple[str, ...], str, str]] = {
    "Demand": ("BEMS9HOMEPAGE9INFORMATION9", ("grid", "pv", "building", "ess", "ev"), "grid", "NetLoad"),
    "ESS": ("BEMS9ESS9DISPLAY9", ("power_display",), "power_display", "ESS"),
    "EV": ("BEMS9EV9DISPLAY9", ("power",), "power", "EV"),
    "PV": ("BEMS9PV9DISPLAY9", ("pac",), "pac", "PV"),
    "WT": ("BEMS9WT9DISPLAY9", ("wind_grid_power",), "wind_grid_power", "WT"),
}
DATA_TYPES = {spec[3]: kind for kind, spec in TYPES.items()}  # NetLoad -> Demand, ...


class ReadingRejected(Exception):
    """The reason is short and stable: it is logged and counted as a metric dimension."""


@dataclass(frozen=True)
class Reading:
    id: str
    kind: str  # Demand | ESS | EV | PV | WT
    taken_at: datetime  # UTC
    power_kw: float  # the value shown as power_display
    values: dict[str, float]

    @property
    def data_type(self) -> str:
        return TYPES[self.kind][3]


def tag_for(kind: str, taken_at: datetime) -> str:
    prefix = TYPES[kind][0]
    return (prefix + ALPHABET[1 + taken_at.astimezone(UTC).hour]).ljust(27, "9")


def parse_tag(tag: str) -> tuple[str, int]:
    """(payload type, UTC hour) of a reading's tag."""
    for kind, (prefix, *_rest) in TYPES.items():
        if tag.startswith(prefix) and len(tag) == 27:
            hour_letter, padding = tag[len(prefix)], tag[len(prefix) + 1 :]
            hour = ALPHABET.find(hour_letter) - 1
            if 0 <= hour <= 23 and set(padding) <= {"9"}:
                return kind, hour
    raise ReadingRejected("unknown tag")


def _number(payload: dict, name: str) -> float:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ReadingRejected(f"{name} is not a number")
    value = float(value)
    if not math.isfinite(value) or abs(value) > MAX_ABS_KW:
        raise ReadingRejected(f"{name} is not a finite power within {MAX_ABS_KW:g} kW")
    return value


def _timestamp(text: Any, zone: ZoneInfo) -> datetime:
    if not isinstance(text, str):
        raise ReadingRejected("updated_at is not a time")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ReadingRejected("updated_at is not a time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)  # naive means platform local time
    return moment.astimezone(UTC)


def _reading_id(value: Any) -> str:
    """A payload's `id`, a UUID in its canonical form."""
    try:
        reading_id = str(uuid.UUID(value)) if isinstance(value, str) else None
    except ValueError:
        reading_id = None
    if reading_id is None:
        raise ReadingRejected("id is not a UUID")
    return reading_id


def _taken_at(value: Any, zone: ZoneInfo, *, tag_hour: int, address_day) -> datetime:
    """A payload's `updated_at` (UTC), within its address's day (give or take DAY_SLACK) and in its tag's hour."""
    taken_at = _timestamp(value, zone)
    day_start = datetime(address_day.year, address_day.month, address_day.day, tzinfo=UTC)
    if not day_start - DAY_SLACK <= taken_at < day_start + timedelta(days=1) + DAY_SLACK:
        raise ReadingRejected("updated_at is outside the address's day")
    if taken_at.hour != tag_hour:
        raise ReadingRejected("tag hour does not match updated_at")
    return taken_at


def parse_payload(raw: bytes, *, kind: str, tag_hour: int, account: str, address_day, zone: ZoneInfo) -> Reading:
    """Validate a decrypted payload against what the transaction and the meter say it must be."""
    try:
        payload = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ReadingRejected("payload is not JSON") from None
    if not isinstance(payload, dict):
        raise ReadingRejected("payload is not an object")
    reading_id = _reading_id(payload.get("id"))
    if payload.get("field") != account:
        raise ReadingRejected("field is not the meter owner's account")
    _, fields, shown, _ = TYPES[kind]
    missing = [name for name in fields if name not in payload]
    if missing:
        raise ReadingRejected("payload does not match the tag's type")
    values = {name: _number(payload, name) for name in fields}
    taken_at = _taken_at(payload.get("updated_at"), zone, tag_hour=tag_hour, address_day=address_day)
    return Reading(id=reading_id, kind=kind, taken_at=taken_at, power_kw=values[shown], values=values)


def check_plausible(reading: Reading, *, not_after: datetime, rated_kw: float) -> None:
    """Reject a reading no working meter can have taken: one dated after `not_after` (when it was
    ingested plus the clock-skew allowance), or one whose power in any field exceeds the meter's
    rated capacity (exactly at the capacity is plausible)."""
    if reading.taken_at > not_after:
        raise ReadingRejected(FROM_THE_FUTURE)
    if any(abs(value) > rated_kw for value in reading.values.values()):
        raise ReadingRejected(ABOVE_RATED_CAPACITY)


def energy_kwh(samples: Iterable[tuple[datetime, float]], start: datetime, end: datetime) -> float:
    """Step-hold integral of (time, kW) samples over [start, end), each held at most HOLD_CAP."""
    inside = sorted((t, p) for t, p in samples if start <= t < end)
    total = 0.0
    for index, (moment, power) in enumerate(inside):
        following = inside[index + 1][0] if index + 1 < len(inside) else end
        held = min(following, moment + HOLD_CAP, end) - moment
        total += power * held.total_seconds() / 3600
    return total


@dataclass(frozen=True)
class StoredReading:
    id: str
    user_id: str
    meter_id: str
    kind: str
    taken_at: datetime  # UTC
    power_kw: float
    tx_hash: str

    @property
    def data_type(self) -> str:
        return TYPES[self.kind][3]


# What storing one reading came to: stored, its transaction already processed, or its id seen before.
Outcome = Literal["stored", "duplicate", "replayed"]


class Readings(Protocol):
    """Stored readings as the market and DR jobs read them."""

    def between(self, user_id: str, start: datetime, end: datetime) -> list[StoredReading]: ...


class ReadingLedger(Protocol):
    """Where the tracker writes readings, and notes every transaction it processed (or rejected)."""

    def processed(self, hashes: list[str]) -> set[str]: ...
    def store_many(self, items: list[tuple[StoredReading, dict[str, float], str]]) -> list[Outcome]: ...
    def reject(self, tx_hash: str, reason: str) -> bool: ...


@dataclass(frozen=True)
class Overlay:
    """Readings as they are once a change has reached the (eventually consistent) index: `include`
    added to what `readings` returns (a reading just released), `exclude` (ids) taken out (one just
    quarantined). Implements Readings."""

    readings: Readings
    include: tuple[StoredReading, ...] = ()
    exclude: frozenset[str] = frozenset()

    def between(self, user_id: str, start: datetime, end: datetime) -> list[StoredReading]:
        found = {r.id: r for r in self.readings.between(user_id, start, end)}
        found |= {r.id: r for r in self.include if r.user_id == user_id and start <= r.taken_at < end}
        return sorted((r for r in found.values() if r.id not in self.exclude), key=lambda r: (r.taken_at, r.id))
