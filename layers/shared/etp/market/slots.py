"""Hourly market slots, in platform local time. Pure logic.

A slot is one local hour [H:00, H+1:00). Its gate closes at H-1:40 local: from then on its bids
cannot be created, edited or deleted. The front end writes times as `YYYY/MM/DD H` (hour 0-24,
padded or not); hour 24 means 00:00 of the next day.
"""

import re
from collections.abc import Callable
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


MAX_REASON = 500  # characters of an operator's reason


class BadLeave(ValueError):
    """An early seal or clear asked for without saying who asks, or why. `part`: what is wrong (`early`,
    `job`, `operator`, `reason`, or `unasked`: an operator or reason without early), so that a caller
    can say it in its own words."""

    def __init__(self, message: str, part: str) -> None:
        super().__init__(message)
        self.part = part


@dataclass(frozen=True)
class Leave:
    """An operator's leave to seal or clear a slot before its gate: who asks (their AWS identity, an
    ARN) and why. Both go on the slot's marker and into the audit record of the step."""

    by: str
    reason: str


def leave(by: object, reason: object) -> Leave:
    """A Leave from an operator's identity and reason (1 to MAX_REASON characters, trimmed); BadLeave
    when either is missing or empty, or the reason is too long."""
    if not isinstance(by, str) or not by.strip() or len(by) > 2048:
        raise BadLeave("operator: the identity of who asks (an ARN), required with early", "operator")
    if not isinstance(reason, str) or not 1 <= len(reason.strip()) <= MAX_REASON:
        raise BadLeave(f"reason: why, in 1 to {MAX_REASON} characters, required with early", "reason")
    return Leave(by=by.strip(), reason=reason.strip())


EARLY_JOBS = ("seal", "clear")  # the steps an operator may run before the slot's gate


def early_leave(job: str, early: object, operator: object, reason: object) -> Leave | None:
    """What an operator asked for `job`: None without `early` (then with neither operator nor reason),
    else their Leave; BadLeave unless `early` is true or false, the job one of EARLY_JOBS and the
    leave valid (`leave`)."""
    if early is None or early is False:
        if operator is not None or reason is not None:
            raise BadLeave("operator, reason: only with early", "unasked")
        return None
    if early is not True:
        raise BadLeave("early: true or false", "early")
    if job not in EARLY_JOBS:
        raise BadLeave("early: only for seal and clear", "job")
    return leave(operator, reason)


@dataclass(frozen=True)
class SlotState:
    """What a slot's marker in the bids table records (no marker: neither sealed nor cleared, no bid
    counted). Once sealed, no bid enters or leaves the slot; `early`: it was sealed before its gate,
    as an operator asked explicitly (`sealed_by`: their leave; None for seals recorded before leaves
    were); `cleared_by`: the leave of an early clear. A cleared slot is not cleared again. `bids`: how
    many bids the slot holds, as counted by every bid write in the same transaction that checks the
    marker (frozen by the seal; bids written before the count existed are not in it)."""

    sealed_at: datetime | None = None
    early: bool = False
    cleared_at: datetime | None = None
    bids: int = 0
    sealed_by: Leave | None = None
    cleared_by: Leave | None = None


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


def next_unsealed_slot(
    now: datetime, zone: ZoneInfo, last: datetime, sealed: Callable[[datetime], bool]
) -> datetime | None:
    """The earliest slot a bid can still enter: open by the clock and not sealed (an operator may seal
    a slot before its gate). Asks `sealed` slot by slot from the next open one, up to `last` (the
    bidding horizon), so it reads one marker unless slots were sealed early; None when all are."""
    slot = next_open_slot(now, zone)
    while slot <= last:
        if not sealed(slot):
            return slot
        slot += SLOT
    return None


def http_date(moment: datetime, zone: ZoneInfo) -> str:
    """RFC 1123 date of the local time with its offset, e.g. `Thu, 12 Mar 2020 22:15:00 +0800`."""
    return moment.astimezone(zone).strftime("%a, %d %b %Y %H:%M:%S %z")
