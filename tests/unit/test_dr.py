from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from etp.dr import rules as dr

TAIPEI = ZoneInfo("Asia/Taipei")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=TAIPEI)


def test_the_target_day_turns_at_half_past_ten_local():
    assert dr.target_day(local(2026, 11, 25, 10, 29, 59), TAIPEI) == date(2026, 11, 26)
    assert dr.target_day(local(2026, 11, 25, 10, 30), TAIPEI) == date(2026, 11, 27)
    assert dr.target_day(datetime(2026, 11, 24, 23, 0, tzinfo=UTC), TAIPEI) == date(2026, 11, 26)  # 07:00 local


@pytest.mark.parametrize(
    ("volume", "price"),
    [
        (0, 1),
        (-1, 1),
        (1, 0),
        (float("nan"), 1),
        (1, float("inf")),
        ("5", 1),
        (True, 1),
        (1e6, 1),
        (1, 1e4),
        (1.0001, 1),
    ],
)
def test_offers_need_finite_positive_sane_amounts(volume, price):
    with pytest.raises(dr.DrRejected):
        dr.offer_amounts(volume, price)


def test_a_valid_offer():
    assert dr.offer_amounts(5, 2.5) == (5000, 2500)
    assert dr.offer_amounts(0.001, 999.999) == (1, 999_999)


def test_the_window_lies_within_the_target_day():
    day = date(2026, 11, 26)
    dr.acceptance_window(local(2026, 11, 26, 13), local(2026, 11, 26, 15), day, TAIPEI)
    dr.acceptance_window(local(2026, 11, 26, 0), local(2026, 11, 27, 0), day, TAIPEI)
    for start, end in (
        (local(2026, 11, 26, 15), local(2026, 11, 26, 13)),
        (local(2026, 11, 26, 13),) * 2,
        (local(2026, 11, 25, 23), local(2026, 11, 26, 1)),
        (local(2026, 11, 26, 23), local(2026, 11, 27, 0, 30)),
    ):
        with pytest.raises(dr.DrRejected):
            dr.acceptance_window(start, end, day, TAIPEI)


def flat(kw: float, start: datetime, hours: int) -> list[tuple[datetime, float]]:
    return [(start + timedelta(minutes=15 * q), kw) for q in range(hours * 4 + 1)]


def test_rate_is_the_curtailment_against_the_seven_day_baseline():
    start, end = local(2026, 11, 26, 13), local(2026, 11, 26, 15)
    history = [s for day in range(1, 8) for s in flat(10.0, start - timedelta(days=day), 2)]
    assert dr.rate(history + flat(7.0, start, 2), start, end, committed_kw=6.0, zone=TAIPEI) == pytest.approx(0.5)
    assert dr.rate(history + flat(2.0, start, 2), start, end, committed_kw=6.0, zone=TAIPEI) == 1.0, "clamped"
    assert dr.rate(history + flat(12.0, start, 2), start, end, committed_kw=6.0, zone=TAIPEI) == 0.0, "clamped"
    assert dr.rate(flat(7.0, start, 2), start, end, committed_kw=6.0, zone=TAIPEI) == 0.0, "no history, no curtailment"
    assert dr.rate(history, start, end, committed_kw=0, zone=TAIPEI) == 0.0


def test_a_result_query_reads_only_days_that_can_hold_offers():
    now = local(2026, 11, 25, 9, 0)  # offers are for 2026-11-26 at the latest
    assert dr.result_days(date(2021, 1, 1), date(2026, 11, 27), now, TAIPEI) == (date(2021, 1, 1), date(2026, 11, 26))
    assert dr.result_days(date(1, 1, 1), date(9999, 12, 31), now, TAIPEI) == (dr.FIRST_OFFER_DAY, date(2026, 11, 26))
    assert dr.result_days(date(2027, 1, 1), date(2027, 1, 2), now, TAIPEI) is None
    with pytest.raises(dr.DrRejected, match="end_date: before start_date"):
        dr.result_days(date(2026, 1, 2), date(2026, 1, 1), now, TAIPEI)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("0001-01-01 00:00:00", "start_time: not between 1970-01-01 and 9998-12-31"),
        ("9999-12-31 23:59:59", "start_time: not between 1970-01-01 and 9998-12-31"),
        ("2026-11-26 13:00:00\n", "start_time: expected YYYY-MM-DD HH:MM:SS"),
        ("２０２６-１１-２６ １３:００:００", "start_time: expected YYYY-MM-DD HH:MM:SS"),
    ],
)
def test_window_times_are_ascii_and_within_the_supported_days(text, why):
    with pytest.raises(dr.DrRejected) as refusal:
        dr.parse_iso_dt(text, "start_time", TAIPEI)
    assert str(refusal.value) == why
    assert dr.parse_iso_dt("9998-12-31 23:59:59", "start_time", TAIPEI) == local(9998, 12, 31, 23, 59, 59)


@pytest.mark.parametrize("text", ["2026-11-26\n", "２０２６-１１-２６", "2026-11-２６"])
def test_iso_days_are_ascii_up_to_the_true_end(text):
    with pytest.raises(dr.DrRejected, match="date: expected YYYY-MM-DD"):
        dr.parse_iso_date(text, "date")


def test_an_acceptance_window_cannot_be_further_than_the_offers_target_day():
    # the DR horizon: offers are for tomorrow or the day after, and a window must lie within their day
    day = dr.target_day(local(2026, 11, 25, 9), TAIPEI)
    for start, end in (
        (local(2999, 1, 1, 13), local(2999, 1, 1, 15)),
        (local(2026, 11, 27, 13), local(2026, 11, 27, 15)),
    ):
        with pytest.raises(dr.DrRejected, match="within the offers' target day"):
            dr.acceptance_window(start, end, day, TAIPEI)
