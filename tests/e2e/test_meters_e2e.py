"""The meters pipeline over HTTP on the deployed stack: a meter fetches its address, publishes a
sealed reading to the dev node, the tracker (run through the operator CLI, or its schedule if that
comes first) stores it once, and /power_info shows it in all three modes."""

import json
from datetime import UTC, datetime, timedelta

import requests
from stack_client import admin, bearer, power_rows, run_admin

from etp.clock import local_zone
from etp.iota.node import NodeClient


def test_a_reading_travels_from_meter_to_power_info(deployment):
    credentials = json.loads((deployment.meters / "ABRI_BEMS.json").read_text())
    address = requests.get(
        f"{deployment.api}/address", timeout=30, headers={"Authorization": f"Bearer {credentials['token']}"}
    )
    assert address.status_code == 200 and len(address.json()["address"]) == 81

    now = datetime.now(UTC).replace(microsecond=0)
    taken_at = now - timedelta(minutes=1)
    published = run_admin(
        deployment,
        "meters",
        "publish",
        "--credentials",
        str(deployment.meters / "ABRI_BEMS.json"),
        "--api",
        deployment.api,
        "--node",
        deployment.node,
        "--value",
        "grid=21.96",
        "--at",
        taken_at.isoformat(),
    )
    assert published.returncode == 0, published.stderr
    tx_hash = json.loads(published.stdout)["transaction"]
    on_tangle = NodeClient(deployment.node).find_transactions(addresses=[address.json()["address"]])
    assert tx_hash in on_tangle  # with other tests' readings of today, when their slot falls on it

    # The stack's own tracker runs every 5 minutes, so the reading is stored by whichever run comes
    # first: this one or a scheduled one. This run's counts depend on that timing; what is stored does not.
    day = taken_at.astimezone(local_zone()).strftime("%Y/%m/%d")
    link = f"{deployment.node}/explorer/transaction/{tx_hash}"
    headers = bearer(deployment.api, "ABRI_BEMS")
    first = json.loads(admin(deployment, "jobs", "run", "tracker", "--now", now.isoformat()))
    assert first["discovered"] >= 1, first
    assert len(power_rows(deployment, headers, day, link)) == 1, "stored by the time the run ends"
    admin(deployment, "jobs", "run", "tracker", "--now", now.isoformat())
    rows = power_rows(deployment, headers, day, link)
    assert len(rows) == 1, "stored once: a second run as of the same moment adds nothing"
    assert (rows[0]["data_type"], rows[0]["power_display"]) == ("NetLoad", 21.96)
    assert requests.get(link, timeout=30).json()["hash"] == tx_hash
    summary = requests.get(
        f"{deployment.api}/power_info", headers=headers, timeout=30, params={"summary_date": day}
    ).json()
    assert summary["Demand"] > 0
    chart = requests.get(f"{deployment.api}/power_info", headers=headers, timeout=30, params={"chart_date": day}).json()
    assert len(chart) == 7 and chart[-1]["Demand"] == summary["Demand"]

    assert power_rows(deployment, bearer(deployment.api, "NCKU_BEMS"), day, link) == [], (
        "a BEMS sees only its own readings"
    )


def test_amis_lists_the_demo_meter_and_address_refuses_unknown_tokens(deployment):
    amis = requests.get(f"{deployment.api}/amis", headers=bearer(deployment.api, "NCKU_BEMS"), timeout=30)
    assert amis.status_code == 200 and [m["name"] for m in amis.json()] == ["NCKU_BEMS main meter"]
    for token in ("", "garbage", "00000000-0000-0000-0000-000000000000.secret"):
        answer = requests.get(f"{deployment.api}/address", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert answer.status_code == 401


def test_the_operator_cli_prints_the_platform_public_key(deployment):
    public = run_admin(deployment, "keys", "public")
    assert public.returncode == 0 and public.stdout.startswith("-----BEGIN PUBLIC KEY-----")
