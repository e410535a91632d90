"""Bids over HTTP on the deployed stack (through the proxy)."""

from datetime import timedelta

import requests

from etp import slots
from etp.clock import local_zone, utcnow
from etp_admin import demo


def bearer(api, account):
    answer = requests.post(f"{api}/login", json={"account": account, "password": demo.DEFAULT_DEMO_PASSWORD},
                           timeout=30)
    return {"Authorization": f"Bearer {answer.json()['bearer']}"}


def test_bids_are_submitted_listed_edited_and_withdrawn(deployment):
    api, zone = deployment.api, local_zone()
    start = slots.next_open_slot(utcnow(), zone) + timedelta(hours=3)
    offer = {"bid_type": "sell", "start_time": slots.format_dh(start, zone),
             "end_time": slots.format_dh(start + timedelta(hours=1), zone), "value": 5, "price": 2.5}
    carlab = bearer(api, "Carlab_BEMS")
    created = requests.post(f"{api}/bidsubmit", json=offer, headers=carlab, timeout=30)
    assert created.status_code == 200 and created.json()["message"] == "Accept"
    bid_id = created.json()["id"]
    listed = requests.get(f"{api}/bidsubmit", params={"per_page": 10, "page": 1, "bid_type": "sell"},
                          headers=carlab, timeout=30).json()
    assert [(b["id"], b["volume"], b["price"]) for b in listed["data"]] == [(bid_id, 5.0, 2.5)]
    refused = requests.post(f"{api}/bidsubmit", json={**offer, "bid_type": "buy"}, headers=carlab, timeout=30)
    assert refused.status_code == 400 and refused.json()["message"] == "Reject"
    edited = requests.put(f"{api}/bidsubmit", json={**offer, "id": bid_id, "value": 7}, headers=carlab, timeout=30)
    assert edited.json() == {"message": "Accept"}
    stranger = requests.delete(f"{api}/bidsubmit", json={"id": bid_id}, headers=bearer(api, "NCKU_BEMS"), timeout=30)
    assert stranger.status_code == 400 and stranger.json()["description"] == "Invalid ID"
    withdrawn = requests.delete(f"{api}/bidsubmit", json={"id": bid_id}, headers=carlab, timeout=30)
    assert withdrawn.json() == {"message": "Accept"}
    status = requests.get(f"{api}/bidstatus", headers=carlab, timeout=30)
    assert status.status_code == 200 and set(status.json()) == {"average_price", "average_volume", "participants"}
