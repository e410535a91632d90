"""Time helpers: storage is UTC (`YYYY-MM-DDTHH:MM:SSZ`); local time exists only at the edge and in
rules defined in local time (slots, days, the DR cutoff)."""

import functools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from etp.settings import settings

# The days a request may name: datetime's own range (years 1-9999) less a margin, so that a day's
# bounds in any zone, the week before it (a chart) and the day after it stay representable. The first
# is the Unix epoch, before any reading or bid; the last is far beyond any horizon.
FIRST_SUPPORTED_DAY = date(1970, 1, 1)
LAST_SUPPORTED_DAY = date(9998, 12, 31)


def supported_day(day: date) -> bool:
    return FIRST_SUPPORTED_DAY <= day <= LAST_SUPPORTED_DAY


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def to_utc_iso(moment: datetime) -> str:
    """The storage form of a moment: UTC, second precision, `Z` suffix (sorts as time)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_utc_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_zone() -> ZoneInfo:
    return _zone(settings().platform_tz)


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[local midnight, next local midnight) of a local day, in UTC."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    return start.astimezone(UTC), datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
