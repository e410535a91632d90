"""What BEMS and aggregators do with demand-response offers: offer, accept, and read them back.

A BEMS offers curtailment and sees its own offers; an aggregator accepts offers and sees everyone's
(etp.dr.rules). Every list comes in one order (rules.ordered). Every refusal is a DrRejected, or a
DrConflict when an offer changed meanwhile. Pure logic: the store is passed in.
"""

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from etp.dr import rules
from etp.dr.rules import DrOffer


class OfferBook(Protocol):
    def create(self, offer: DrOffer) -> None: ...
    def get_many(self, ids: list[str]) -> dict[str, DrOffer]: ...
    def of_user(self, user_id: str, first: date, last: date) -> list[DrOffer]: ...
    def of_days(self, first: date, last: date) -> list[DrOffer]: ...
    def decide(self, changes: list[tuple[DrOffer, DrOffer]], now: datetime) -> None: ...


class Party(Protocol):
    """Who asks: a BEMS or an aggregator (an accounts User)."""

    @property
    def id(self) -> str: ...
    @property
    def account(self) -> str: ...
    @property
    def is_aggregator(self) -> bool: ...


def offer(book: OfferBook, bems: Party, volume_w: int, price_milli: int, now: datetime, zone: ZoneInfo) -> DrOffer:
    """A BEMS's new offer of `volume_w` W at `price_milli`, for the target day of `now`."""
    new = DrOffer(
        id=str(uuid.uuid4()),
        user_id=bems.id,
        executor=bems.account,
        day=rules.target_day(now, zone),
        volume_w=volume_w,
        price_milli=price_milli,
        offered_at=now,
    )
    book.create(new)
    return new


def accept(
    book: OfferBook, aggregator: Party, ids: list[str], start: datetime, end: datetime, now: datetime, zone: ZoneInfo
) -> list[DrOffer]:
    """Accept the offers `ids` for [start, end), all or none; the offers as accepted."""
    found = book.get_many(ids)
    rules.check_acceptance(ids, found, start, end, now, zone)
    changes = [(found[i], rules.accepted(found[i], aggregator.id, aggregator.account, start, end)) for i in ids]
    book.decide(changes, now)
    return [new for _, new in changes]


def _of_days(book: OfferBook, viewer: Party, first: date, last: date) -> Iterable[DrOffer]:
    return book.of_days(first, last) if viewer.is_aggregator else book.of_user(viewer.id, first, last)


def offers_of_day(book: OfferBook, viewer: Party, day: date) -> list[DrOffer]:
    """The offers for target day `day` that `viewer` sees."""
    return rules.ordered(_of_days(book, viewer, day, day))


def results_of_days(
    book: OfferBook, viewer: Party, first: date, last: date, now: datetime, zone: ZoneInfo
) -> list[DrOffer]:
    """The offers for the target days first..last (inclusive) that `viewer` sees."""
    days = rules.result_days(first, last, now, zone)
    return [] if days is None else rules.ordered(_of_days(book, viewer, *days))


def results_by_id(book: OfferBook, viewer: Party, ids: list[str]) -> list[DrOffer]:
    """The offers among `ids` that `viewer` sees (unknown ids are left out)."""
    found = book.get_many(ids).values()
    return rules.ordered(o for o in found if rules.visible_to(o, viewer.id, viewer.is_aggregator))
