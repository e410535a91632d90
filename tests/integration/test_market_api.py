"""GET/POST/PUT/DELETE /bidsubmit and GET /bidstatus, in-process against moto."""

import json
from datetime import timedelta

import pytest
from helpers import call, load_event, load_function, login_bearer, present

from etp.accounts import service as accounts
from etp.accounts.store import DynamoUserStore
from etp.clock import local_zone, utcnow
from etp.market import bids, slots
from etp.market.bids import BidConflict
from etp.market.store import DynamoBidStore

# the bid gate is at :40 and slots are local hours: the wall clock stands still (conftest's FROZEN_AT)
pytestmark = pytest.mark.usefixtures("frozen_clock")
market = load_function("market")
PASSWORD = "energy-demo"
ZONE = local_zone()


@pytest.fixture
def tokens(aws):
    users = DynamoUserStore()
    for account in ("Carlab_BEMS", "NCKU_BEMS"):
        accounts.create_account(users, None, accounts.NewAccount(account, account, PASSWORD), utcnow())
    return {"carlab": login_bearer("Carlab_BEMS"), "ncku": login_bearer("NCKU_BEMS")}


def slot(hours_ahead: int) -> tuple[str, str]:
    start = slots.next_open_slot(utcnow(), ZONE) + timedelta(hours=hours_ahead)
    return slots.format_dh(start, ZONE), slots.format_dh(start + timedelta(hours=1), ZONE)


def offer(hours_ahead=1, **overrides):
    start, end = slot(hours_ahead)
    return {"bid_type": "buy", "start_time": start, "end_time": end, "value": 12.5, "price": 3.2, **overrides}


def submit(token, **overrides):
    return call(market, load_event("market/submit_bid.json", bearer=token, body=offer(**overrides)))


def listed(token, bid_type="buy", **query):
    return call(
        market,
        load_event(
            "market/list_bids.json", bearer=token, query={"per_page": "10", "page": "1", "bid_type": bid_type, **query}
        ),
    )[1]


def test_a_submitted_bid_is_listed_in_the_contract_shape(tokens):
    status, body = submit(tokens["carlab"])
    assert status == 200 and body["message"] == "Accept"
    page = listed(tokens["carlab"])
    assert page["page"] == 1 and page["totalCount"] == 1
    bid = page["data"][0]
    start, end = slot(1)
    assert {k: bid[k] for k in ("id", "bid_type", "start_time", "end_time", "volume", "price", "total_price")} == {
        "id": body["id"],
        "bid_type": "buy",
        "start_time": start,
        "end_time": end,
        "volume": 12.5,
        "price": 3.2,
        "total_price": 40.0,
    }
    assert bid["date"] == start.split(" ")[0] and bid["time"] == int(start.split(" ")[1])
    assert bid["upload_time"].endswith("+0800") and len(bid["upload_time"].split(" ")) == 6
    assert listed(tokens["carlab"], "sell")["totalCount"] == 0
    assert listed(tokens["ncku"])["totalCount"] == 0, "nobody sees another's bids"


def test_the_sample_event_is_accepted(tokens):
    assert call(market, load_event("market/submit_bid.json", bearer=tokens["carlab"]))[0] == 200


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"bid_type": "hold"}, "bid_type"),
        ({"value": 0}, "value"),
        ({"value": "12"}, "value"),
        ({"price": -1}, "price"),
        ({"price": 1e9}, "price"),
        ({"start_time": "2030-01-01 10"}, "start_time"),
        ({"hours_ahead": -3}, "closed"),
    ],
)
def test_bids_that_cannot_be_accepted_get_reject_and_nothing_is_written(tokens, overrides, why):
    status, body = submit(tokens["carlab"], **overrides)
    assert status == 400 and body["message"] == "Reject" and why in body["description"]
    assert listed(tokens["carlab"])["totalCount"] == 0


@pytest.mark.parametrize("raw", ["{not json", "[]", '{"bid_type": "buy"}', json.dumps({"value": 1, "price": 1})])
def test_malformed_bodies_get_reject(tokens, raw):
    status, body = call(market, load_event("market/submit_bid.json", bearer=tokens["carlab"], raw_body=raw))
    assert status == 400 and body["message"] == "Reject" and body["description"]


def test_a_bid_of_the_other_type_in_the_same_slot_is_refused(tokens):
    assert submit(tokens["carlab"])[0] == 200
    assert submit(tokens["carlab"], price=4.0)[0] == 200, "a second bid on the same side is fine"
    status, body = submit(tokens["carlab"], bid_type="sell")
    assert status == 400 and "other type" in body["description"]
    assert submit(tokens["carlab"], bid_type="sell", hours_ahead=2)[0] == 200
    assert submit(tokens["ncku"], bid_type="sell")[0] == 200


def test_bids_are_ordered_by_slot_then_price(tokens):
    for hours, price in ((2, 3.0), (1, 2.0), (1, 5.0), (1, 3.5)):
        submit(tokens["carlab"], hours_ahead=hours, price=price)
    assert [b["price"] for b in listed(tokens["carlab"])["data"]] == [5.0, 3.5, 2.0, 3.0]
    for hours, price in ((1, 5.0), (1, 2.0)):
        submit(tokens["ncku"], hours_ahead=hours, price=price, bid_type="sell")
    assert [b["price"] for b in listed(tokens["ncku"], "sell")["data"]] == [2.0, 5.0]
    page = listed(tokens["carlab"], per_page="3", page="2")
    assert page["totalCount"] == 4 and [b["price"] for b in page["data"]] == [3.0]


def edit(token, bid_id, **overrides):
    return call(market, load_event("market/edit_bid.json", bearer=token, body={**offer(**overrides), "id": bid_id}))


def delete(token, bid_id):
    return call(market, load_event("market/delete_bid.json", bearer=token, body={"id": bid_id}))


def test_the_owner_edits_an_open_bid(tokens):
    bid_id = submit(tokens["carlab"])[1]["id"]
    assert edit(tokens["carlab"], bid_id, value=8, price=4.25) == (200, {"message": "Accept"})
    bid = listed(tokens["carlab"])["data"][0]
    assert (bid["volume"], bid["price"], bid["total_price"]) == (8.0, 4.25, 34.0)
    assert edit(tokens["carlab"], bid_id, bid_type="sell") == (200, {"message": "Accept"})
    assert listed(tokens["carlab"], "sell")["totalCount"] == 1
    assert submit(tokens["carlab"], bid_type="buy")[0] == 400, "the slot is now a sell slot for Carlab"


def test_edit_and_delete_refuse_other_peoples_and_unknown_bids(tokens):
    bid_id = submit(tokens["carlab"])[1]["id"]
    invalid = (400, {"message": "Reject", "description": "Invalid ID"})
    assert edit(tokens["ncku"], bid_id) == invalid
    assert delete(tokens["ncku"], bid_id) == invalid
    assert delete(tokens["carlab"], "no-such-bid") == invalid
    assert delete(tokens["carlab"], f"side#{bid_id}") == invalid
    assert listed(tokens["carlab"])["data"][0]["volume"] == 12.5


def test_sealed_bids_are_closed(tokens):
    bid_id = submit(tokens["carlab"])[1]["id"]
    store = DynamoBidStore()
    assert store.set_status(present(store.get(bid_id)), bids.SEALED, expected=bids.SUBMITTED)
    closed = (400, {"message": "Reject", "description": "The bid has been closed"})
    assert edit(tokens["carlab"], bid_id, value=1) == closed
    assert delete(tokens["carlab"], bid_id) == closed


def test_delete_withdraws_and_frees_the_slot_for_the_other_side(tokens):
    bid_id = submit(tokens["carlab"])[1]["id"]
    assert delete(tokens["carlab"], bid_id) == (200, {"message": "Accept"})
    assert listed(tokens["carlab"])["totalCount"] == 0
    assert delete(tokens["carlab"], bid_id)[1]["description"] == "Invalid ID"
    assert submit(tokens["carlab"], bid_type="sell")[0] == 200


def test_concurrent_edits_and_a_seal_racing_an_edit_leave_the_bid_whole(tokens):
    from dataclasses import replace

    bid_id = submit(tokens["carlab"])[1]["id"]
    store = DynamoBidStore()
    seen = present(store.get(bid_id))
    store.replace(seen, replace(seen, volume_wh=1000, version=seen.version + 1))
    with pytest.raises(BidConflict):
        store.replace(seen, replace(seen, volume_wh=2000, version=seen.version + 1))
    assert present(store.get(bid_id)).volume_wh == 1000
    current = present(store.get(bid_id))
    assert store.set_status(current, bids.SEALED, expected=bids.SUBMITTED)
    with pytest.raises(BidConflict):
        store.replace(current, replace(current, volume_wh=3000, version=current.version + 1))
    final = present(store.get(bid_id))
    assert (final.volume_wh, final.status) == (1000, bids.SEALED)


def test_bidstatus_reports_the_next_open_slot(tokens):
    assert call(market, load_event("market/bid_status.json", bearer=tokens["carlab"])) == (
        200,
        {"average_price": 0, "average_volume": 0, "participants": 0},
    )
    submit(tokens["carlab"], hours_ahead=0, value=10, price=3)
    submit(tokens["carlab"], hours_ahead=0, value=20, price=4)
    submit(tokens["ncku"], hours_ahead=0, value=30, price=5, bid_type="sell")
    submit(tokens["ncku"], hours_ahead=1, value=99, price=9, bid_type="sell")
    assert call(market, load_event("market/bid_status.json", bearer=tokens["carlab"])) == (
        200,
        {"average_price": 4.0, "average_volume": 20.0, "participants": 2},
    )


def test_bidstatus_never_describes_a_slot_sealed_early(tokens):
    """An operator sealed the next two slots before their gates: /bidstatus describes the first slot a
    bid can still enter, not a sealed one the clock would call open."""
    submit(tokens["carlab"], hours_ahead=0, value=10, price=3)
    submit(tokens["ncku"], hours_ahead=1, value=20, price=4, bid_type="sell")
    submit(tokens["ncku"], hours_ahead=2, value=30, price=5, bid_type="sell")
    submit(tokens["carlab"], hours_ahead=2, value=50, price=7)
    store, first = DynamoBidStore(), slots.next_open_slot(utcnow(), ZONE)
    leave = slots.Leave(by="arn:aws:iam::123456789012:user/ops", reason="maintenance of the meters")
    store.seal_slot(first, utcnow(), leave=leave)
    assert call(market, load_event("market/bid_status.json", bearer=tokens["carlab"])) == (
        200,
        {"average_price": 4.0, "average_volume": 20.0, "participants": 1},
    )
    store.seal_slot(first + timedelta(hours=1), utcnow(), leave=leave)
    assert call(market, load_event("market/bid_status.json", bearer=tokens["carlab"])) == (
        200,
        {"average_price": 6.0, "average_volume": 40.0, "participants": 2},
    )


def test_market_routes_need_a_bearer(tokens):
    for name in ("list_bids", "submit_bid", "edit_bid", "delete_bid", "bid_status"):
        assert call(market, load_event(f"market/{name}.json", bearer=None))[0] == 401
