"""Account rules against an in-memory store (the DynamoDB store is covered by the integration tests)."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from etp.accounts import passwords
from etp.accounts import service as accounts
from etp.accounts.users import AccountTaken, User, VersionConflict

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


class MemoryStore:
    def __init__(self):
        self.users: dict[str, User] = {}

    def get(self, account):
        return self.users.get(account)

    def get_by_id(self, user_id):
        return next((u for u in self.users.values() if u.id == user_id), None)

    def create(self, user):
        if user.account in self.users:
            raise AccountTaken(user.account)
        self.users[user.account] = user

    def set_password(self, user, password_hash):
        current = self.users.get(user.account)
        if current is None or current.token_version != user.token_version:
            raise VersionConflict(user.account)
        updated = replace(current, password_hash=password_hash, token_version=current.token_version + 1)
        self.users[user.account] = updated
        return updated

    def all(self):
        return sorted(self.users.values(), key=lambda u: u.account)


def issue(user: User) -> str:
    return f"token:{user.account}:{user.token_version}"


@pytest.fixture
def store():
    store = MemoryStore()
    accounts.create_account(store, None, accounts.NewAccount("Aggregator", "Agg", "agg-password", True), NOW)
    accounts.create_account(store, None, accounts.NewAccount("NCKU_BEMS", "NCKU", "bems-password"), NOW)
    return store


def test_login_returns_the_user_and_a_token(store):
    user, token = accounts.login(store, "NCKU_BEMS", "bems-password", issue)
    assert user.account == "NCKU_BEMS" and not user.is_aggregator
    assert token == "token:NCKU_BEMS:0"


@pytest.mark.parametrize(("account", "password"), [("NCKU_BEMS", "wrong"), ("Nobody", "bems-password")])
def test_wrong_password_and_unknown_account_are_the_same_error(store, account, password):
    with pytest.raises(accounts.InvalidCredentials):
        accounts.login(store, account, password, issue)


def test_password_change_bumps_the_token_version_and_returns_a_fresh_token(store):
    user = store.get("NCKU_BEMS")
    token = accounts.change_password(store, user, "bems-password", "new-password", issue)
    assert token == "token:NCKU_BEMS:1"
    assert passwords.verify_password("new-password", store.get("NCKU_BEMS").password_hash)
    with pytest.raises(accounts.InvalidCredentials):
        accounts.login(store, "NCKU_BEMS", "bems-password", issue)


def test_wrong_original_password_changes_nothing(store):
    before = store.get("NCKU_BEMS")
    with pytest.raises(accounts.WrongOriginalPassword):
        accounts.change_password(store, before, "not-it", "new-password", issue)
    assert store.get("NCKU_BEMS") == before


def test_a_password_change_based_on_a_stale_user_loses_the_race(store):
    stale = store.get("NCKU_BEMS")
    accounts.change_password(store, stale, "bems-password", "first-winner", issue)
    with pytest.raises(accounts.WrongOriginalPassword):
        accounts.change_password(store, stale, "bems-password", "second-loser", issue)
    assert passwords.verify_password("first-winner", store.get("NCKU_BEMS").password_hash)


def test_only_aggregators_create_accounts(store):
    bems = store.get("NCKU_BEMS")
    with pytest.raises(accounts.NotAllowed):
        accounts.create_account(store, bems, accounts.NewAccount("X_BEMS", "X", "x-password"), NOW)
    assert store.get("X_BEMS") is None
    spec = accounts.NewAccount("X_BEMS", "X", "x-pass1")
    created = accounts.create_account(store, store.get("Aggregator"), spec, NOW)
    assert created.created_at == "2026-11-25T08:00:00Z"
    assert accounts.login(store, "X_BEMS", "x-pass1", issue)[0].id == created.id


def test_a_duplicate_account_leaves_the_existing_one_untouched(store):
    before = store.get("NCKU_BEMS")
    with pytest.raises(accounts.AccountExists):
        accounts.create_account(store, None, accounts.NewAccount("NCKU_BEMS", "Impostor", "other-pass", True), NOW)
    assert store.get("NCKU_BEMS") == before


def test_operator_reset_revokes_tokens(store):
    accounts.reset_password(store, "NCKU_BEMS", "reset-password")
    assert store.get("NCKU_BEMS").token_version == 1
    assert accounts.login(store, "NCKU_BEMS", "reset-password", issue)
    with pytest.raises(accounts.InvalidCredentials):
        accounts.reset_password(store, "Nobody", "reset-password")


def test_profile_has_the_contract_fields_and_no_nulls(store):
    view = accounts.profile(replace(store.get("NCKU_BEMS"), balance_milli=12345))
    assert view == {
        "account": "NCKU_BEMS",
        "username": "NCKU",
        "avatar": "",
        "balance": 12.345,
        "address": "",
        "eth_address": "",
        "is_aggregator": False,
    }


def test_participants_lists_every_account(store):
    assert [p["name"] for p in accounts.participants(store)] == ["Agg", "NCKU"]
    assert all(set(p) == {"id", "name"} for p in accounts.participants(store))
