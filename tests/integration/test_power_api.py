"""GET /power_info in its three modes, in-process against moto, with readings stored by the store."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from helpers import call, load_event, load_function, login_bearer, present

from etp.accounts import service as accounts
from etp.accounts.store import DynamoUserStore
from etp.clock import utcnow
from etp.meters.readings import StoredReading
from etp.meters.readings_admin import DynamoReadingAdmin
from etp.meters.readings_store import DynamoReadingStore

# the table mode defaults to today: the wall clock stands still (conftest's FROZEN_AT)
pytestmark = pytest.mark.usefixtures("frozen_clock")
power_function = load_function("power")
PASSWORD = "energy-demo"
# 2025/03/12 local (Asia/Taipei) is [2025-03-11T16:00Z, 2025-03-12T16:00Z): never "today"
DAY_START = datetime(2025, 3, 11, 16, 0, tzinfo=UTC)


def store(user_id: str, kind: str, at: datetime, kw: float) -> StoredReading:
    reading = StoredReading(
        id=str(uuid.uuid4()),
        user_id=user_id,
        meter_id="m-1",
        kind=kind,
        taken_at=at,
        power_kw=kw,
        tx_hash=uuid.uuid4().hex.upper()[:27].ljust(81, "9"),
    )
    assert DynamoReadingStore().store_many([(reading, {"x": kw}, "A" * 81)]) == ["stored"]
    return reading


@pytest.fixture
def data(aws):
    users = DynamoUserStore()
    for account, aggregator in (("Carlab_BEMS", False), ("NCKU_BEMS", False), ("Aggregator", True)):
        accounts.create_account(users, None, accounts.NewAccount(account, account, PASSWORD, aggregator), utcnow())
    carlab, ncku = present(users.get("Carlab_BEMS")), present(users.get("NCKU_BEMS"))
    stored = [store(carlab.id, "Demand", DAY_START + timedelta(minutes=15 * i), 10.0 + i) for i in range(25)]
    store(carlab.id, "PV", DAY_START + timedelta(hours=4), 4.0)
    store(carlab.id, "Demand", DAY_START - timedelta(minutes=15), 99.0)  # the local day before
    store(ncku.id, "Demand", DAY_START + timedelta(hours=1), 50.0)
    return {"carlab": carlab, "ncku": ncku, "stored": stored}


def table(token, **query):
    return call(power_function, load_event("power/table.json", bearer=token, query={"time": "2025/03/12", **query}))


def test_table_mode_pages_the_days_readings_newest_first(data):
    token = login_bearer("Carlab_BEMS")
    status, body = table(token, per_page="10", page="1")
    assert status == 200 and body["page"] == 1 and body["totalCount"] == 26
    assert [row["time"] for row in body["data"][:3]] == ["06:00", "05:45", "05:30"]
    assert body["data"][0] == {
        "id": data["stored"][-1].id,
        "date": "2025/03/12",
        "time": "06:00",
        "data_type": "NetLoad",
        "power_display": 34.0,
        "address": f"http://explorer.test/transaction/{data['stored'][-1].tx_hash}",
    }
    _, third = table(token, per_page="10", page="3")
    assert len(third["data"]) == 6 and third["data"][-1]["time"] == "00:00"
    _, past = table(token, per_page="10", page="4")
    assert past == {"data": [], "page": 4, "totalCount": 26}
    everything = table(token, per_page="1000", page="1")[1]["data"]
    assert len({row["id"] for row in everything}) == 26


def test_table_mode_defaults_to_today(data):
    status, body = call(
        power_function,
        load_event("power/table.json", bearer=login_bearer("Carlab_BEMS"), query={"per_page": "5", "page": "1"}),
    )
    assert status == 200 and body == {"data": [], "page": 1, "totalCount": 0}


def test_chart_mode_gives_seven_days_of_energy(data):
    status, body = call(power_function, load_event("power/chart.json", bearer=login_bearer("Carlab_BEMS")))
    assert status == 200 and [d["Date"] for d in body][-2:] == ["2025/03/11", "2025/03/12"]
    # 25 samples 15 min apart, the last held 15 min: sum(10..34) kW x 0.25 h
    assert body[-1]["Demand"] == pytest.approx(sum(10 + i for i in range(25)) * 0.25)
    assert body[-1]["PV"] == 1.0 and body[-1]["Generate"] == 1.0
    assert body[-1]["Consume"] == pytest.approx(body[-1]["Demand"] - 1.0)
    assert body[-2]["Demand"] == pytest.approx(99 * 0.25)


def test_summary_mode_is_one_day(data):
    status, body = call(power_function, load_event("power/summary.json", bearer=login_bearer("Carlab_BEMS")))
    assert status == 200 and set(body) == {"Demand", "PV", "EV", "ESS", "WT", "Generate", "Consume"}
    assert body["PV"] == 1.0


def test_no_mode_parameter_gives_an_empty_list(data):
    assert call(power_function, load_event("power/table.json", bearer=login_bearer("Carlab_BEMS"), query={})) == (
        200,
        [],
    )


def test_a_bems_sees_only_its_own_data_even_when_naming_another(data):
    ncku_view = table(login_bearer("NCKU_BEMS"), per_page="10", page="1", participant_id=data["carlab"].id)[1]
    assert ncku_view["totalCount"] == 1 and ncku_view["data"][0]["power_display"] == 50.0


def test_an_aggregator_sees_a_participants_data(data):
    status, body = table(login_bearer("Aggregator"), per_page="10", page="1", participant_id=data["carlab"].id)
    assert status == 200 and body["totalCount"] == 26
    assert table(login_bearer("Aggregator"), per_page="10", page="1")[1]["totalCount"] == 0
    status, body = call(
        power_function,
        load_event(
            "power/chart.json",
            bearer=login_bearer("Aggregator"),
            query={"chart_date": "2025/03/12", "participant_id": data["ncku"].id},
        ),
    )
    assert status == 200 and body[-1]["Demand"] == 12.5


@pytest.mark.parametrize(
    "participant", [str(uuid.uuid4()), "not-a-uuid", "x" * 65], ids=["unknown-uuid", "not-a-uuid", "too-long"]
)  # the same ids in every xdist worker
def test_an_unknown_participant_is_a_400_for_an_aggregator(data, participant):
    status, body = table(login_bearer("Aggregator"), per_page="10", page="1", participant_id=participant)
    assert status == 400 and "participant_id" in body["description"]


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ({"per_page": "0", "page": "1"}, "per_page"),
        ({"per_page": "1001", "page": "1"}, "per_page"),
        ({"per_page": "ten", "page": "1"}, "per_page"),
        ({"per_page": "10", "page": "0"}, "page"),
        ({"per_page": "10", "page": "-1"}, "page"),
        ({"per_page": "10", "page": "1", "time": "2026-11-25"}, "time"),
        ({"per_page": "10", "page": "1", "time": "2026/13/45"}, "time"),
        ({"chart_date": "25/11/2026"}, "chart_date"),
        ({"chart_date": "2026/02/30"}, "chart_date"),
        ({"summary_date": "yesterday"}, "summary_date"),
    ],
)
def test_malformed_queries_get_400_naming_the_parameter(data, query, names):
    status, body = call(power_function, load_event("power/table.json", bearer=login_bearer("Carlab_BEMS"), query=query))
    assert status == 400 and names in body["description"]


def test_power_info_needs_a_bearer(data):
    assert call(power_function, load_event("power/table.json", bearer=None))[0] == 401


def test_a_quarantined_reading_is_in_no_mode_until_it_is_released(data):
    """Quarantine (etp-admin readings quarantine) hides a reading from the table, its totalCount, the chart
    and the summary; release brings it back. The 06:00 reading (34 kW, held 15 min) is 8.5 kWh of the day."""
    token = login_bearer("Carlab_BEMS")
    spike, admin = data["stored"][-1], DynamoReadingAdmin()

    def views():
        first = table(token, per_page="10", page="1")[1]
        pages = [table(token, per_page="10", page=str(n))[1] for n in (1, 2, 3)]
        chart = call(power_function, load_event("power/chart.json", bearer=token))[1][-1]
        summary = call(power_function, load_event("power/summary.json", bearer=token))[1]
        ids = [row["id"] for page in pages for row in page["data"]]
        return first["totalCount"], ids, chart["Demand"], summary["Demand"]

    total, ids, chart, summary = views()
    assert (total, len(ids), spike.id in ids) == (26, 26, True)
    assert chart == summary == pytest.approx(sum(10 + i for i in range(25)) * 0.25)

    assert admin.quarantine(spike, reason="CT fault", by="ops", now=utcnow())
    total, ids, chart, summary = views()
    assert (total, len(ids), len(set(ids)), spike.id in ids) == (25, 25, 25, False), "pages and count agree"
    assert chart == summary == pytest.approx(sum(10 + i for i in range(24)) * 0.25)
    aggregator_view = table(login_bearer("Aggregator"), per_page="10", page="1", participant_id=data["carlab"].id)
    assert aggregator_view[1]["totalCount"] == 25

    assert admin.release(spike, by="ops", now=utcnow())
    total, ids, chart, summary = views()
    assert (total, len(ids), spike.id in ids) == (26, 26, True)
    assert chart == summary == pytest.approx(sum(10 + i for i in range(25)) * 0.25)
