import json
import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from etp.meters import readings
from etp.meters.readings import StoredReading

TAIPEI = ZoneInfo("Asia/Taipei")
DAY = date(2026, 11, 25)
ID = "0b7e6a52-53c0-4d4c-9a53-8bb0e3b3f2a1"


def demand(**overrides) -> bytes:
    body = {
        "id": ID,
        "field": "Carlab_BEMS",
        "grid": 12.5,
        "pv": 0,
        "building": 12.5,
        "ess": 0,
        "ev": 0,
        "updated_at": "2026-11-25T18:30:00",
    }  # local: 10:30 UTC
    body.update(overrides)
    return json.dumps(body).encode()


def parse(raw: bytes, kind="Demand", hour=10, account="Carlab_BEMS"):
    return readings.parse_payload(raw, kind=kind, tag_hour=hour, account=account, address_day=DAY, zone=TAIPEI)


def test_tags_carry_the_type_and_the_utc_hour():
    moment = datetime(2026, 11, 25, 23, 5, tzinfo=UTC)
    assert readings.tag_for("Demand", moment) == "BEMS9HOMEPAGE9INFORMATION9X"
    assert readings.tag_for("PV", moment.replace(hour=0)) == "BEMS9PV9DISPLAY9A9999999999"
    for kind in readings.TYPES:
        for hour in (0, 13, 23):
            assert readings.parse_tag(readings.tag_for(kind, moment.replace(hour=hour))) == (kind, hour)


@pytest.mark.parametrize(
    "tag",
    [
        "",
        "BEMS9PV9DISPLAY9",
        "BEMS9PV9DISPLAY9Y9999999999",
        "BEMS9PV9DISPLAY9AA999999999",
        "SOMETHING9ELSE9A9999999999",
        "BEMS9HOMEPAGE9INFORMATION9",
    ],
)
def test_unknown_tags_are_rejected(tag):
    with pytest.raises(readings.ReadingRejected, match="unknown tag"):
        readings.parse_tag(tag)


def test_a_valid_demand_reading():
    reading = parse(demand())
    assert reading.id == ID and reading.kind == "Demand" and reading.data_type == "NetLoad"
    assert reading.taken_at == datetime(2026, 11, 25, 10, 30, tzinfo=UTC)
    assert reading.power_kw == 12.5 and reading.values["building"] == 12.5


def test_times_with_an_offset_are_honoured():
    assert parse(demand(updated_at="2026-11-25T10:30:00Z")).taken_at.hour == 10
    assert parse(demand(updated_at="2026-11-25T11:30:00+01:00")).taken_at.hour == 10


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not an object"),
        (demand(id="not-a-uuid"), "UUID"),
        (demand(id=7), "UUID"),
        (demand(field="NCKU_BEMS"), "owner"),
        (demand(grid="12"), "grid is not a number"),
        (demand(grid=True), "grid is not a number"),
        (demand(grid=1e9), "within"),
        (demand(updated_at="yesterday"), "not a time"),
        (demand(updated_at=5), "not a time"),
        (demand(updated_at="2026-11-27T10:30:00Z"), "outside the address's day"),
        (demand(updated_at="2026-11-25T11:30:00Z"), "tag hour"),
    ],
)
def test_bad_payloads_are_rejected_with_a_reason(raw, reason):
    with pytest.raises(readings.ReadingRejected, match=reason):
        parse(raw)


def test_nan_and_infinity_are_rejected():
    for bad in (math.nan, math.inf, -math.inf):
        raw = demand().replace(b'"grid": 12.5', f'"grid": {json.dumps(bad)}'.encode())
        with pytest.raises(readings.ReadingRejected, match="finite"):
            parse(raw)


def test_a_payload_of_another_type_than_its_tag_is_rejected():
    pv = json.dumps(
        {"id": ID, "field": "Carlab_BEMS", "cluster": 1, "pac": 3.0, "updated_at": "2026-11-25T10:30:00Z"}
    ).encode()
    assert parse(pv, kind="PV").power_kw == 3.0
    with pytest.raises(readings.ReadingRejected, match="does not match the tag"):
        parse(pv, kind="Demand")


def test_the_address_day_allows_one_hour_either_side():
    assert parse(demand(updated_at="2026-11-24T23:30:00Z"), hour=23).taken_at.day == 24
    assert parse(demand(updated_at="2026-11-26T00:59:59Z"), hour=0).taken_at.day == 26
    with pytest.raises(readings.ReadingRejected, match="outside"):
        parse(demand(updated_at="2026-11-24T22:59:59Z"), hour=22)
    with pytest.raises(readings.ReadingRejected, match="outside"):
        parse(demand(updated_at="2026-11-26T01:00:00Z"), hour=1)


def plausible(reading, *, not_after=datetime(2026, 11, 25, 10, 35, tzinfo=UTC), rated_kw=1000.0):
    readings.check_plausible(reading, not_after=not_after, rated_kw=rated_kw)


def test_a_reading_dated_after_its_ingestion_plus_the_allowance_is_from_the_future():
    reading = parse(demand())  # taken 10:30 UTC
    plausible(reading, not_after=reading.taken_at)  # exactly at the bound: accepted
    with pytest.raises(readings.ReadingRejected, match=r"^from the future$"):
        plausible(reading, not_after=reading.taken_at - timedelta(seconds=1))


@pytest.mark.parametrize("field", ["grid", "pv", "building", "ess", "ev"])
def test_every_power_field_is_held_to_the_meters_rated_capacity(field):
    plausible(parse(demand(**{field: 250.0})), rated_kw=250.0)  # exactly at the rating: accepted
    plausible(parse(demand(**{field: -250.0})), rated_kw=250.0)  # either direction of flow
    for value in (250.001, -250.001):
        with pytest.raises(readings.ReadingRejected, match=r"^above rated capacity$"):
            plausible(parse(demand(**{field: value})), rated_kw=250.0)


def test_a_building_meter_cannot_read_99999_kw():
    """Issue #12 reproduction: 99,999 kW passed the global 100 MW bound and made a 25,044 kWh day."""
    reading = parse(demand(grid=99_999.0, building=99_999.0))
    with pytest.raises(readings.ReadingRejected, match="above rated capacity"):
        plausible(reading)  # the default rating of a meter


def test_other_types_are_held_to_the_rating_too():
    pv = json.dumps({"id": ID, "field": "Carlab_BEMS", "pac": 30.5, "updated_at": "2026-11-25T10:30:00Z"}).encode()
    plausible(parse(pv, kind="PV"), rated_kw=30.5)
    with pytest.raises(readings.ReadingRejected, match="above rated capacity"):
        plausible(parse(pv, kind="PV"), rated_kw=30.0)


T0 = datetime(2026, 11, 25, 0, 0, tzinfo=UTC)


def test_energy_holds_each_sample_until_the_next():
    samples = [(T0, 4.0), (T0 + timedelta(minutes=15), 8.0), (T0 + timedelta(minutes=30), 0.0)]
    assert readings.energy_kwh(samples, T0, T0 + timedelta(hours=1)) == pytest.approx(1.0 + 2.0)


def test_energy_holds_at_most_15_minutes_and_stops_at_the_end():
    samples = [(T0, 4.0), (T0 + timedelta(hours=1), 4.0)]
    assert readings.energy_kwh(samples, T0, T0 + timedelta(hours=1, minutes=5)) == pytest.approx(1.0 + 4 / 12)


def test_energy_ignores_samples_outside_the_period_and_sorts_the_rest():
    samples = [(T0 + timedelta(minutes=10), 6.0), (T0 - timedelta(minutes=5), 100.0), (T0, 3.0)]
    assert readings.energy_kwh(samples, T0, T0 + timedelta(hours=1)) == pytest.approx(3 * 10 / 60 + 6 * 15 / 60)
    assert readings.energy_kwh([], T0, T0 + timedelta(hours=1)) == 0


def test_the_low_level_items_a_run_stores_are_the_models_serialized():
    from etp.meters.readings_items import stored_items, stored_puts

    reading = StoredReading(
        "5b0c8d2e-0000-4000-8000-000000000001",
        "u-1",
        "m-1",
        "Demand",
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        1.5,
        "A" * 81,
    )
    for values in ({"grid": 1.5, "pv": -0.25, "building": 3.0, "ess": 0.1, "ev": 12}, {}):
        marker, item = stored_items(reading, values, "ADDR", "2026-01-02T03:04:06Z")
        assert stored_puts(reading, values, "ADDR", "2026-01-02T03:04:06Z") == (marker.serialize(), item.serialize())
