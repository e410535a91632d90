"""Retries with an Idempotency-Key over HTTP on the deployed stack (through the proxy): the template's
IdempotencyTable, its TTL and the functions' permissions, as deployed."""

import uuid
from datetime import timedelta

import requests
from stack_client import bearer

from etp.clock import local_zone, utcnow
from etp.market import slots


def test_a_bid_retried_with_its_idempotency_key_is_placed_once(deployment):
    api, zone = deployment.api, local_zone()
    start = slots.next_open_slot(utcnow(), zone) + timedelta(hours=5)
    offer: dict[str, str | float] = {
        "bid_type": "buy",
        "start_time": slots.format_dh(start, zone),
        "end_time": slots.format_dh(start + timedelta(hours=1), zone),
        "value": 4,
        "price": 2.75,
    }
    key = str(uuid.uuid4())
    abri = {**bearer(api, "ABRI_BEMS"), "Idempotency-Key": key}
    page: dict[str, str | int] = {"per_page": 1000, "page": 1, "bid_type": "buy"}
    before = requests.get(f"{api}/bidsubmit", params=page, headers=abri, timeout=30).json()["totalCount"]

    first = requests.post(f"{api}/bidsubmit", json=offer, headers=abri, timeout=30)
    retry = requests.post(f"{api}/bidsubmit", json=offer, headers=abri, timeout=30)
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json() and first.json()["message"] == "Accept"
    listed = requests.get(f"{api}/bidsubmit", params=page, headers=abri, timeout=30).json()
    assert listed["totalCount"] == before + 1, "the retry placed nothing"

    reused = requests.post(f"{api}/bidsubmit", json={**offer, "value": 5}, headers=abri, timeout=30)
    assert reused.status_code == 422 and reused.json() == {
        "error": "This Idempotency-Key was used with another request body"
    }
    other = {**bearer(api, "NCKU_BEMS"), "Idempotency-Key": key}  # another caller's key is its own
    theirs = requests.post(f"{api}/bidsubmit", json=offer, headers=other, timeout=30)
    assert theirs.status_code == 200 and theirs.json()["id"] != first.json()["id"]

    records = deployment.stack.client("dynamodb").scan(TableName=deployment.stack.outputs["IdempotencyTableName"])
    assert records["Count"] == 2 and all("expiration" in r for r in records["Items"])
