"""Real-time `transaction` events: the WebSocket function ($connect with ?token=, $disconnect) and the
market jobs pushing a slot's event through the @connections API (moto), once per slot and step."""

import copy
import json
from datetime import UTC

import pytest
from builders import placed_bid
from helpers import ROOT, FakeLambdaContext, login_bearer, present
from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

from etp.accounts import service as accounts
from etp.accounts.attempts_store import DynamoLoginAttempts
from etp.accounts.store import DynamoUserStore
from etp.clock import local_zone, utcnow
from etp.edge.push import DynamoConnections, WebSocketPush

pytestmark = pytest.mark.usefixtures("frozen_clock")
PASSWORD = "energy-demo"
ZONE = local_zone()


def load(name: str) -> dict:
    return json.loads((ROOT / "events" / "events" / f"{name}.json").read_text())


def ws(route: str, connection_id: str, token: str | None = None) -> dict:
    event = copy.deepcopy(load("connect" if route == "$connect" else "disconnect"))
    event["requestContext"]["connectionId"] = connection_id
    if route == "$connect":
        event["queryStringParameters"] = {"token": token} if token is not None else None
    return event


@pytest.fixture
def events_function():
    from helpers import load_function

    return load_function("events")


@pytest.fixture
def people(aws):
    users = DynamoUserStore()
    return {
        account: accounts.create_account(users, None, accounts.NewAccount(account, account, PASSWORD), utcnow())
        for account in ("Seller_BEMS", "Buyer_BEMS")
    }


def connected() -> list[str]:
    return DynamoConnections().connection_ids(utcnow())


def test_a_valid_bearer_connects_and_a_disconnect_forgets_the_connection(people, events_function):
    answer = events_function.lambda_handler(ws("$connect", "c-1", login_bearer("Buyer_BEMS")), FakeLambdaContext())
    assert answer["statusCode"] == 200 and connected() == ["c-1"]
    assert events_function.lambda_handler(ws("$disconnect", "c-1"), FakeLambdaContext())["statusCode"] == 200
    assert connected() == []


def test_a_missing_bad_expired_or_revoked_bearer_is_refused(people, events_function, frozen_clock):
    from datetime import timedelta

    revoked = login_bearer("Buyer_BEMS")
    accounts.revoke_sessions(DynamoUserStore(), "Buyer_BEMS", trust=DynamoLoginAttempts())
    expiring = login_bearer("Seller_BEMS")
    frozen_clock.now = utcnow() + timedelta(hours=25)
    for token in (None, "", "not-a-jwt", revoked, expiring):
        answer = events_function.lambda_handler(ws("$connect", "c-x", token), FakeLambdaContext())
        assert answer["statusCode"] == 401, token
    assert connected() == []


def test_the_sample_events_are_wellformed(people, events_function):
    event = load("connect")
    event["queryStringParameters"] = {"token": login_bearer("Seller_BEMS")}
    assert events_function.lambda_handler(event, FakeLambdaContext())["statusCode"] == 200
    assert events_function.lambda_handler(load("disconnect"), FakeLambdaContext())["statusCode"] == 200
    assert connected() == []


def received(connection_id: str) -> bytes:
    backend = apigatewaymanagementapi_backends["123456789012"]["us-east-1"]
    return backend.connections[connection_id].data if connection_id in backend.connections else b""


def test_delivery_pushes_the_slots_event_once_to_every_connected_client(people, events_function):
    from helpers import load_function

    slot = utcnow().astimezone(ZONE).replace(minute=0, second=0, microsecond=0)
    for account, side, price in (("Seller_BEMS", "sell", 2000), ("Buyer_BEMS", "buy", 3000)):
        placed_bid(
            user_id=people[account].id,
            account=account,
            side=side,
            slot=slot.astimezone(UTC),
            kwh=4,
            price_milli=price,
            uploaded_at=utcnow(),
        )
    for connection_id, account in (("c-seller", "Seller_BEMS"), ("c-buyer", "Buyer_BEMS")):
        event = ws("$connect", connection_id, login_bearer(account))
        assert events_function.lambda_handler(event, FakeLambdaContext())["statusCode"] == 200
    market_jobs = load_function("market_jobs")
    run = {"slot": slot.replace(tzinfo=None).isoformat()}
    for job in ("seal", "clear"):
        market_jobs.lambda_handler({"job": job, **run}, FakeLambdaContext())
    assert received("c-seller") == b"", "nothing before delivery starts"
    answer = market_jobs.lambda_handler({"job": "deliver", **run}, FakeLambdaContext())
    assert answer["results"][0]["event_sent_to"] == 2
    for connection_id in ("c-seller", "c-buyer"):
        message = json.loads(received(connection_id))
        assert message["event"] == "transaction"
        assert json.loads(message["data"]) == {
            "date": slot.strftime("%Y/%m/%d"),
            "time": slot.strftime("%H:00"),
            "transactions": [{"seller": "Seller_BEMS", "buyer": "Buyer_BEMS", "achievement": 0}],
        }
    before = received("c-buyer")
    again = market_jobs.lambda_handler({"job": "deliver", **run}, FakeLambdaContext())
    assert "event_sent_to" not in again["results"][0] and received("c-buyer") == before, "sent once"


class GoneClient:
    class exceptions:  # boto3's shape: client.exceptions.GoneException
        class GoneException(Exception):
            pass

    def __init__(self, gone: set[str]) -> None:
        self.gone = gone
        self.posted: list[str] = []

    def post_to_connection(self, *, ConnectionId: str, Data: bytes) -> None:
        if ConnectionId in self.gone:
            raise self.exceptions.GoneException(ConnectionId)
        self.posted.append(ConnectionId)


def test_a_gone_connection_is_pruned_when_posting(people):
    store = DynamoConnections()
    for connection_id in ("c-open", "c-gone"):
        store.add(connection_id, present(DynamoUserStore().get("Buyer_BEMS")), utcnow())
    client = GoneClient({"c-gone"})
    assert WebSocketPush(store, client).broadcast({"event": "transaction", "data": "{}"}) == 1
    assert client.posted == ["c-open"] and connected() == ["c-open"]


def test_a_run_that_dies_between_claim_and_send_is_resent_by_the_next_run_with_the_same_id(
    people, events_function, frozen_clock, monkeypatch
):
    """At least once: the frame stays claimed and unsent, and the next market run (here the next hour's
    delivery, another slot) sends it, the same frame with the same id, once the claim's lease is over."""
    from datetime import timedelta

    from helpers import load_function

    slot = utcnow().astimezone(ZONE).replace(minute=0, second=0, microsecond=0)
    for account, side, price in (("Seller_BEMS", "sell", 2000), ("Buyer_BEMS", "buy", 3000)):
        placed_bid(
            user_id=people[account].id,
            account=account,
            side=side,
            slot=slot.astimezone(UTC),
            kwh=4,
            price_milli=price,
            uploaded_at=utcnow(),
        )
    event = ws("$connect", "c-buyer", login_bearer("Buyer_BEMS"))
    assert events_function.lambda_handler(event, FakeLambdaContext())["statusCode"] == 200
    market_jobs = load_function("market_jobs")
    run = {"slot": slot.replace(tzinfo=None).isoformat()}
    for job in ("seal", "clear"):
        market_jobs.lambda_handler({"job": job, **run}, FakeLambdaContext())

    real_broadcast = WebSocketPush.broadcast

    def dies(self, message):
        raise TimeoutError("the function timed out after claiming the event")

    monkeypatch.setattr(WebSocketPush, "broadcast", dies)
    with pytest.raises(TimeoutError):
        market_jobs.lambda_handler({"job": "deliver", **run}, FakeLambdaContext())
    monkeypatch.setattr(WebSocketPush, "broadcast", real_broadcast)
    assert received("c-buyer") == b""
    expected_id = f"deliver#{slot.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"

    again = market_jobs.lambda_handler({"job": "deliver", **run}, FakeLambdaContext())
    assert "events_resent" not in again and received("c-buyer") == b"", "another run holds it for its lease"

    frozen_clock.advance(timedelta(hours=1))
    later = {"slot": (slot + timedelta(hours=1)).replace(tzinfo=None).isoformat()}
    answer = market_jobs.lambda_handler({"job": "deliver", **later}, FakeLambdaContext())
    assert answer["events_resent"] == [expected_id]
    frame = json.loads(received("c-buyer"))
    assert frame["id"] == expected_id and frame["event"] == "transaction"
    assert json.loads(frame["data"])["transactions"] == [
        {"seller": "Seller_BEMS", "buyer": "Buyer_BEMS", "achievement": 0}
    ]
    before = received("c-buyer")
    answer = market_jobs.lambda_handler({"job": "deliver", **later}, FakeLambdaContext())
    assert "events_resent" not in answer and received("c-buyer") == before, "sent: never again"
    answer = market_jobs.lambda_handler({"job": "deliver", **run}, FakeLambdaContext())
    assert "event_sent_to" not in answer["results"][0] and received("c-buyer") == before


def test_a_frame_is_tried_at_most_max_attempts_times(people, frozen_clock):
    from datetime import timedelta

    from etp.edge.push import MAX_ATTEMPTS

    store, frame = DynamoConnections(), {"id": "deliver#x", "event": "transaction", "data": "{}"}
    for attempt in range(MAX_ATTEMPTS):
        assert store.claim("deliver#x", frame, utcnow()) == frame, attempt
        assert store.claim("deliver#x", {"other": 1}, utcnow()) is None, "held for its lease"
        frozen_clock.advance(timedelta(minutes=6))
        offered = store.unsent(10, utcnow())
        assert offered == ([("deliver#x", frame)] if attempt + 1 < MAX_ATTEMPTS else []), attempt
    assert store.claim("deliver#x", frame, utcnow()) is None, "given up"
