"""Retries with an Idempotency-Key (etp.edge.retries) on POST/PUT/DELETE /bidsubmit, POST /DR_bid and
POST /user, in-process against moto (the template's IdempotencyTable), with the wall clock frozen."""

import importlib.util
import json
import os
from datetime import timedelta
from typing import Any

import boto3
import pytest
from helpers import ROOT, answer, call, load_event, load_function, present

from etp.accounts import service as accounts
from etp.accounts.store import DynamoUserStore
from etp.clock import local_zone, utcnow
from etp.edge import callers, contract
from etp.market import service, slots

pytestmark = pytest.mark.usefixtures("frozen_clock")
market = load_function("market")
ZONE = local_zone()
PASSWORD = "energy-demo"
KEY = "8e03978e-40d5-43e8-bc93-6894a57f9324"


@pytest.fixture
def bearers(aws):
    users = DynamoUserStore()
    for account, aggregator in (("Carlab_BEMS", False), ("NCKU_BEMS", False), ("Aggregator", True)):
        accounts.create_account(users, None, accounts.NewAccount(account, account, PASSWORD, aggregator), utcnow())
    return {
        account: callers.issue_token(present(users.get(account)))
        for account in ("Carlab_BEMS", "NCKU_BEMS", "Aggregator")
    }


def offer(hours_ahead: int = 1, **overrides) -> dict:
    start = slots.next_open_slot(utcnow(), ZONE) + timedelta(hours=hours_ahead)
    end = start + timedelta(hours=1)
    return {
        "bid_type": "buy",
        "start_time": slots.format_dh(start, ZONE),
        "end_time": slots.format_dh(end, ZONE),
        "value": 12.5,
        "price": 3.2,
        **overrides,
    }


def keyed(event_file: str, bearer: str, body: dict, key: str | None = KEY, header: str = "Idempotency-Key") -> dict:
    event = load_event(event_file, bearer=bearer, body=body)
    if key is not None:
        event["headers"][header] = key
        event["multiValueHeaders"][header] = [key]
    return event


def replied(function, event) -> tuple[int, Any, dict[str, str]]:
    """(status, body, headers) of the handler's `answer`: a replay's JSON may order its fields otherwise."""
    status, body, headers, _ = answer(function, event)
    return status, body, headers


def items(table_variable: str) -> list[dict]:
    return boto3.client("dynamodb").scan(TableName=os.environ[table_variable])["Items"]


def records() -> list[dict]:
    return items("IDEMPOTENCY_TABLE")


def submit(bearer: str, body: dict, key: str | None = KEY) -> tuple[int, Any, dict[str, str]]:
    return replied(market, keyed("market/submit_bid.json", bearer, body, key))


def test_a_retry_with_the_same_key_and_body_gets_the_first_answer_and_writes_nothing(bearers):
    body = offer()
    first = submit(bearers["Carlab_BEMS"], body)
    assert first[0] == 200 and first[1]["message"] == "Accept"
    stored = items("BIDS_TABLE")

    again = submit(bearers["Carlab_BEMS"], dict(reversed(body.items())))  # the same JSON, fields in another order

    assert again == first, "the first answer: status, body (the same bid id) and headers"
    assert items("BIDS_TABLE") == stored, "nothing written again"
    [record] = records()
    assert record["status"] == {"S": "COMPLETED"}
    assert int(record["expiration"]["N"]) == int((utcnow() + timedelta(hours=24)).timestamp()), "kept 24 h"


def test_without_the_key_a_retry_places_the_bid_twice_and_the_table_is_never_touched(bearers, monkeypatch):
    import botocore.client

    tables: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def spy(client, operation, params):
        tables.append(params.get("TableName", ""))
        return original(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", spy)
    body = offer()
    first, second = submit(bearers["Carlab_BEMS"], body, key=None), submit(bearers["Carlab_BEMS"], body, key=None)
    assert first[0] == second[0] == 200 and first[1]["id"] != second[1]["id"], "unchanged: two bids"
    assert os.environ["IDEMPOTENCY_TABLE"] not in tables
    assert records() == []


def test_the_same_key_with_another_body_gets_422_and_writes_nothing(bearers):
    assert submit(bearers["Carlab_BEMS"], offer())[0] == 200
    stored = items("BIDS_TABLE")
    status, body, _ = submit(bearers["Carlab_BEMS"], offer(price=3.3))
    assert (status, body) == (422, contract.KEY_REUSED)
    assert items("BIDS_TABLE") == stored


def test_a_key_is_the_callers_own_another_user_with_the_same_key_and_body_gets_an_answer_of_its_own(bearers):
    carlab = submit(bearers["Carlab_BEMS"], offer())
    ncku = submit(bearers["NCKU_BEMS"], offer())
    assert carlab[0] == ncku[0] == 200 and carlab[1]["id"] != ncku[1]["id"]
    assert len(records()) == 2


def load_second_instance(name: str):
    """Another copy of functions/<name>/app.py (its own resolver and router): a second Lambda container."""
    spec = importlib.util.spec_from_file_location(f"second_{name}", ROOT / "functions" / name / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_request_still_in_flight_with_the_key_gets_409_then_the_retry_gets_the_first_answer(bearers, monkeypatch):
    other_container = load_second_instance("market")
    event = keyed("market/submit_bid.json", bearers["Carlab_BEMS"], offer())
    during: list[tuple] = []
    real_submit = service.submit

    def submit_while_a_retry_arrives(*args, **kwargs):
        if not during:  # the retry reaches another container while this one is still writing
            during.append(replied(other_container, json.loads(json.dumps(event))))
        return real_submit(*args, **kwargs)

    monkeypatch.setattr(service, "submit", submit_while_a_retry_arrives)
    first = replied(market, event)

    assert during[0][:2] == (409, contract.KEY_IN_FLIGHT)
    assert first[0] == 200
    stored = items("BIDS_TABLE")
    assert replied(other_container, event) == first, "once done, the retry gets the first answer"
    assert items("BIDS_TABLE") == stored and len(records()) == 1


def test_a_refusal_is_not_kept_so_the_key_may_be_used_again(bearers):
    status, body, _ = submit(bearers["Carlab_BEMS"], offer(value=0))
    assert status == 400 and body["message"] == "Reject"
    assert records() == [], "only a 2xx answer is kept"
    status, body, _ = submit(bearers["Carlab_BEMS"], offer())
    assert status == 200, "the same key, now with a body that is accepted"


def test_a_malformed_key_gets_the_areas_400_and_no_record(bearers):
    status, body, _ = submit(bearers["Carlab_BEMS"], offer(), key="not a key: spaces")
    assert status == 400 and body["message"] == "Reject" and "idempotency-key" in body["description"].lower()
    assert records() == [] and items("BIDS_TABLE") == []


def test_the_header_name_is_case_insensitive_and_the_drafts_quoted_form_is_the_same_key(bearers):
    body = offer()
    first = replied(market, keyed("market/submit_bid.json", bearers["Carlab_BEMS"], body, header="idempotency-key"))
    quoted = replied(market, keyed("market/submit_bid.json", bearers["Carlab_BEMS"], body, key=f'"{KEY}"'))
    assert first[0] == 200 and quoted == first


def test_the_key_is_kept_24_hours_then_forgotten(bearers, frozen_clock):
    body = offer(hours_ahead=48)  # still open a day later
    first = submit(bearers["Carlab_BEMS"], body)
    frozen_clock.advance(timedelta(hours=23, minutes=59))
    assert submit(bearers["Carlab_BEMS"], body) == first
    frozen_clock.advance(timedelta(minutes=2))
    later = submit(
        callers.issue_token(present(DynamoUserStore().get("Carlab_BEMS"))), body
    )  # the first bearer has expired
    assert first[0] == later[0] == 200 and later[1]["id"] != first[1]["id"]


def test_a_withdrawal_retried_after_its_answer_was_lost_gets_accept_not_invalid_id(bearers):
    bid_id = submit(bearers["Carlab_BEMS"], offer(), key=None)[1]["id"]
    event = keyed("market/delete_bid.json", bearers["Carlab_BEMS"], {"id": bid_id})
    assert replied(market, event)[:2] == (200, {"message": "Accept"})
    assert replied(market, event)[:2] == (200, {"message": "Accept"})
    without_key = keyed("market/delete_bid.json", bearers["Carlab_BEMS"], {"id": bid_id}, key=None)
    assert replied(market, without_key)[:2] == (400, {"message": "Reject", "description": "Invalid ID"})


def test_an_edit_retried_gets_the_first_answer(bearers):
    bid_id = submit(bearers["Carlab_BEMS"], offer(), key=None)[1]["id"]
    event = keyed("market/edit_bid.json", bearers["Carlab_BEMS"], {"id": bid_id, **offer(price=4)})
    first = replied(market, event)
    stored = items("BIDS_TABLE")
    assert first[0] == 200 and replied(market, event) == first and items("BIDS_TABLE") == stored


def test_a_dr_offer_retried_is_made_once(bearers):
    dr_app = load_function("demand_response")
    event = keyed("demand_response/post_offer.json", bearers["Carlab_BEMS"], {"volume": 5, "price": 2.5})
    assert replied(dr_app, event)[:2] == (200, "ok")
    assert replied(dr_app, event)[:2] == (200, "ok")
    assert len(items("DR_TABLE")) == 1
    other = keyed("demand_response/post_offer.json", bearers["Carlab_BEMS"], {"volume": 6, "price": 2.5})
    assert replied(dr_app, other)[:2] == (422, contract.KEY_REUSED)


def test_an_account_creation_retried_gets_201_again_and_the_record_holds_no_password(bearers):
    accounts_app = load_function("accounts")
    body = {"account": "New_BEMS", "username": "New", "password": "a-secret-password"}
    event = keyed("accounts/create_user.json", bearers["Aggregator"], body)
    assert call(accounts_app, event) == (201, {"message": "Account created"})
    assert call(accounts_app, event) == (201, {"message": "Account created"}), "not 409: the first answer"
    without_key = keyed("accounts/create_user.json", bearers["Aggregator"], body, key=None)
    assert call(accounts_app, without_key) == (409, {"error": "Account already exists"})
    [record] = records()
    assert "a-secret-password" not in json.dumps(record)
    assert "validation" in record, "the body is compared, by an HMAC under the platform's signing key"
