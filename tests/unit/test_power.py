from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from etp.clock import day_bounds
from etp.meters import power
from etp.meters.readings import StoredReading

TAIPEI = ZoneInfo("Asia/Taipei")


def reading(kind: str, local: datetime, kw: float, meter: str = "m-1") -> StoredReading:
    return StoredReading(
        id=f"{kind}-{local.isoformat()}",
        user_id="u",
        meter_id=meter,
        kind=kind,
        taken_at=local.replace(tzinfo=TAIPEI).astimezone(UTC),
        power_kw=kw,
        tx_hash="H" * 81,
    )


def test_day_bounds_are_local_midnights_in_utc():
    start, end = day_bounds(date(2026, 11, 25), TAIPEI)
    assert start == datetime(2026, 11, 24, 16, tzinfo=UTC) and end == datetime(2026, 11, 25, 16, tzinfo=UTC)


def test_a_table_row_is_local_time_with_an_explorer_link():
    row = power.table_row(
        reading("Demand", datetime(2026, 11, 25, 0, 15), 12.34567), TAIPEI, lambda tx_hash: f"https://x/{tx_hash}"
    )
    assert row == {
        "id": "Demand-2026-11-25T00:15:00",
        "date": "2026/11/25",
        "time": "00:15",
        "data_type": "NetLoad",
        "power_display": 12.346,
        "address": "https://x/" + "H" * 81,
    }


def test_day_energies_per_type_with_generate_and_consume():
    day = datetime(2026, 11, 25, 8, 0)
    samples = [
        reading("Demand", day, 10.0),
        reading("Demand", day + timedelta(minutes=15), 10.0),
        reading("PV", day, 4.0),
        reading("ESS", day, 2.0),
        reading("EV", day, -1.0),
        reading("WT", day, 1.0),
        reading("Demand", day, 8.0, meter="m-2"),  # a second meter is its own series
        reading("Demand", day - timedelta(days=1), 99.0),  # another day
    ]
    energies = power.day_energies(samples, date(2026, 11, 25), TAIPEI)
    assert energies == {
        "Demand": pytest.approx(5.0 + 2.0),
        "PV": 1.0,
        "EV": -0.25,
        "ESS": 0.5,
        "WT": 0.25,
        "Generate": 1.5,
        "Consume": 5.5,
    }


def test_chart_is_seven_days_ascending():
    rows = power.chart([reading("PV", datetime(2026, 11, 20, 12, 0), 4.0)], date(2026, 11, 25), TAIPEI)
    assert [r["Date"] for r in rows] == [f"2026/11/{d}" for d in range(19, 26)]
    assert rows[1]["PV"] == 1.0 and rows[0]["PV"] == 0
    assert set(rows[0]) == {"Date", "Demand", "PV", "EV", "ESS", "WT", "Generate", "Consume"}


class Caller:
    def __init__(self, user_id: str, is_aggregator: bool) -> None:
        self.id, self.is_aggregator = user_id, is_aggregator


def test_only_an_aggregator_sees_another_participants_data():
    other = "0b9d3c5e-8a1f-4f7e-9a53-7d9f1e2c3b4a"
    assert power.whose_data(Caller("me", False), other, lambda _: True) == "me"
    assert power.whose_data(Caller("agg", True), other, lambda _: True) == other
    assert power.whose_data(Caller("agg", True), None, lambda _: True) == "agg"
    for unknown in (other, "not-a-uuid"):
        with pytest.raises(power.QueryRejected, match="participant_id: no such participant"):
            power.whose_data(Caller("agg", True), unknown, lambda user_id: user_id != other)


def test_a_query_day_is_a_local_date():
    assert power.local_day("time", "2026/11/25") == date(2026, 11, 25)
    with pytest.raises(power.QueryRejected, match="time: '2026-11-25' is not a date YYYY/MM/DD"):
        power.local_day("time", "2026-11-25")


@pytest.mark.parametrize("text", ["2026/11/25\n", "２０２６/１１/２５", "2026/11/２５", "2026/1/25", " 2026/11/25"])
def test_a_query_day_is_ascii_up_to_the_true_end(text):
    with pytest.raises(power.QueryRejected) as refusal:
        power.local_day("time", text)
    assert str(refusal.value) == f"time: {text!r} is not a date YYYY/MM/DD"


def test_a_query_day_lies_within_the_supported_days():
    assert power.local_day("chart_date", "1970/01/01") == date(1970, 1, 1)
    assert power.local_day("summary_date", "9998/12/31") == date(9998, 12, 31)
    for name, text in (("summary_date", "9999/12/31"), ("chart_date", "0001/01/01"), ("time", "1969/12/31")):
        with pytest.raises(power.QueryRejected) as refusal:
            power.local_day(name, text)
        assert str(refusal.value) == f"{name}: {text!r} is not between 1970/01/01 and 9998/12/31"
