"""The market jobs on moto: seal, clear, deliver and settle a slot, each idempotent."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from builders import placed_bid
from helpers import FakeLambdaContext, load_function

from etp.market import bids
from etp.market.store import DynamoBidStore, StoredBid
from etp.meters.readings import StoredReading
from etp.meters.readings_store import DynamoReadingStore

jobs_function = load_function("market_jobs")
SLOT = datetime(2030, 1, 1, 2, 0, tzinfo=UTC)  # 10:00-11:00 in Taipei
SLOT_EVENT = "2030-01-01T10:00:00"


def bid(user: str, side: str, kwh: float, price: float) -> StoredBid:
    return placed_bid(user_id=user, side=side, kwh=kwh, price=price, uploaded_at=datetime(2029, 12, 31, tzinfo=UTC))


def run(job: str, **extra):
    return jobs_function.lambda_handler({"job": job, "slot": SLOT_EVENT, **extra}, FakeLambdaContext())


def statuses() -> dict[str, str]:
    return {b.account: b.status for b in DynamoBidStore().of_slot(SLOT)}


def metered(user: str, kw: float, until: datetime) -> None:
    """Demand readings every 15 minutes from the slot's start to `until` (grid > 0 imports)."""
    items, moment = [], SLOT
    while moment <= until:
        reading = StoredReading(
            id=str(uuid.uuid4()),
            user_id=user,
            meter_id=f"m-{user}",
            kind="Demand",
            taken_at=moment,
            power_kw=kw,
            tx_hash=uuid.uuid4().hex.upper(),
        )
        items.append((reading, {"grid": kw}, "A" * 81))
        moment += timedelta(minutes=15)
    DynamoReadingStore().store_many(items)


@pytest.fixture
def book(aws, frozen_clock):
    frozen_clock.now = datetime(2030, 1, 1, 1, 45, tzinfo=UTC)  # 09:45 in Taipei: the slot's gate has passed
    return {
        "A": bid("A", "sell", 10, 2.0),
        "B": bid("B", "buy", 6, 4.0),
        "C": bid("C", "buy", 6, 3.0),
        "D": bid("D", "buy", 5, 1.0),
    }


def test_the_whole_life_of_a_slot(book):
    assert run("seal")["results"][0] == {"slot": SLOT.isoformat(), "changed": 4, "audit_recorded": True}
    assert set(statuses().values()) == {bids.SEALED}
    assert run("seal")["results"][0] == {"slot": SLOT.isoformat(), "changed": 0, "audit_recorded": False}

    cleared = run("clear")["results"][0]
    assert cleared == {
        "slot": SLOT.isoformat(),
        "changed": 4,
        "volume_wh": 10_000,
        "price_milli": 2_500,
        "pairs": 2,
        "audit_recorded": True,
    }
    assert statuses() == {"A_BEMS": bids.WON, "B_BEMS": bids.WON, "C_BEMS": bids.WON, "D_BEMS": bids.LOST}
    by_account = {b.account: b for b in DynamoBidStore().of_slot(SLOT)}
    assert (by_account["B_BEMS"].fill_wh, by_account["C_BEMS"].fill_wh, by_account["A_BEMS"].fill_wh) == (
        6_000,
        4_000,
        10_000,
    )
    assert sorted((p.counterpart, p.volume_wh) for p in by_account["A_BEMS"].pairs) == [
        ("B_BEMS", 6_000),
        ("C_BEMS", 4_000),
    ]
    assert [(p.counterpart, p.volume_wh) for p in by_account["C_BEMS"].pairs] == [("A_BEMS", 4_000)]
    assert run("clear")["results"][0] == {
        "slot": SLOT.isoformat(),
        "changed": 0,
        "volume_wh": 10_000,
        "price_milli": 2_500,
        "pairs": 2,
        "cleared_at": "2030-01-01T01:45:00Z",
    }, "clearing again changes nothing, records nothing and answers the first clearing's result"
    assert {b.account: b for b in DynamoBidStore().of_slot(SLOT)}["C_BEMS"].pairs == by_account["C_BEMS"].pairs

    assert run("deliver")["results"][0]["changed"] == 3
    assert statuses()["D_BEMS"] == bids.LOST and statuses()["A_BEMS"] == bids.DELIVERING

    end = SLOT + timedelta(hours=1)
    metered("A", -20.0, end)  # exports 20 kWh of its 10
    metered("B", 6.0, end)  # imports 6 kWh of its 6
    metered("C", 2.0, end)  # imports 2 kWh of its 4
    settled = jobs_function.lambda_handler(
        {"job": "settle", "slot": SLOT_EVENT, "now": "2030-01-01T11:05:00"}, FakeLambdaContext()
    )
    assert settled["results"][0]["changed"] == 6  # 3 to 結算中, then 3 to 已結算
    after = {b.account: b for b in DynamoBidStore().of_slot(SLOT)}
    assert {a: b.status for a, b in after.items()} == {
        "A_BEMS": bids.SETTLED,
        "B_BEMS": bids.SETTLED,
        "C_BEMS": bids.SETTLED,
        "D_BEMS": bids.LOST,
    }
    seller_pairs = {p.counterpart: p for p in after["A_BEMS"].pairs}
    assert (seller_pairs["B_BEMS"].achievement, seller_pairs["B_BEMS"].settlement_milli) == (1.0, 15_000)
    assert (seller_pairs["C_BEMS"].achievement, seller_pairs["C_BEMS"].settlement_milli) == (0.5, 5_000)
    assert after["C_BEMS"].pairs[0].settlement_milli == 5_000
    again = jobs_function.lambda_handler(
        {"job": "settle", "slot": SLOT_EVENT, "now": "2030-01-01T11:10:00"}, FakeLambdaContext()
    )
    assert again["results"][0]["changed"] == 0


def test_settlement_waits_for_readings_until_the_deadline(book):
    for job in ("seal", "clear", "deliver"):
        run(job)
    metered("A", -20.0, SLOT + timedelta(minutes=30))  # readings stop half way
    early = jobs_function.lambda_handler(
        {"job": "settle", "slot": SLOT_EVENT, "now": "2030-01-01T11:30:00"}, FakeLambdaContext()
    )
    assert early["results"][0]["waiting"] and set(statuses().values()) == {bids.SETTLING, bids.LOST}
    late = jobs_function.lambda_handler(
        {"job": "settle", "slot": SLOT_EVENT, "now": "2030-01-01T13:00:00"}, FakeLambdaContext()
    )
    assert late["results"][0]["changed"] == 3
    buyer = {b.account: b for b in DynamoBidStore().of_slot(SLOT)}["B_BEMS"]
    assert buyer.status == bids.SETTLED and buyer.pairs[0].achievement == 0.0 and buyer.pairs[0].settlement_milli == 0


def test_a_missed_seal_does_not_leave_bids_out_of_the_auction(book):
    assert run("clear")["results"][0]["volume_wh"] == 10_000
    assert bids.SUBMITTED not in statuses().values()


@pytest.mark.parametrize(
    "event",
    [{"job": "auction"}, {}, {"job": "clear", "slot": "2030-01-01T10:30:00"}, {"job": "clear", "slot": "later"}],
)
def test_bad_job_events_are_rejected_without_writing(book, event):
    assert jobs_function.lambda_handler(event, FakeLambdaContext())["status"] == "rejected"
    assert set(statuses().values()) == {bids.SUBMITTED}


def test_a_quarantined_reading_does_not_count_in_settlement_until_released(book):
    """A 100 kW spike in C's readings would have made its 4 kWh look delivered; quarantined, it does not."""
    from etp.clock import utcnow
    from etp.market import settlement
    from etp.meters.readings_admin import DynamoReadingAdmin

    for job in ("seal", "clear", "deliver"):
        run(job)
    end = SLOT + timedelta(hours=1)
    metered("A", -20.0, end)
    metered("B", 6.0, end)
    metered("C", 2.0, end)
    spike = StoredReading(
        id=str(uuid.uuid4()),
        user_id="C",
        meter_id="m-C",
        kind="Demand",
        taken_at=SLOT + timedelta(minutes=20),
        power_kw=100.0,
        tx_hash=uuid.uuid4().hex.upper(),
    )
    readings, admin = DynamoReadingStore(), DynamoReadingAdmin()
    readings.store_many([(spike, {"grid": 100.0}, "A" * 81)])

    def delivered_wh() -> int:
        return settlement.delivered_wh(readings, "C", "buy", SLOT, end)[0]

    assert delivered_wh() == 18_333  # 2 kW for 50 minutes, 100 kW for 10
    assert admin.quarantine(spike, reason="CT fault", by="ops", now=utcnow())
    assert delivered_wh() == 2_000
    jobs_function.lambda_handler(
        {"job": "settle", "slot": SLOT_EVENT, "now": "2030-01-01T11:05:00"}, FakeLambdaContext()
    )
    seller_pairs = {p.counterpart: p for p in {b.account: b for b in DynamoBidStore().of_slot(SLOT)}["A_BEMS"].pairs}
    assert (seller_pairs["C_BEMS"].achievement, seller_pairs["C_BEMS"].settlement_milli) == (0.5, 5_000)
    assert admin.release(spike, by="ops", now=utcnow())
    assert delivered_wh() == 18_333
