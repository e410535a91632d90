"""Demand response rules (pure logic): offers, their target day, acceptance, views and the rate.

- An offer made before 10:30 local is for tomorrow; from 10:30 on, for the day after tomorrow.
- An aggregator accepts offers for a window [start, end) that lies within their (one) target day and
  has not started yet; all the listed offers or none (unknown, decided or other-day offers refuse
  the whole request).
- A BEMS sees its own offers, an aggregator everyone's; every list is ordered by target day, window
  start (the offer time until accepted), offer time and id.
- At 00:10 local, offers of days that have passed without acceptance become `result: false`.
- Baseline: for each moment of the window, the mean metered net load (kW, the Demand readings'
  grid power: import positive) at the same local time of day over the previous seven days
  (step-hold samples, as everywhere). The achieved curtailment is the baseline energy minus the
  metered energy over the window; the committed curtailment is the offered kW times the window's
  hours; rate = achieved / committed, clamped to [0, 1]. Days without readings count as zero load.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from etp.clock import FIRST_SUPPORTED_DAY, LAST_SUPPORTED_DAY, day_bounds, supported_day
from etp.meters.readings import energy_kwh
from etp.numbers import BadNumber, thousandths

CUTOFF = time(10, 30)
BASELINE_DAYS = 7
MAX_KW = 100_000
MAX_PRICE = 1_000
MAX_ACCEPTED = 50  # offers in one acceptance: two writes each in one DynamoDB transaction (≤ 100)
OFFERED, ACCEPTED, DECLINED, RATED = "已投標", "已得標", "未得標", "已結算"
ISO_DT = "%Y-%m-%d %H:%M:%S"
# ASCII digits only (`\d` takes other scripts' digits), matched to the true end.
ISO_D_SHAPE = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
ISO_DT_SHAPE = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\Z")


class DrRejected(ValueError):
    pass


class DrConflict(Exception):
    """An offer changed (or its audit record existed) meanwhile: nothing was written."""


@dataclass(frozen=True)
class DrOffer:
    id: str
    user_id: str
    executor: str  # the offering BEMS's account
    day: date  # target day, local
    volume_w: int  # committed curtailment, W (kW x 1000)
    price_milli: int  # NT$ x 1000
    offered_at: datetime  # UTC
    status: str = OFFERED
    version: int = 0
    result: bool | None = None
    acceptor_id: str | None = None
    acceptor: str | None = None  # the accepting aggregator's account
    start: datetime | None = None  # the accepted window, UTC
    end: datetime | None = None
    rate: float | None = None
    tx_hash: str | None = None  # the audit-trail transaction of its result


def target_day(offered_at: datetime, zone: ZoneInfo) -> date:
    local = offered_at.astimezone(zone)
    return local.date() + timedelta(days=1 if local.time() < CUTOFF else 2)


# No offer is older than the platform: a result query never needs to look before this day.
FIRST_OFFER_DAY = date(2021, 1, 1)


def result_days(first: date, last: date, now: datetime, zone: ZoneInfo) -> tuple[date, date] | None:
    """The days of a result query (`last` inclusive) that can hold offers: from the platform's first
    day to the newest target day now, so any range costs at most one read per month of history.
    None when no day of the range can; an end before the start is refused."""
    if last < first:
        raise DrRejected("end_date: before start_date")
    first, last = max(first, FIRST_OFFER_DAY), min(last, target_day(now, zone))
    return (first, last) if first <= last else None


def offer_amounts(volume: object, price: object) -> tuple[int, int]:
    """(W, milli-NT$) of a BEMS offer: finite, positive JSON numbers, ≤ 3 decimals, within sane maxima."""
    try:
        return thousandths("volume", volume, MAX_KW), thousandths("price", price, MAX_PRICE)
    except BadNumber as why:
        raise DrRejected(str(why)) from None


def parse_iso_date(text: object, name: str) -> date:
    if not isinstance(text, str) or not ISO_D_SHAPE.fullmatch(text):  # fromisoformat takes other ISO forms too
        raise DrRejected(f"{name}: expected YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DrRejected(f"{name}: expected YYYY-MM-DD") from None


def parse_iso_dt(text: object, name: str, zone: ZoneInfo) -> datetime:
    """A local `YYYY-MM-DD HH:MM:SS` (exactly: strptime alone takes unpadded fields) as an aware UTC time."""
    if not isinstance(text, str) or not ISO_DT_SHAPE.fullmatch(text):
        raise DrRejected(f"{name}: expected YYYY-MM-DD HH:MM:SS")
    try:
        local = datetime.strptime(text, ISO_DT)
    except ValueError:
        raise DrRejected(f"{name}: expected YYYY-MM-DD HH:MM:SS") from None
    if not supported_day(local.date()):  # year 1 or 9999 cannot be moved to UTC
        raise DrRejected(f"{name}: not between {FIRST_SUPPORTED_DAY} and {LAST_SUPPORTED_DAY}")
    return local.replace(tzinfo=zone).astimezone(UTC)


def parse_uuids(value: object, name: str, limit: int) -> list[str]:
    """A list of 1..limit UUIDs, in canonical form."""
    if not isinstance(value, list) or not 1 <= len(value) <= limit:
        raise DrRejected(f"{name}: a list of 1 to {limit} uuids")
    ids = []
    for item in value:
        try:
            ids.append(str(UUID(item)))
        except (AttributeError, TypeError, ValueError):
            raise DrRejected(f"{name}: {item!r} is not a uuid") from None
    return ids


def acceptance_window(start: datetime, end: datetime, day: date, zone: ZoneInfo) -> None:
    """Raise unless [start, end) (aware) is a non-empty window within the local `day`."""
    day_start, day_end = day_bounds(day, zone)
    if not day_start <= start < end <= day_end:
        raise DrRejected("the window must be non-empty and lie within the offers' target day")


def _known(ids: list[str], found: dict[str, DrOffer]) -> list[DrOffer]:
    """The offers `ids`, every one of which must exist."""
    offers = [found.get(i) for i in ids]
    if any(o is None for o in offers):
        raise DrRejected("uuid: unknown offer")
    return [o for o in offers if o is not None]


def _offers_day(ids: list[str], found: dict[str, DrOffer]) -> date:
    """The one target day of the offers `ids`, which must be distinct, known and still offered."""
    if not 1 <= len(ids) <= MAX_ACCEPTED or len(set(ids)) != len(ids):
        raise DrRejected(f"uuid: 1 to {MAX_ACCEPTED} distinct offers")
    offers = _known(ids, found)
    if any(o.status != OFFERED for o in offers):
        raise DrRejected("uuid: an offer is already decided")
    days = {o.day for o in offers}
    if len(days) != 1:
        raise DrRejected("uuid: the offers are for different days")
    (day,) = days
    return day


def check_acceptance(
    ids: list[str], found: dict[str, DrOffer], start: datetime, end: datetime, now: datetime, zone: ZoneInfo
) -> date:
    """The target day of an acceptance of `ids` for [start, end); raises unless every rule holds."""
    day = _offers_day(ids, found)
    acceptance_window(start, end, day, zone)
    if start < now:
        raise DrRejected("start_time: the window has already started")
    return day


def visible_to(offer: DrOffer, user_id: str, is_aggregator: bool) -> bool:
    """An aggregator sees every offer, a BEMS its own."""
    return is_aggregator or offer.user_id == user_id


def ordered(offers: Iterable[DrOffer]) -> list[DrOffer]:
    """Offers as every list shows them: by target day, then window start (the offer time until
    accepted), offer time and id."""
    return sorted(offers, key=lambda o: (o.day, o.start or o.offered_at, o.offered_at, o.id))


def accepted(offer: DrOffer, acceptor_id: str, acceptor: str, start: datetime, end: datetime) -> DrOffer:
    """The offer once an aggregator (`acceptor_id`, account `acceptor`) accepted it for [start, end)."""
    return replace(
        offer, status=ACCEPTED, result=True, acceptor_id=acceptor_id, acceptor=acceptor, start=start, end=end
    )


def declined(offer: DrOffer) -> DrOffer:
    """The offer once its target day passed without acceptance."""
    return replace(offer, status=DECLINED, result=False)


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime(ISO_DT)


def offer_row(offer: DrOffer, zone: ZoneInfo) -> dict:
    """GET /DR_bid: before acceptance, `start_time` is the target day's local midnight."""
    start = offer.start or day_bounds(offer.day, zone)[0]
    return {
        "uuid": offer.id,
        "executor": offer.executor,
        "start_time": _local(start, zone),
        "end_time": _local(offer.end, zone) if offer.end else None,
        "volume": offer.volume_w / 1000,
        "price": offer.price_milli / 1000,
    }


def result_row(
    offer: DrOffer, zone: ZoneInfo, counterpart: Callable[[str], tuple[str, str]], explorer_url: Callable[[str], str]
) -> dict:
    """GET /DR_result. The counterpart is the accepting aggregator (name, address): null until accepted."""
    name, address = counterpart(offer.acceptor_id) if offer.acceptor_id else (None, None)
    return {
        **offer_row(offer, zone),
        "acceptor": offer.acceptor,
        "counterpart_name": name,
        "counterpart_address": address,
        "result": offer.result,
        "status": offer.status,
        "rate": offer.rate,
        "blockchain_url": explorer_url(offer.tx_hash) if offer.tx_hash else None,
    }


def rate(
    samples: Iterable[tuple[datetime, float]], start: datetime, end: datetime, committed_kw: float, zone: ZoneInfo
) -> float:
    """Achieved ÷ committed curtailment over [start, end), from (time, net load kW) samples that
    include the previous seven days (same local wall-clock hours, across a DST change too)."""
    samples = list(samples)
    start, end = start.astimezone(zone), end.astimezone(zone)  # aware arithmetic on one zone is wall-clock
    committed = committed_kw * (end - start).total_seconds() / 3600
    if committed <= 0:
        return 0.0
    baseline = (
        sum(
            energy_kwh(samples, start - timedelta(days=days), end - timedelta(days=days))
            for days in range(1, BASELINE_DAYS + 1)
        )
        / BASELINE_DAYS
    )
    achieved = baseline - energy_kwh(samples, start, end)
    return round(min(1.0, max(0.0, achieved / committed)), 3)
