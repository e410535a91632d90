"""GET /power_info views over stored readings (table, chart, summary). Pure logic."""

import re
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Protocol
from zoneinfo import ZoneInfo

from etp.clock import FIRST_SUPPORTED_DAY, LAST_SUPPORTED_DAY, day_bounds, supported_day
from etp.meters import rollups
from etp.meters.readings import StoredReading

ENERGY_KEYS = rollups.ENERGY_KEYS
PARTICIPANT_ID = re.compile(r"\A[0-9a-fA-F-]{36}\Z")
# ASCII digits only (strptime's `%Y` takes other scripts' digits too), matched to the true end.
LOCAL_DAY = re.compile(r"\A[0-9]{4}/[0-9]{2}/[0-9]{2}\Z")


class QueryRejected(ValueError):
    """Why a /power_info query cannot be answered (the 400's description)."""


class Caller(Protocol):
    id: str
    is_aggregator: bool


def whose_data(caller: Caller, participant_id: str | None, is_participant: Callable[[str], bool]) -> str:
    """Whose readings a caller sees: an aggregator may name any participant; anyone else always gets
    their own, whatever they name."""
    if participant_id is None or not caller.is_aggregator or participant_id == caller.id:
        return caller.id
    if not PARTICIPANT_ID.fullmatch(participant_id) or not is_participant(participant_id):
        raise QueryRejected("participant_id: no such participant")
    return participant_id


def local_day(name: str, text: str) -> date:
    """A query's local day, `YYYY/MM/DD`, within the supported days."""
    try:
        if not LOCAL_DAY.match(text):
            raise ValueError(text)
        day = datetime.strptime(text, "%Y/%m/%d").date()
    except ValueError:
        raise QueryRejected(f"{name}: {text!r} is not a date YYYY/MM/DD") from None
    if not supported_day(day):
        first, last = FIRST_SUPPORTED_DAY.strftime("%Y/%m/%d"), LAST_SUPPORTED_DAY.strftime("%Y/%m/%d")
        raise QueryRejected(f"{name}: {text!r} is not between {first} and {last}")
    return day


def table_row(reading: StoredReading, zone: ZoneInfo, explorer_url: Callable[[str], str]) -> dict:
    local = reading.taken_at.astimezone(zone)
    return {
        "id": reading.id,
        "date": local.strftime("%Y/%m/%d"),
        "time": local.strftime("%H:%M"),
        "data_type": reading.data_type,
        "power_display": round(reading.power_kw, 3),
        "address": explorer_url(reading.tx_hash),
    }


def day_energies(readings: Iterable[StoredReading], day: date, zone: ZoneInfo) -> dict[str, float]:
    """Energies (kWh) of one local day; each meter's series of each type is integrated on its own,
    exactly (etp.meters.rollups), and rounded once at the end."""
    start, end = day_bounds(day, zone)
    totals = dict.fromkeys(ENERGY_KEYS, Fraction(0))
    for reading, kws in rollups.contributions(readings, start, end):
        totals[reading.kind] += kws
    return rollups.energies(totals)


def rollup_energies(cells: rollups.Cells | None) -> dict[str, float]:
    """The same energies from a day's rollup (None: no reading that day)."""
    return rollups.energies(rollups.kind_totals((cells or {}).values()))


def rollup_chart(days: dict[date, rollups.Cells], last_day: date) -> list[dict]:
    """Seven objects, last_day-6 .. last_day ascending, from the days' rollups."""
    listed = [last_day - timedelta(days=offset) for offset in range(6, -1, -1)]
    return [{"Date": day.strftime("%Y/%m/%d"), **rollup_energies(days.get(day))} for day in listed]


def chart(readings: list[StoredReading], last_day: date, zone: ZoneInfo) -> list[dict]:
    """Seven objects, last_day-6 .. last_day ascending."""
    days = [last_day - timedelta(days=offset) for offset in range(6, -1, -1)]
    return [{"Date": day.strftime("%Y/%m/%d"), **day_energies(readings, day, zone)} for day in days]
