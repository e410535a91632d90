"""The accounts function called in-process with events/accounts/*.json against moto."""

import io
import json
from datetime import timedelta

import pytest
from aws_fixtures import JWT_SECRET
from helpers import call, load_event, load_function

from etp.accounts import service as accounts
from etp.accounts import tokens
from etp.accounts.store import DynamoUserStore
from etp.clock import utcnow

function = load_function("accounts")
PASSWORD = "energy-demo"


@pytest.fixture
def users(aws):
    store = DynamoUserStore()
    for account, aggregator in (("Carlab_BEMS", False), ("NCKU_BEMS", False), ("Aggregator", True)):
        accounts.create_account(store, None, accounts.NewAccount(account, account, PASSWORD, aggregator), utcnow())
    return store


def login(account="Carlab_BEMS", password=PASSWORD):
    return call(function, load_event("accounts/login.json", body={"account": account, "password": password}))


def bearer(account="Carlab_BEMS"):
    status, body = login(account)
    assert status == 200
    return body["bearer"]


# --- POST /login ---------------------------------------------------------------------------


def test_login_answers_id_bearer_and_role(users):
    status, body = login("Aggregator")
    assert status == 200
    assert set(body) == {"id", "bearer", "is_aggregator"}
    assert body["is_aggregator"] is True
    assert body["id"] == users.get("Aggregator").id


def test_the_sample_event_logs_in(users):
    status, body = call(function, load_event("accounts/login.json"))
    assert status == 200 and body["is_aggregator"] is False


@pytest.mark.parametrize(("account", "password"), [("Carlab_BEMS", "wrong-pass"), ("Ghost_BEMS", PASSWORD)])
def test_wrong_password_and_unknown_account_get_the_same_401(users, account, password):
    assert login(account, password) == (401, {"error": "Unauthorized access"})


@pytest.mark.parametrize(
    ("raw", "names"),
    [
        ("{not json", "body"),
        ("[1, 2]", "body"),
        ('"a string"', "body"),
        ("{}", "account"),
        ('{"account": "Carlab_BEMS"}', "password"),
        ('{"account": 7, "password": "energy-demo"}', "account"),
        ('{"account": "", "password": "energy-demo"}', "account"),
        ('{"account": "Carlab_BEMS", "password": ""}', "password"),
        (json.dumps({"account": "A" * 81, "password": PASSWORD}), "account"),
        (json.dumps({"account": "Carlab_BEMS", "password": "p" * 257}), "password"),
        ('{"account": "Carlab_BEMS", "password": null}', "password"),
    ],
)
def test_bad_login_bodies_get_400_naming_the_problem(users, raw, names):
    status, body = call(function, load_event("accounts/login.json", raw_body=raw))
    assert status == 400
    assert names in body["description"]


def test_a_body_over_64_kb_is_refused(users):
    raw = json.dumps({"account": "Carlab_BEMS", "password": PASSWORD, "padding": "x" * 70_000})
    status, body = call(function, load_event("accounts/login.json", raw_body=raw))
    assert status == 400 and "body" in body["description"]


# --- authentication on every other route ------------------------------------------------------

PROTECTED = [
    "accounts/get_user.json",
    "accounts/change_password.json",
    "accounts/create_user.json",
    "accounts/participants.json",
]


@pytest.mark.parametrize("event_file", PROTECTED)
def test_no_route_but_login_answers_without_a_valid_token(users, event_file):
    expired = tokens.issue(
        user_id=users.get("Carlab_BEMS").id,
        account="Carlab_BEMS",
        version=0,
        session="s",
        secret=JWT_SECRET,
        now=utcnow() - timedelta(hours=25),
        ttl=timedelta(hours=24),
    )
    forged = tokens.issue(
        user_id=users.get("Carlab_BEMS").id,
        account="Carlab_BEMS",
        version=0,
        session="s",
        secret="not-the-platform-secret-but-long-enough!!",
        now=utcnow(),
        ttl=timedelta(hours=1),
    )
    for token in (None, "", "garbage", expired, forged):
        event = load_event(event_file, bearer=token)
        assert call(function, event) == (401, {"error": "Unauthorized access"})
    assert users.get("New_BEMS") is None


@pytest.mark.parametrize("event_file", [*PROTECTED, "accounts/login.json"])
def test_preflights_answer_without_a_token(users, event_file):
    event = load_event(event_file)
    event["httpMethod"] = "OPTIONS"
    event["body"] = None
    assert call(function, event) == (200, None)


def test_the_sample_preflight_event(users):
    assert call(function, load_event("accounts/preflight.json")) == (200, None)


def test_a_token_of_a_deleted_account_is_refused(users):
    token = bearer("NCKU_BEMS")
    from etp.accounts.store import UserModel

    UserModel("NCKU_BEMS").delete()
    assert call(function, load_event("accounts/get_user.json", bearer=token))[0] == 401


# --- GET /user ---------------------------------------------------------------------------------


def test_get_user_answers_the_callers_profile(users):
    status, body = call(function, load_event("accounts/get_user.json", bearer=bearer("Carlab_BEMS")))
    assert status == 200
    assert body == {
        "account": "Carlab_BEMS",
        "username": "Carlab_BEMS",
        "avatar": "",
        "balance": 0,
        "address": "",
        "eth_address": "",
        "is_aggregator": False,
    }


# --- PUT /user ---------------------------------------------------------------------------------


def change_password(token: str, original: str, new: str):
    body = {"original_passwd": original, "new_passwd": new}
    return call(function, load_event("accounts/change_password.json", bearer=token, body=body))


# every GET route of every API, as the front end uses them after changing the password
READ_ROUTES = [
    ("accounts", "accounts/get_user.json"),
    ("accounts", "accounts/participants.json"),
    ("market", "market/list_bids.json"),
    ("market", "market/bid_status.json"),
    ("market", "market/match_result.json"),
    ("market", "market/homepage.json"),
    ("market", "market/news.json"),
    ("meters", "meters/amis.json"),
    ("power", "power/table.json"),
    ("demand_response", "demand_response/list_offers.json"),
    ("demand_response", "demand_response/results_by_date.json"),
]


def status_on(route: tuple[str, str], token: str) -> int:
    name, event_file = route
    return call(load_function(name), load_event(event_file, bearer=token))[0]


def test_a_password_change_keeps_the_changing_session_signed_in_and_signs_the_others_out(users):
    mine, other_login = bearer(), bearer()
    status, body = change_password(mine, PASSWORD, "a-new-passphrase")
    assert status == 200 and body["message"] == "Accept."
    for route in READ_ROUTES:
        assert status_on(route, mine) == 200, f"the changing bearer on {route[1]}"
        assert status_on(route, body["bearer"]) == 200, f"the fresh bearer on {route[1]}"
        assert status_on(route, other_login) == 401, f"another login's bearer on {route[1]}"
    assert login(password=PASSWORD)[0] == 401, "the old password is refused"
    assert login(password="a-new-passphrase")[0] == 200
    again = change_password(mine, "a-new-passphrase", "a-third-passphrase")
    assert again[0] == 200, "the kept session may change the password again"
    assert status_on(READ_ROUTES[0], mine) == 200


def test_signing_out_everywhere_and_an_operator_reset_revoke_every_session(users):
    from etp.accounts import service as accounts
    from etp.accounts.attempts_store import DynamoLoginAttempts

    mine = bearer()
    _, body = change_password(mine, PASSWORD, "a-new-passphrase")
    accounts.revoke_sessions(users, "Carlab_BEMS", trust=DynamoLoginAttempts())
    assert [status_on(READ_ROUTES[0], t) for t in (mine, body["bearer"])] == [401, 401]
    fresh = bearer_with("a-new-passphrase")
    accounts.reset_password(users, "Carlab_BEMS", "operator-set-passphrase", trust=DynamoLoginAttempts())
    assert status_on(READ_ROUTES[0], fresh) == 401


def bearer_with(password: str) -> str:
    status, body = login(password=password)
    assert status == 200, body
    return body["bearer"]


def test_wrong_original_password_is_rejected_and_changes_nothing(users):
    token = bearer()
    status, body = call(
        function,
        load_event(
            "accounts/change_password.json",
            bearer=token,
            body={"original_passwd": "not-it", "new_passwd": "a-new-passphrase"},
        ),
    )
    assert (status, body) == (400, {"message": "Reject."})
    assert call(function, load_event("accounts/get_user.json", bearer=token))[0] == 200
    assert login()[0] == 200


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"original_passwd": PASSWORD}, "new_passwd"),
        ({"original_passwd": PASSWORD, "new_passwd": "short"}, "new_passwd"),
        ({"original_passwd": PASSWORD, "new_passwd": 12345678}, "new_passwd"),
        ({"new_passwd": "long-enough"}, "original"),
    ],
)
def test_bad_password_change_bodies_get_400_and_change_nothing(users, body, names):
    token = bearer()
    status, answer = call(function, load_event("accounts/change_password.json", bearer=token, body=body))
    assert status == 400 and names in answer["description"]
    assert users.get("Carlab_BEMS").token_version == 0


# --- POST /user --------------------------------------------------------------------------------


def test_an_aggregator_creates_an_account_that_can_log_in(users):
    status, body = call(function, load_event("accounts/create_user.json", bearer=bearer("Aggregator")))
    assert (status, body) == (201, {"message": "Account created"})
    created = users.get("New_BEMS")
    assert created.username == "New building" and created.address == "No. 1, University Rd., Tainan"
    assert login("New_BEMS", "first-passphrase")[0] == 200


def test_a_bems_cannot_create_accounts(users):
    event = load_event("accounts/create_user.json", bearer=bearer("Carlab_BEMS"))
    assert call(function, event) == (403, {"error": "Forbidden"})
    assert users.get("New_BEMS") is None


def test_a_duplicate_account_gets_409_and_the_existing_one_is_untouched(users):
    before = users.get("NCKU_BEMS")
    body = {"account": "NCKU_BEMS", "username": "Impostor", "password": "another-pass", "is_aggregator": True}
    status, answer = call(function, load_event("accounts/create_user.json", bearer=bearer("Aggregator"), body=body))
    assert (status, answer) == (409, {"error": "Account already exists"})
    assert users.get("NCKU_BEMS") == before


@pytest.mark.parametrize(
    ("body", "names"),
    [
        ({"username": "X", "password": "long-enough"}, "account"),
        ({"account": "X_BEMS", "password": "long-enough"}, "username"),
        ({"account": "X_BEMS", "username": "X"}, "password"),
        ({"account": "X BEMS", "username": "X", "password": "long-enough"}, "account"),
        ({"account": "X_BEMS", "username": "", "password": "long-enough"}, "username"),
        ({"account": "X_BEMS", "username": "X", "password": "long-enough", "is_aggregator": "yes"}, "is_aggregator"),
        ({"account": "X_BEMS", "username": "X", "password": "long-enough", "avatar": None}, "avatar"),
        ({"account": "X" * 81, "username": "X", "password": "long-enough"}, "account"),
        ({"account": "X_BEMS", "username": "X", "password": "p" * 257}, "password"),
    ],
)
def test_bad_account_bodies_get_400_and_create_nothing(users, body, names):
    status, answer = call(function, load_event("accounts/create_user.json", bearer=bearer("Aggregator"), body=body))
    assert status == 400 and names in answer["description"]
    assert {u.account for u in users.all()} == {"Carlab_BEMS", "NCKU_BEMS", "Aggregator"}


# --- GET /participant -------------------------------------------------------------------------


def test_participants_lists_every_account(users):
    status, body = call(function, load_event("accounts/participants.json", bearer=bearer()))
    assert status == 200
    assert sorted(body, key=lambda p: p["name"]) == sorted(
        ({"id": u.id, "name": u.username} for u in users.all()), key=lambda p: p["name"]
    )


# --- logs ------------------------------------------------------------------------------------------


def test_logs_never_contain_passwords_tokens_or_secrets(users):
    stream = io.StringIO()
    previous = function.logger.registered_handler.setStream(stream)
    try:
        token = bearer()
        status, changed = call(
            function,
            load_event(
                "accounts/change_password.json",
                bearer=token,
                body={"original_passwd": PASSWORD, "new_passwd": "a-new-passphrase"},
            ),
        )
        login(password="a-wrong-password")
        call(function, load_event("accounts/get_user.json", bearer="garbage.token.value"))
    finally:
        function.logger.registered_handler.setStream(previous)
    logged = stream.getvalue()
    assert status == 200 and '"message":"password changed"' in logged, "the function logs structured lines"
    for secret in (
        PASSWORD,
        "a-new-passphrase",
        "a-wrong-password",
        token,
        changed["bearer"],
        "garbage.token.value",
        JWT_SECRET,
    ):
        assert secret not in logged
