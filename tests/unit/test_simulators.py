"""The simulators' per-building logic with fake I/O: what is published or bid, and every failure."""

import random
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from etp.meters.meter_client import PublishError
from etp.simulators import buildings as simulators
from etp.simulators.api_client import ApiError

ZONE = ZoneInfo("Asia/Taipei")
NOW = datetime(2026, 11, 28, 0, 7, tzinfo=ZONE).astimezone(UTC)  # a Saturday, 00:07 local
CARLAB = "id,field,grid_power,inserted_at\n4451,carlab,12.228,2020/4/25 00:00\n4452,carlab,11.817,2020/4/25 00:15\n"
ABRI = "AMI_1,AMI_2,AMI_3,total_load(kW),PV_generate(kW),net_load(kW),TIME\n8,12.16,1.8,21.96,0,21.96,2020/4/25 00:00\n"


def buildings(*names):
    return [simulators.Building(account=name, csv=f"csv:{name}") for name in names]


def run_power(files, names, publish=None):
    published = []

    def read_csv(location):
        name = location.removeprefix("csv:")
        if name not in files:
            raise FileNotFoundError(f"no such file: {location}")
        return files[name]

    def default_publish(building, grid_kw, now):
        published.append((building.account, grid_kw, now))
        return f"TX-{building.account}"

    report = simulators.simulate_power(
        buildings(*names), NOW, zone=ZONE, read_csv=read_csv, publish=publish or default_publish
    )
    return report, published


def test_each_building_publishes_the_row_of_now():
    report, published = run_power({"Carlab_BEMS": CARLAB, "ABRI_BEMS": ABRI}, ["Carlab_BEMS", "ABRI_BEMS"])
    assert report.done == {"Carlab_BEMS": "TX-Carlab_BEMS", "ABRI_BEMS": "TX-ABRI_BEMS"} and not report.failed
    assert published == [("Carlab_BEMS", 12.228, NOW), ("ABRI_BEMS", 21.96, NOW)]


def test_an_unknown_bems_reads_the_carlab_shape_with_a_warning():
    report, published = run_power({"New_BEMS": CARLAB}, ["New_BEMS"])
    assert published[0][1] == 12.228 and "New_BEMS" in report.warnings[0]


@pytest.mark.parametrize(
    ("files", "cause"),
    [
        ({}, "no such file"),
        ({"NCKU_BEMS": CARLAB.replace("2020/4/25", "2020/4/24")}, "no row for Saturday 00"),
        ({"NCKU_BEMS": CARLAB.replace("12.228", "x")}, "grid_power"),
        ({"NCKU_BEMS": "garbage\n"}, "missing column"),
    ],
)
def test_a_bad_csv_fails_its_building_only(files, cause):
    report, published = run_power({"Carlab_BEMS": CARLAB, **files}, ["NCKU_BEMS", "Carlab_BEMS"])
    assert cause in report.failed["NCKU_BEMS"] and report.done == {"Carlab_BEMS": "TX-Carlab_BEMS"}
    assert [p[0] for p in published] == ["Carlab_BEMS"]


def test_a_rejected_meter_token_or_a_node_that_is_down_fails_its_building_only():
    def publish(building, grid_kw, now):
        if building.account == "NCKU_BEMS":
            raise PublishError("GET /address answered 401")
        return "TX"

    report, _ = run_power({"Carlab_BEMS": CARLAB, "NCKU_BEMS": CARLAB}, ["NCKU_BEMS", "Carlab_BEMS"], publish)
    assert "401" in report.failed["NCKU_BEMS"] and report.done == {"Carlab_BEMS": "TX"}


class FakeApi:
    def __init__(self, fail_login=(), fail_after=None):
        self.bids: dict[str, dict] = {}
        self.fail_login, self.fail_after = set(fail_login), fail_after

    def login(self, account, password):
        if account in self.fail_login or password != "pw":
            raise ApiError("POST /login answered 401")
        return account

    def my_bids(self, token, side):
        return [b for b in self.bids.values() if b["owner"] == token and b["bid_type"] == side]

    def submit_bid(self, token, body):
        if self.fail_after is not None and len(self.bids) >= self.fail_after:
            raise ApiError("POST /bidsubmit answered 500")
        bid_id = f"b{len(self.bids)}-{token}"
        self.bids[bid_id] = {**body, "owner": token}
        return bid_id

    def delete_bid(self, token, bid_id):
        del self.bids[bid_id]


def bidders(*names):
    plan = simulators.BidPlan(side="sell", volume_kwh=5, price=2.5, jitter=0.1)
    return [simulators.Building(account=name, csv="", password="pw", bid=plan) for name in names]


def test_each_building_bids_every_hour_of_the_next_local_day_once():
    api = FakeApi()
    report = simulators.simulate_bids(bidders("A_BEMS"), NOW, zone=ZONE, api=api, rng=random.Random(1))
    assert report.done == {"A_BEMS": 24}
    starts = sorted(b["start_time"] for b in api.bids.values())
    assert starts[0] == "2026/11/29 00" and starts[-1] == "2026/11/29 23"
    assert all(4.5 <= b["value"] <= 5.5 and 2.25 <= b["price"] <= 2.75 for b in api.bids.values())
    again = simulators.simulate_bids(bidders("A_BEMS"), NOW, zone=ZONE, api=api, rng=random.Random(2))
    assert again.done == {"A_BEMS": 0} and len(api.bids) == 24


def test_a_slot_whose_bidding_has_closed_is_not_bid_for():
    api = FakeApi()
    late = datetime(2026, 11, 28, 23, 45, tzinfo=ZONE).astimezone(UTC)  # the 29th's 00:00 gate closed at 23:40
    report = simulators.simulate_bids(bidders("A_BEMS"), late, zone=ZONE, api=api, rng=random.Random(1))
    assert report.failed == {} and report.done == {"A_BEMS": 23}
    starts = sorted(b["start_time"] for b in api.bids.values())
    assert starts[0] == "2026/11/29 01" and starts[-1] == "2026/11/29 23"


def test_a_failed_login_or_a_failure_midway_leaves_nothing_of_that_building():
    api = FakeApi(fail_login={"B_BEMS"})
    report = simulators.simulate_bids(bidders("B_BEMS", "A_BEMS"), NOW, zone=ZONE, api=api, rng=random.Random(1))
    assert "401" in report.failed["B_BEMS"] and report.done == {"A_BEMS": 24}
    midway = FakeApi(fail_after=10)
    report = simulators.simulate_bids(bidders("A_BEMS"), NOW, zone=ZONE, api=midway, rng=random.Random(1))
    assert "500" in report.failed["A_BEMS"] and midway.bids == {}


def test_the_configuration_is_checked():
    api_url, node_url, parsed = simulators.parse_config(
        {
            "api_url": "http://api",
            "node_url": "http://node",
            "buildings": [
                {"account": "A_BEMS", "bid": {"type": "buy", "volume": 3, "price": 2}},
                {"account": "B_BEMS"},
            ],
        }
    )
    assert (api_url, node_url) == ("http://api", "http://node")
    assert parsed[0].bid == simulators.BidPlan("buy", 3.0, 2.0, 0.0) and parsed[1].csv == "demo:B_BEMS.csv"
    bad: dict
    for bad in (
        {},
        {"buildings": [{}]},
        {"buildings": [{"account": "A", "bid": {"type": "hold", "volume": 1, "price": 1}}]},
        {"buildings": [{"account": "A", "bid": {"type": "buy"}}]},
    ):
        with pytest.raises(simulators.ConfigError):
            simulators.parse_config(bad)
