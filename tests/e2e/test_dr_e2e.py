"""Demand response and its audit trail over HTTP on the deployed stack, records checked on the dev node."""

import json
from datetime import datetime, timedelta

import requests
from stack_client import admin, bearer, eventually

from etp.clock import local_zone, utcnow
from etp.dr import rules as dr
from etp_admin import demo


def results(api, account, offer_id):
    answer = requests.get(f"{api}/DR_result", params={"uuid": offer_id}, headers=bearer(api, account), timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_an_offer_is_accepted_recorded_on_the_tangle_and_an_unaccepted_one_becomes_false(deployment):
    api, zone = deployment.api, local_zone()
    aggregator = bearer(api, demo.DEMO_AGGREGATOR)
    for account in ("Carlab_BEMS", "NCKU_BEMS"):
        answer = requests.post(
            f"{api}/DR_bid", json={"volume": 5, "price": 2.5}, headers=bearer(api, account), timeout=30
        )
        assert (answer.status_code, answer.json()) == (200, "ok")
    day = dr.target_day(utcnow(), zone)  # both offers were made a moment ago
    offered = requests.get(f"{api}/DR_bid", params={"date": day.isoformat()}, headers=aggregator, timeout=30).json()
    by_executor = {o["executor"]: o for o in offered}
    assert {"Carlab_BEMS", "NCKU_BEMS"} <= set(by_executor)
    carlab, ncku = by_executor["Carlab_BEMS"]["uuid"], by_executor["NCKU_BEMS"]["uuid"]
    own = requests.get(
        f"{api}/DR_bid", params={"date": day.isoformat()}, headers=bearer(api, "Carlab_BEMS"), timeout=30
    ).json()
    assert {o["executor"] for o in own} == {"Carlab_BEMS"}

    window = {"start_time": f"{day} 13:00:00", "end_time": f"{day} 15:00:00"}
    refused = requests.post(
        f"{api}/DR_bid",
        json={**window, "uuid": [carlab, "00000000-0000-4000-8000-000000000000"]},
        headers=aggregator,
        timeout=30,
    )
    assert (refused.status_code, refused.json()) == (400, "error")
    accepted = requests.post(f"{api}/DR_bid", json={**window, "uuid": [carlab]}, headers=aggregator, timeout=30)
    assert (accepted.status_code, accepted.json()) == (200, "ok")
    for account in ("Carlab_BEMS", demo.DEMO_AGGREGATOR):
        (row,) = results(api, account, carlab)
        assert (row["result"], row["status"], row["acceptor"], row["counterpart_name"]) == (
            True,
            "已得標",
            demo.DEMO_AGGREGATOR,
            demo.DEMO_AGGREGATOR,
        )
        assert (row["start_time"], row["end_time"]) == (window["start_time"], window["end_time"])
    assert results(api, "NCKU_BEMS", carlab) == [], "a BEMS sees only its own offers"

    admin(deployment, "jobs", "run", "audit")  # or a scheduled run does it: wait for whichever
    row = eventually(lambda: next((r for r in results(api, "Carlab_BEMS", carlab) if r["blockchain_url"]), None))
    entry = requests.get(row["blockchain_url"], timeout=30)
    assert entry.status_code == 200 and entry.json()["tag"].startswith("ETP9DR9RESULT")
    assert json.loads(entry.json()["message"])["subject"] == carlab
    verified = json.loads(admin(deployment, "audit", "show", "dr-result", carlab, "--node", deployment.node))
    assert verified["verified"] and verified["transaction"] == entry.json()["hash"]

    (pending,) = results(api, "NCKU_BEMS", ncku)
    assert (pending["result"], pending["counterpart_name"], pending["blockchain_url"]) == (None, None, None)
    next_day = (datetime.combine(day + timedelta(days=1), datetime.min.time()) + timedelta(minutes=10)).isoformat()
    closed = json.loads(admin(deployment, "jobs", "run", "dr-close", "--now", next_day))
    assert closed["declined"] >= 1 and closed["rated"] >= 1
    admin(deployment, "jobs", "run", "audit")
    declined = eventually(lambda: next((r for r in results(api, "NCKU_BEMS", ncku) if r["blockchain_url"]), None))
    assert (declined["result"], declined["status"], declined["acceptor"]) == (False, "未得標", None)
    assert requests.get(declined["blockchain_url"], timeout=30).json()["tag"].startswith("ETP9DR9RESULT")
    (rated,) = results(api, "Carlab_BEMS", carlab)
    assert rated["status"] == "已結算" and 0 <= rated["rate"] <= 1
