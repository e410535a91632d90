"""Through the local stack's proxy the functions see the client as API Gateway would show it: a forged
X-Forwarded-For does not change the event's sourceIp, which stays the TCP peer's address."""

import time
import uuid

import requests
from stack_client import PASSWORD

from etp.accounts.attempts_store import DynamoLoginAttempts

FORGED = "203.0.113.7"


def failures(account: str, source: str) -> int:
    """The failed logins counted against `source` (its login-attempts record), as the login function reads them."""
    record = DynamoLoginAttempts().standing(account, source, int(time.time())).source
    return record.failures if record else 0


def test_a_forged_x_forwarded_for_reaches_the_function_as_the_peer_address(deployment):
    # the conftest's stack.bind_data_layer() points the store at the deployment's table
    account = f"Nobody_{uuid.uuid4().hex[:8]}"
    before = failures(account, "127.0.0.1")
    answer = requests.post(
        f"{deployment.api}/login",
        json={"account": account, "password": PASSWORD + "-wrong"},
        headers={"X-Forwarded-For": f"{FORGED}, 198.51.100.1"},
        timeout=30,
    )
    assert answer.status_code == 401
    assert failures(account, "127.0.0.1") == before + 1  # counted against the TCP peer, sourceIp
    assert failures(account, FORGED) == 0
