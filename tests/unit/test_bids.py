import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from etp.market import bids

TAIPEI = ZoneInfo("Asia/Taipei")
NOW = datetime(2021, 3, 24, 8, 15, tzinfo=TAIPEI)
HORIZON = timedelta(days=14)


def offer(**overrides: object) -> bids.Offer:
    fields: dict[str, object] = dict(
        bid_type="buy", start_time="2021/03/24 10", end_time="2021/03/24 11", value=12.5, price=3.2
    )
    fields.update(overrides)
    now, zone = fields.pop("now", NOW), fields.pop("zone", TAIPEI)
    assert isinstance(now, datetime) and isinstance(zone, ZoneInfo)
    return bids.offer(**fields, now=now, zone=zone, horizon=HORIZON)


def test_a_valid_offer_in_exact_units():
    made = offer()
    assert (made.side, made.slot_start, made.volume_wh, made.price_milli) == (
        "buy",
        datetime(2021, 3, 24, 10, tzinfo=TAIPEI),
        12_500,
        3_200,
    )


def test_hour_24_is_the_last_slot_of_the_day():
    made = offer(start_time="2021/03/24 23", end_time="2021/03/24 24")
    assert made.slot_start == datetime(2021, 3, 24, 23, tzinfo=TAIPEI)


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"bid_type": "hold"}, "bid_type"),
        ({"bid_type": None}, "bid_type"),
        ({"start_time": "2021-03-24 10"}, "start_time"),
        ({"end_time": "2021/03/24 12"}, "one hour"),
        ({"end_time": "2021/03/24 10"}, "one hour"),
        ({"start_time": "2021/03/24 08", "end_time": "2021/03/24 09"}, "closed"),  # gate closed at 07:40
        ({"start_time": "2021/03/23 10", "end_time": "2021/03/23 11"}, "closed"),
        ({"value": 0}, "value"),
        ({"value": -1}, "value"),
        ({"value": math.nan}, "value"),
        ({"value": math.inf}, "value"),
        ({"value": 10_000.001}, "value"),
        ({"value": "12"}, "value"),
        ({"value": True}, "value"),
        ({"value": 0.0001}, "decimals"),
        ({"price": 0}, "price"),
        ({"price": 101}, "price"),
        ({"price": None}, "price"),
        ({"price": 1.2345}, "decimals"),
    ],
)
def test_offers_that_cannot_be_accepted_say_why(overrides, why):
    with pytest.raises(bids.BidRejected, match=why):
        offer(**overrides)


def test_the_gate_closes_at_twenty_to_the_hour_before():
    assert offer(now=datetime(2021, 3, 24, 9, 39, 59, tzinfo=TAIPEI))
    with pytest.raises(bids.BidRejected, match="closed"):
        offer(now=datetime(2021, 3, 24, 9, 40, tzinfo=TAIPEI))


def test_a_slot_up_to_the_horizon_is_taken_and_one_beyond_it_refused():
    # NOW is 08:15; the horizon is 14 days: the slot starting at 08:00 fourteen days on is the last
    assert offer(start_time="2021/04/07 08", end_time="2021/04/07 09").slot_start == datetime(
        2021, 4, 7, 8, tzinfo=TAIPEI
    )
    for start, end in (("2021/04/07 09", "2021/04/07 10"), ("2999/01/01 10", "2999/01/01 11")):
        with pytest.raises(bids.BidRejected) as refusal:
            offer(start_time=start, end_time=end)
        assert str(refusal.value) == "start_time: the slot is more than 14 days ahead (the bidding horizon)"


@pytest.mark.parametrize(
    ("start", "end", "why"),
    [
        (
            "9999/12/31 23",
            "9999/12/31 24",
            "start_time/end_time: '9999/12/31 23' is not between 1970/01/01 and 9998/12/31",
        ),
        (
            "9999/12/31 24",
            "9999/12/31 23",
            "start_time/end_time: '9999/12/31 24' is not between 1970/01/01 and 9998/12/31",
        ),
        (
            "0001/01/01 0",
            "0001/01/01 1",
            "start_time/end_time: '0001/01/01 0' is not between 1970/01/01 and 9998/12/31",
        ),
        ("2021/03/24 12\n", "2021/03/24 13", "start_time/end_time: '2021/03/24 12\\n' is not YYYY/MM/DD H"),
        (
            "２０２１/０３/２４ １２",
            "2021/03/24 13",
            "start_time/end_time: '２０２１/０３/２４ １２' is not YYYY/MM/DD H",
        ),
    ],
)
def test_slots_at_the_ends_of_the_calendar_or_not_in_ascii_are_refused_by_name(start, end, why):
    with pytest.raises(bids.BidRejected) as refusal:
        offer(start_time=start, end_time=end)
    assert str(refusal.value) == why
