"""Time helpers: storage is UTC (`YYYY-MM-DDTHH:MM:SSZ`); local time (`TZ`) exists only at the edge."""

import os
from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def to_utc_iso(moment: datetime) -> str:
    """The storage form of a moment: UTC, second precision, `Z` suffix (sorts as time)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def from_utc_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def local_zone() -> ZoneInfo:
    # Not `TZ`: Lambda reserves that variable (and sets it to UTC).
    return ZoneInfo(os.environ.get("PLATFORM_TZ") or "Asia/Taipei")


def aws_region() -> str | None:
    """The region the data layer talks to: Lambda's AWS_REGION, else the CLI's default."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
