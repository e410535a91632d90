import math
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from etp.market import bids

TAIPEI = ZoneInfo("Asia/Taipei")
NOW = datetime(2021, 3, 24, 8, 15, tzinfo=TAIPEI)


def offer(**overrides: object) -> bids.Offer:
    fields: dict[str, object] = dict(
        bid_type="buy", start_time="2021/03/24 10", end_time="2021/03/24 11", value=12.5, price=3.2
    )
    fields.update(overrides)
    now, zone = fields.pop("now", NOW), fields.pop("zone", TAIPEI)
    assert isinstance(now, datetime) and isinstance(zone, ZoneInfo)
    return bids.offer(**fields, now=now, zone=zone)


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
