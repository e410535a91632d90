"""GET /matchresult and GET /homepage after the market jobs ran, in-process against moto."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from builders import stored_bid
from helpers import FakeLambdaContext, call, load_event, load_function, login_bearer, present

from etp.accounts import service as accounts
from etp.accounts.store import DynamoUserStore
from etp.clock import local_zone, utcnow
from etp.market import bids, slots
from etp.market.store import DynamoBidStore

market = load_function("market")
# the slot being delivered now, the next open one: the wall clock stands still (conftest's FROZEN_AT)
pytestmark = pytest.mark.usefixtures("frozen_clock")
jobs_function = load_function("market_jobs")
PASSWORD = "energy-demo"
ZONE = local_zone()


def market_read(name, token):
    return call(market, load_event(f"market/{name}.json", bearer=token))


@pytest.fixture
def market_state(aws):
    users = DynamoUserStore()
    people = {}
    for account in ("Seller_BEMS", "Buyer_BEMS", "Loser_BEMS"):
        spec = accounts.NewAccount(account, account.split("_")[0], PASSWORD, address=f"{account} street")
        people[account] = accounts.create_account(users, None, spec, utcnow())
    slot = utcnow().astimezone(ZONE).replace(minute=0, second=0, microsecond=0)  # being delivered now
    store = DynamoBidStore()
    for account, side, kwh, price in (
        ("Seller_BEMS", "sell", 4, 2.0),
        ("Buyer_BEMS", "buy", 3, 3.0),
        ("Loser_BEMS", "buy", 2, 1.0),
    ):
        store.create(
            stored_bid(
                user_id=people[account].id,
                account=account,
                side=side,
                slot=slot.astimezone(UTC),
                kwh=kwh,
                price=price,
                uploaded_at=utcnow(),
            )
        )
    for job in ("seal", "clear", "deliver"):
        jobs_function.lambda_handler({"job": job, "slot": slot.replace(tzinfo=None).isoformat()}, FakeLambdaContext())
    return {"slot": slot, "people": people}


def test_matchresult_shows_pairs_with_counterparts_and_lost_bids(market_state):
    slot = market_state["slot"]
    date, hours = slot.strftime("%Y/%m/%d"), f"{slot:%H}:00-{slot + timedelta(hours=1):%H}:00"
    status, rows = market_read("match_result", login_bearer("Seller_BEMS"))
    assert status == 200 and len(rows) == 1
    row = rows[0]
    assert {k: row[k] for k in ("date", "time", "bid_type", "win", "status", "transaction_hash")} == {
        "date": date,
        "time": hours,
        "bid_type": "sell",
        "win": 1,
        "status": bids.DELIVERING,
        "transaction_hash": None,
    }
    assert row["counterpart"] == {"name": "Buyer", "address": "Buyer_BEMS street"}
    assert row["bids"] == {"price": 2.0, "value": 4.0} and row["wins"] == {"price": 2.5, "value": 3.0}
    assert (row["achievement"], row["settlement"]) == (None, None)
    assert row["upload"].endswith("+0800")
    _, lost = market_read("match_result", login_bearer("Loser_BEMS"))
    assert [(r["win"], r["status"], r["wins"]["value"]) for r in lost] == [(0, bids.LOST, 0)]


def test_matchresult_lists_pending_bids_with_win_null(market_state):
    token = login_bearer("Loser_BEMS")
    start = slots.next_open_slot(utcnow(), ZONE) + timedelta(hours=2)
    body = {
        "bid_type": "buy",
        "start_time": slots.format_dh(start, ZONE),
        "end_time": slots.format_dh(start + timedelta(hours=1), ZONE),
        "value": 1,
        "price": 2,
    }
    assert call(market, load_event("market/submit_bid.json", bearer=token, body=body))[0] == 200
    _, rows = market_read("match_result", token)
    assert [r["win"] for r in rows] == [None, 0], "newest slot first"
    assert rows[0]["status"] == bids.SUBMITTED


def test_homepage_shows_what_is_delivered_now_and_the_won_bids(market_state):
    status, body = market_read("homepage", login_bearer("Buyer_BEMS"))
    assert status == 200
    assert body["buy"] == {"price": 2.5, "volume": 3.0} and body["sell"] == {"price": None, "volume": None}
    slot = market_state["slot"]
    assert body["results"] == [
        {
            "date": slot.strftime("%Y/%m/%d"),
            "time": f"{slot:%H}:00-{slot + timedelta(hours=1):%H}:00",
            "price": 2.5,
            "volume": 3.0,
            "settlement": None,
        }
    ]
    _, loser = market_read("homepage", login_bearer("Loser_BEMS"))
    assert loser == {"buy": {"price": None, "volume": None}, "sell": {"price": None, "volume": None}, "results": []}


def test_news_are_the_ten_latest_newest_first(aws):
    from etp.market.news import DynamoNews

    accounts.create_account(DynamoUserStore(), None, accounts.NewAccount("Reader_BEMS", "R", PASSWORD), utcnow())
    start = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    for index in range(12):
        DynamoNews().publish(f"news {index}", start + timedelta(minutes=index))
    status, body = market_read("news", login_bearer("Reader_BEMS"))
    assert status == 200 and [n["content"] for n in body] == [f"news {i}" for i in range(11, 1, -1)]
    assert body[0]["time"] == "2026/03/01 09:11" and set(body[0]) == {"id", "time", "content"}
    with pytest.raises(ValueError):
        DynamoNews().publish("   ", start)


def test_matchresult_carries_the_slots_audit_trail_transaction(market_state, environment):
    from etp.audit.store import DynamoOutbox
    from etp.clock import to_utc_iso
    from etp_devnode.server import DevNode

    token = login_bearer("Buyer_BEMS")
    assert [r["transaction_hash"] for r in market_read("match_result", token)[1]] == [None], "not published yet"
    with DevNode("127.0.0.1", 0) as node:
        environment(IOTA_NODE_URL=node.url)
        assert load_function("audit").lambda_handler({}, FakeLambdaContext())["published"] == 2
    clearing = present(DynamoOutbox().get(f"clearing#{to_utc_iso(market_state['slot'])}"))
    assert [r["transaction_hash"] for r in market_read("match_result", token)[1]] == [clearing.tx_hash]


def test_a_bid_split_over_two_counterparts_gives_two_rows_each_with_its_own_stable_id(aws):
    """The home page keys result rows by `id`: a 12 kWh purchase from two sellers must show both parts."""
    users = DynamoUserStore()
    people = {
        account: accounts.create_account(users, None, accounts.NewAccount(account, account, PASSWORD), utcnow())
        for account in ("SellerA_BEMS", "SellerB_BEMS", "Buyer_BEMS")
    }
    slot = utcnow().astimezone(ZONE).replace(minute=0, second=0, microsecond=0)
    store = DynamoBidStore()
    bid_ids = {}
    for account, side, kwh, price in (("SellerA_BEMS", "sell", 5, 2.0), ("SellerB_BEMS", "sell", 7, 2.0),
                                      ("Buyer_BEMS", "buy", 12, 3.0)):  # fmt: skip
        bid_ids[account] = str(uuid.uuid4())
        store.create(stored_bid(id=bid_ids[account], user_id=people[account].id, account=account, side=side,
                                slot=slot.astimezone(UTC), kwh=kwh, price=price, uploaded_at=utcnow()))  # fmt: skip
    for job in ("seal", "clear", "deliver"):
        jobs_function.lambda_handler({"job": job, "slot": slot.replace(tzinfo=None).isoformat()}, FakeLambdaContext())
    token = login_bearer("Buyer_BEMS")
    _, rows = market_read("match_result", token)
    assert sorted(r["wins"]["value"] for r in rows) == [5.0, 7.0], "both parts of the purchase"
    assert len({r["id"] for r in rows}) == 2 and all(r["bid_id"] == bid_ids["Buyer_BEMS"] for r in rows)
    _, again = market_read("match_result", token)
    assert [r["id"] for r in again] == [r["id"] for r in rows], "the same ids on every call"
    _, sold = market_read("match_result", login_bearer("SellerA_BEMS"))
    assert [(r["id"], r["bid_id"]) for r in sold] == [(f"{bid_ids['SellerA_BEMS']}/{people['Buyer_BEMS'].id}",
                                                       bid_ids["SellerA_BEMS"])]  # fmt: skip
