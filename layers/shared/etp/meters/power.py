"""GET /power_info views over stored readings (table, chart, summary). Pure logic."""

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from etp.clock import day_bounds
from etp.meters.readings import StoredReading, energy_kwh

ENERGY_KEYS = ("Demand", "PV", "EV", "ESS", "WT")


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
    """Energies (kWh) of one local day; each meter's series of each type is integrated on its own."""
    start, end = day_bounds(day, zone)
    series: dict[tuple[str, str], list[tuple[datetime, float]]] = defaultdict(list)
    for reading in readings:
        series[(reading.meter_id, reading.kind)].append((reading.taken_at, reading.power_kw))
    totals = dict.fromkeys(ENERGY_KEYS, 0.0)
    for (_, kind), samples in series.items():
        totals[kind] += energy_kwh(samples, start, end)
    generate = totals["WT"] + totals["PV"] + totals["EV"] + totals["ESS"]
    result = {key: round(value, 3) for key, value in totals.items()}
    result["Generate"] = round(generate, 3)
    result["Consume"] = round(totals["Demand"] - generate, 3)
    return result


def chart(readings: list[StoredReading], last_day: date, zone: ZoneInfo) -> list[dict]:
    """Seven objects, last_day-6 .. last_day ascending."""
    days = [last_day - timedelta(days=offset) for offset in range(6, -1, -1)]
    return [{"Date": day.strftime("%Y/%m/%d"), **day_energies(readings, day, zone)} for day in days]
