"""etp.dr.service over an in-memory offer book: who sees what, in which order, and acceptance."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from etp.dr import rules as dr
from etp.dr import service

TAIPEI = ZoneInfo("Asia/Taipei")
NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # 09:00 local: offers are for 2026-11-26
DAY = date(2026, 11, 26)


@dataclass(frozen=True)
class Party:
    id: str
    account: str
    is_aggregator: bool = False


@dataclass
class Book:
    offers: dict[str, dr.DrOffer] = field(default_factory=dict)

    def create(self, offer: dr.DrOffer) -> None:
        self.offers[offer.id] = offer

    def get_many(self, ids: list[str]) -> dict[str, dr.DrOffer]:
        return {i: self.offers[i] for i in ids if i in self.offers}

    def of_user(self, user_id: str, first: date, last: date) -> list[dr.DrOffer]:
        return [o for o in self.of_days(first, last) if o.user_id == user_id]

    def of_days(self, first: date, last: date) -> list[dr.DrOffer]:
        return [o for o in reversed(self.offers.values()) if first <= o.day <= last]

    def decide(self, changes: list[tuple[dr.DrOffer, dr.DrOffer]], now: datetime) -> None:
        self.offers.update((new.id, new) for _, new in changes)


ALICE, BOB, AGGREGATOR = Party("u1", "Alice_BEMS"), Party("u2", "Bob_BEMS"), Party("u9", "Agg", is_aggregator=True)


@pytest.fixture
def book() -> Book:
    book = Book()
    for minute, party in enumerate((ALICE, BOB, ALICE)):
        service.offer(book, party, 1000 * (minute + 1), 5000, NOW + timedelta(minutes=minute), TAIPEI)
    return book


def test_a_bems_sees_its_own_offers_an_aggregator_everyones_in_offer_order(book):
    assert [o.volume_w for o in service.offers_of_day(book, ALICE, DAY)] == [1000, 3000]
    assert [o.volume_w for o in service.offers_of_day(book, AGGREGATOR, DAY)] == [1000, 2000, 3000]
    ids = list(book.offers)
    assert [o.user_id for o in service.results_by_id(book, BOB, ids)] == ["u2"]
    assert len(service.results_by_id(book, AGGREGATOR, [*ids, "unknown"])) == 3


def test_an_acceptance_takes_all_the_offers_or_none(book):
    first, second, third = book.offers
    start, end = datetime(2026, 11, 26, 9, tzinfo=UTC), datetime(2026, 11, 26, 10, tzinfo=UTC)
    with pytest.raises(dr.DrRejected):
        service.accept(book, AGGREGATOR, [first, "unknown"], start, end, NOW, TAIPEI)
    assert all(o.status == dr.OFFERED for o in book.offers.values())
    accepted = service.accept(book, AGGREGATOR, [first, third], start, end, NOW, TAIPEI)
    assert [(o.status, o.result, o.acceptor, o.start) for o in accepted] == [(dr.ACCEPTED, True, "Agg", start)] * 2
    assert book.offers[second].status == dr.OFFERED
    # accepted offers are listed by their window's start, after the offers not accepted
    results = service.results_of_days(book, AGGREGATOR, DAY, DAY, NOW, TAIPEI)
    assert [o.id for o in results] == [second, first, third]
