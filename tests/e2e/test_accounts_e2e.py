"""Accounts over HTTP against the SAM application deployed to MiniStack (through the proxy)."""

import json
import time

import pytest
import requests
from stack_client import PASSWORD, bearer, login, run_admin

from etp_admin import demo

CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET,POST,PUT,DELETE,OPTIONS",
    "Access-Control-Allow-Headers": "X-Requested-With, Content-Type, Authorization, Idempotency-Key",
}
ROUTES = [
    ("POST", "/login"),
    ("GET", "/user"),
    ("PUT", "/user"),
    ("POST", "/user"),
    ("GET", "/participant"),
    ("GET", "/amis"),
    ("GET", "/address"),
    ("GET", "/power_info"),
    ("GET", "/bidsubmit"),
    ("POST", "/bidsubmit"),
    ("PUT", "/bidsubmit"),
    ("DELETE", "/bidsubmit"),
    ("GET", "/bidstatus"),
]


@pytest.mark.parametrize("account", [*demo.DEMO_BEMS, demo.DEMO_AGGREGATOR])
def test_every_demo_account_logs_in_and_reads_its_profile(deployment, account):
    answer = login(deployment.api, account)
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert answer.json()["is_aggregator"] is (account == demo.DEMO_AGGREGATOR)
    profile = requests.get(f"{deployment.api}/user", headers=bearer(deployment.api, account), timeout=30)
    assert profile.status_code == 200
    assert profile.json()["account"] == account


def test_wrong_password_and_unknown_account_give_the_same_401(deployment):
    for account, password in (("NCKU_BEMS", "wrong-password"), ("Nobody_BEMS", PASSWORD)):
        answer = login(deployment.api, account, password)
        assert (answer.status_code, answer.json()) == (401, {"error": "Unauthorized access"})


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_answers_its_preflight_with_the_contract_headers(deployment, method, path):
    answer = requests.options(
        f"{deployment.api}{path}",
        timeout=30,
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert answer.status_code == 200
    for name, value in CORS.items():
        assert answer.headers[name] == value


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if r != ("POST", "/login")])
def test_no_route_but_login_answers_without_a_valid_token(deployment, method, path):
    for headers in ({}, {"Authorization": "Bearer not.a.token"}):
        answer = requests.request(method, f"{deployment.api}{path}", json={}, headers=headers, timeout=30)
        assert (answer.status_code, answer.json()) == (401, {"error": "Unauthorized access"})
        assert answer.headers["Access-Control-Allow-Origin"] == "*"


def test_an_aggregator_creates_an_account_that_then_changes_its_password(deployment):
    api = deployment.api
    new = {"account": "E2E_BEMS", "username": "End to end", "password": "first-passphrase"}
    created = requests.post(f"{api}/user", json=new, headers=bearer(api, "Aggregator"), timeout=30)
    assert (created.status_code, created.json()) == (201, {"message": "Account created"})
    again = requests.post(
        f"{api}/user", json={**new, "username": "Impostor"}, headers=bearer(api, "Aggregator"), timeout=30
    )
    assert (again.status_code, again.json()) == (409, {"error": "Account already exists"})
    refused = requests.post(
        f"{api}/user", json={**new, "account": "Other_BEMS"}, headers=bearer(api, "ABRI_BEMS"), timeout=30
    )
    assert (refused.status_code, refused.json()) == (403, {"error": "Forbidden"})

    old = login(api, "E2E_BEMS", "first-passphrase").json()["bearer"]
    elsewhere = {"Authorization": f"Bearer {login(api, 'E2E_BEMS', 'first-passphrase').json()['bearer']}"}
    changed = requests.put(
        f"{api}/user",
        json={"original_passwd": "first-passphrase", "new_passwd": "second-pass"},
        headers={"Authorization": f"Bearer {old}"},
        timeout=30,
    )
    assert changed.status_code == 200 and changed.json()["message"] == "Accept."
    # the session that changed the password stays signed in (the front end keeps its bearer); the others not
    assert requests.get(f"{api}/user", headers={"Authorization": f"Bearer {old}"}, timeout=30).status_code == 200
    assert requests.get(f"{api}/user", headers=elsewhere, timeout=30).status_code == 401
    assert login(api, "E2E_BEMS", "first-passphrase").status_code == 401
    fresh = {"Authorization": f"Bearer {changed.json()['bearer']}"}
    assert requests.get(f"{api}/user", headers=fresh, timeout=30).json()["username"] == "End to end"
    assert login(api, "E2E_BEMS", "second-pass").status_code == 200

    names = {p["name"] for p in requests.get(f"{api}/participant", headers=fresh, timeout=30).json()}
    assert {"End to end", *demo.DEMO_BEMS} <= names


def clear_address_counts(deployment) -> int:
    """Delete every source address's failures from the stack's LoginAttemptsTable (a test's Scan); how many."""
    client, table = deployment.stack.client("dynamodb"), deployment.stack.outputs["LoginAttemptsTableName"]
    found = client.scan(
        TableName=table,
        FilterExpression="begins_with(#key, :source)",
        ExpressionAttributeNames={"#key": "key"},
        ExpressionAttributeValues={":source": {"S": "source#"}},
    )["Items"]
    for item in found:
        client.delete_item(TableName=table, Key={"key": item["key"], "sort": item["sort"]})
    return len(found)


def test_a_trusted_owner_logs_in_at_once_after_30_failures_by_others_from_its_address(deployment):
    """Issue 19, item 1. Every request of these tests reaches the stack from 127.0.0.1 through the proxy: one
    address shared by every account, as a campus NAT is."""
    api = deployment.api
    assert login(api, "Carlab_BEMS").status_code == 200, "the owner logs in from this address: it is trusted"
    new = {"account": "Newcomer_BEMS", "username": "Newcomer", "password": "newcomer-passphrase"}
    created = requests.post(f"{api}/user", json=new, headers=bearer(api, "Aggregator"), timeout=30)
    assert created.status_code == 201, "an account that never logged in from here"
    # This test holds the shared address; the e2e tests after it log in accounts new to it (the events
    # test, the fuzzer), so it starts from no count and deletes the address's count when done, pass or fail.
    clear_address_counts(deployment)
    try:
        others = [login(api, f"Guesser{n}_BEMS", "wrong-password").status_code for n in range(30)]
        assert others[:20] == [401] * 20, "an address's free budget is 20"
        assert set(others[20:]) <= {401, 429}
        # guess on (at other accounts) as Retry-After says, until the address's delay covers the two
        # logins below with room to spare: 1 + 2 + 4 + 8 s, then 16 s (15 once a second has passed)
        for n in range(30, 60):
            answer = login(api, f"Guesser{n}_BEMS", "wrong-password")
            assert answer.status_code in (401, 429)
            if (wait := int(answer.headers.get("Retry-After", "0"))) >= 12:
                break
            time.sleep(wait)
        else:
            pytest.fail("the address was never held for 12 s")
        assert login(api, "Carlab_BEMS").status_code == 200, "the trusted owner logs in at once"
        held = login(api, "Newcomer_BEMS", "newcomer-passphrase")
        assert (held.status_code, held.json()) == (429, {"error": "Too many attempts"})
        assert 1 <= int(held.headers["Retry-After"]) <= wait, "the address's delay, nothing more"
    finally:
        assert clear_address_counts(deployment) >= 1
    assert login(api, "Newcomer_BEMS", "newcomer-passphrase").status_code == 200, "held, not locked out"


def test_bad_bodies_get_400_naming_the_problem(deployment):
    api = deployment.api
    malformed = requests.post(
        f"{api}/login", data="{not json", headers={"Content-Type": "application/json"}, timeout=30
    )
    assert malformed.status_code == 400 and "body" in malformed.json()["description"]
    huge = requests.post(f"{api}/login", json={"account": "A", "password": "p", "pad": "x" * 70_000}, timeout=30)
    assert huge.status_code == 400 and "body" in huge.json()["description"]
    long_account = login(api, "A" * 81)
    assert long_account.status_code == 400 and "account" in long_account.json()["description"]


def test_operator_cli_lists_and_resets_accounts_on_the_deployed_stack(deployment):
    listed = run_admin(deployment, "accounts", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {row["account"] for row in json.loads(listed.stdout)} >= {*demo.DEMO_BEMS, demo.DEMO_AGGREGATOR}

    old = bearer(deployment.api, "SGESC_D_BEMS")
    reset = run_admin(
        deployment, "accounts", "reset-password", "SGESC_D_BEMS", "--password-stdin", stdin="operator-set\n"
    )
    assert reset.returncode == 0, reset.stderr
    assert requests.get(f"{deployment.api}/user", headers=old, timeout=30).status_code == 401
    assert login(deployment.api, "SGESC_D_BEMS", "operator-set").status_code == 200

    signed_in = {"Authorization": f"Bearer {login(deployment.api, 'SGESC_D_BEMS', 'operator-set').json()['bearer']}"}
    revoked = run_admin(deployment, "accounts", "revoke-sessions", "SGESC_D_BEMS")
    assert revoked.returncode == 0 and "signed out" in revoked.stdout, revoked.stderr
    assert requests.get(f"{deployment.api}/user", headers=signed_in, timeout=30).status_code == 401

    seeded = run_admin(
        deployment, "demo", "seed", "--credentials-dir", str(deployment.meters), "--node", deployment.node
    )
    assert seeded.returncode == 0, seeded.stderr
    assert seeded.stdout.count("account exists") == 6 and seeded.stdout.count("meter exists") == 5
    assert login(deployment.api, "SGESC_D_BEMS", "operator-set").status_code == 200, "seeding never overwrites"
