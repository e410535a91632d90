"""The daily demand-response job (00:10 local), idempotent: closing the days that have passed.

For the target days of the last CATCH_UP days before today (so missed runs catch up):
- an offer still 已投標 becomes `result: false` (未得標), with its audit record, in one transaction;
- an accepted offer whose window has ended gets its rate from metered data (已得標 -> 已結算);
  see etp.dr.rules for the baseline. The window ended before today began, so its readings are in.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from etp.dr import rules as dr
from etp.meters.readings import Readings

CATCH_UP = 7


class DrStore(Protocol):
    def of_days(self, first: date, last: date) -> list[dr.DrOffer]: ...
    def decide(self, changes: list[tuple[dr.DrOffer, dr.DrOffer]], now: datetime) -> None: ...
    def set_rate(self, offer: dr.DrOffer, rate: float) -> bool: ...


@dataclass
class CloseReport:
    days: tuple[str, str]
    declined: int = 0
    rated: int = 0

    def as_dict(self) -> dict:
        return {"days": list(self.days), "declined": self.declined, "rated": self.rated}


def net_load(readings: Readings, user_id: str, start: datetime, end: datetime) -> list[tuple[datetime, float]]:
    """(time, kW drawn from the grid) of a building's Demand readings in [start, end)."""
    return [(r.taken_at, r.power_kw) for r in readings.between(user_id, start, end) if r.kind == "Demand"]


def close(store: DrStore, readings: Readings, now: datetime, zone: ZoneInfo) -> CloseReport:
    today = now.astimezone(zone).date()
    first, last = today - timedelta(days=CATCH_UP), today - timedelta(days=1)
    report = CloseReport(days=(first.isoformat(), last.isoformat()))
    for offer in store.of_days(first, last):
        if offer.status == dr.OFFERED:
            try:
                store.decide([(offer, dr.declined(offer))], now)
            except dr.DrConflict:
                continue  # decided meanwhile
            report.declined += 1
        elif offer.status == dr.ACCEPTED and offer.start and offer.end and offer.end <= now:
            samples = net_load(readings, offer.user_id, offer.start - timedelta(days=dr.BASELINE_DAYS), offer.end)
            achieved = dr.rate(samples, offer.start, offer.end, offer.volume_w / 1000, zone)
            report.rated += store.set_rate(offer, achieved)
    return report
