"""Hourly market slots, in platform local time. Pure logic.

A slot is one local hour [H:00, H+1:00). Its gate closes at H-1:40 local: from then on its bids
cannot be created, edited or deleted. The front end writes times as `YYYY/MM/DD H` (hour 0-24,
padded or not); hour 24 means 00:00 of the next day.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from etp.clock import FIRST_SUPPORTED_DAY, LAST_SUPPORTED_DAY, supported_day

SLOT = timedelta(hours=1)
GATE_BEFORE_START = timedelta(minutes=20)
# ASCII digits only, up to the true end: `\d` takes other scripts' digits and `$` a trailing newline.
_DH = re.compile(r"\A([0-9]{4})/([0-9]{2})/([0-9]{2}) ([0-9]{1,2})\Z")


class BadSlotTime(ValueError):
    pass


@dataclass(frozen=True)
class SlotState:
    """What a slot's marker in the bids table records (no marker: neither sealed nor cleared). Once
    sealed, no bid enters or leaves the slot; `early`: it was sealed before its gate, as an operator
    asked explicitly. A cleared slot is not cleared again."""

    sealed_at: datetime | None = None
    early: bool = False
    cleared_at: datetime | None = None


def parse_dh(text: object, zone: ZoneInfo) -> datetime:
    """`YYYY/MM/DD H` as an aware local datetime (hour 24 = next day 00:00)."""
    match = _DH.match(text) if isinstance(text, str) else None
    if match is None:
        raise BadSlotTime(f"{text!r} is not YYYY/MM/DD H")
    year, month, day, hour = (int(part) for part in match.groups())
    if hour > 24:
        raise BadSlotTime(f"{text!r}: hour {hour} is not 0-24")
    try:
        midnight = datetime(year, month, day, tzinfo=zone)
    except ValueError:
        raise BadSlotTime(f"{text!r} is not a date") from None
    if not supported_day(midnight.date()):
        first, last = FIRST_SUPPORTED_DAY.strftime("%Y/%m/%d"), LAST_SUPPORTED_DAY.strftime("%Y/%m/%d")
        raise BadSlotTime(f"{text!r} is not between {first} and {last}")
    # Wall-clock arithmetic: Taipei has no DST, and a slot is a wall-clock hour anyway.
    return (midnight.replace(tzinfo=None) + timedelta(hours=hour)).replace(tzinfo=zone)


def format_dh(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y/%m/%d %H")


def gate_closure(slot_start: datetime) -> datetime:
    return slot_start - GATE_BEFORE_START


def is_open(slot_start: datetime, now: datetime) -> bool:
    return now < gate_closure(slot_start)


def next_open_slot(now: datetime, zone: ZoneInfo) -> datetime:
    """The earliest slot still open for bidding: the coming hour while the minute is < 40, else the next."""
    local = now.astimezone(zone)
    coming = local.replace(minute=0, second=0, microsecond=0) + SLOT
    return coming if is_open(coming, now) else coming + SLOT


def http_date(moment: datetime, zone: ZoneInfo) -> str:
    """RFC 1123 date of the local time with its offset, e.g. `Thu, 12 Mar 2020 22:15:00 +0800`."""
    return moment.astimezone(zone).strftime("%a, %d %b %Y %H:%M:%S %z")
