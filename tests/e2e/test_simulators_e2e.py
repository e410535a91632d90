"""The simulators on the deployed stack, run now through the operator CLI."""

import json
from datetime import UTC, datetime

from stack_client import run_admin


def test_simulated_meters_publish_and_the_tracker_ingests_their_readings(deployment):
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    published = run_admin(deployment, "simulate", "power", "--now", now)
    assert published.returncode == 0, published.stderr + published.stdout
    assert set(json.loads(published.stdout)["published"]) == {
        "Carlab_BEMS",
        "NCKU_BEMS",
        "SGESC_C_BEMS",
        "SGESC_D_BEMS",
        "ABRI_BEMS",
    }
    tracked = run_admin(deployment, "jobs", "run", "tracker", "--now", now)
    assert tracked.returncode == 0 and json.loads(tracked.stdout)["stored"] >= 5


def test_a_simulated_building_bids_the_next_day_once(deployment):
    first = run_admin(deployment, "simulate", "bids", "--building", "Carlab_BEMS")
    assert first.returncode == 0, first.stderr + first.stdout
    assert json.loads(first.stdout)["bids"] == {"Carlab_BEMS": 24}
    again = run_admin(deployment, "simulate", "bids", "--building", "Carlab_BEMS")
    assert json.loads(again.stdout)["bids"] == {"Carlab_BEMS": 0}
