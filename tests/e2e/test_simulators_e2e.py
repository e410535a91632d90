"""The simulators on the deployed stack, run now through the operator CLI."""

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import requests
from stack_client import admin, bearer, run_admin

from etp.market import slots


def test_simulated_meters_publish_and_the_tracker_ingests_their_readings(deployment):
    now = datetime.now(UTC).replace(microsecond=0)
    published = run_admin(deployment, "simulate", "power", "--now", now.isoformat())
    assert published.returncode == 0, published.stderr + published.stdout
    transactions = json.loads(published.stdout)["published"]  # account -> its reading's transaction
    assert set(transactions) == {"Carlab_BEMS", "NCKU_BEMS", "SGESC_C_BEMS", "SGESC_D_BEMS", "ABRI_BEMS"}
    admin(deployment, "jobs", "run", "tracker", "--now", now.isoformat())
    # stored by that run, or by a scheduled one (every 5 minutes, on its own) that came first; seen as
    # the operator sees them (other tests change some of these accounts' passwords)
    day = now.astimezone(ZoneInfo("Asia/Taipei")).date().isoformat()
    for account, tx_hash in transactions.items():
        listed = json.loads(admin(deployment, "readings", "list", "--account", account, "--day", day, "--json"))
        assert [row["transaction"] for row in listed].count(tx_hash) == 1, account


def hours_with_a_buy_bid_tomorrow(deployment) -> set[str]:
    """Carlab_BEMS's buy bids for tomorrow (local), as the simulator sees them: other tests may bid there too."""
    tomorrow = (datetime.now(ZoneInfo("Asia/Taipei")).date() + timedelta(days=1)).strftime("%Y/%m/%d")
    answer = requests.get(
        f"{deployment.api}/bidsubmit?per_page=1000&page=1&bid_type=buy",
        headers=bearer(deployment.api, "Carlab_BEMS"),
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return {bid["start_time"] for bid in answer.json()["data"] if bid["start_time"].startswith(tomorrow)}


def open_hours_tomorrow() -> set[str]:
    """Tomorrow's (local) hours whose bidding is still open: all 24, but in the last 20 minutes of a day."""
    zone = ZoneInfo("Asia/Taipei")
    now = datetime.now(zone)
    midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=zone)
    starts = [midnight + timedelta(hours=hour) for hour in range(24)]
    return {slots.format_dh(start, zone) for start in starts if slots.is_open(start, now)}


def test_a_simulated_building_bids_the_next_day_once(deployment):
    taken, open_before = hours_with_a_buy_bid_tomorrow(deployment), open_hours_tomorrow()
    first = run_admin(deployment, "simulate", "bids", "--building", "Carlab_BEMS")
    open_after = open_hours_tomorrow()  # a gate may close while it runs
    assert first.returncode == 0, first.stderr + first.stdout
    placed = json.loads(first.stdout)["bids"]["Carlab_BEMS"]
    assert len(open_after - taken) <= placed <= len(open_before - taken)
    assert open_after <= hours_with_a_buy_bid_tomorrow(deployment)
    again = run_admin(deployment, "simulate", "bids", "--building", "Carlab_BEMS")
    assert json.loads(again.stdout)["bids"] == {"Carlab_BEMS": 0}
