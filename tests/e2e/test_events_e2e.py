"""The real-time events WebSocket (/events through the proxy, as a browser opens it): who may connect."""

import pytest
import requests
from stack_client import admin, bearer, events, login
from websockets.exceptions import InvalidStatus

from etp_admin import demo


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def assert_refused(deployment, token: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        events(deployment, token).close()
    # $connect answers non-2xx: the handshake fails with a 4xx (MiniStack: 403), never a 101
    assert 400 <= refused.value.response.status_code < 500


@pytest.mark.parametrize("account", ["Carlab_BEMS", demo.DEMO_AGGREGATOR])
def test_a_valid_bearer_connects(deployment, account):
    with events(deployment, token_of(bearer(deployment.api, account))) as websocket:
        assert websocket.ping().wait(timeout=10), "the tunnel carries frames both ways"


@pytest.mark.parametrize("token", ["", "not-a-bearer", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"])
def test_a_missing_or_invalid_bearer_is_refused(deployment, token):
    assert_refused(deployment, token)


def test_a_revoked_bearer_is_refused_and_a_new_one_connects(deployment):
    aggregator = bearer(deployment.api, demo.DEMO_AGGREGATOR)
    created = requests.post(
        f"{deployment.api}/user",
        headers=aggregator,
        json={"account": "Events_BEMS", "username": "Events building", "password": "events-passphrase"},
        timeout=30,
    )
    assert created.status_code in (200, 201), created.text
    old = token_of(bearer(deployment.api, "Events_BEMS", "events-passphrase"))
    with events(deployment, old):
        pass
    assert "signed out" in admin(deployment, "accounts", "revoke-sessions", "Events_BEMS")
    assert_refused(deployment, old)
    new = login(deployment.api, "Events_BEMS", "events-passphrase").json()["bearer"]
    with events(deployment, new) as websocket:
        assert websocket.ping().wait(timeout=10)
