"""Account rules against an in-memory store (the DynamoDB store is covered by the integration tests)."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from etp.accounts import passwords
from etp.accounts import service as accounts
from etp.accounts.tokens import Claims
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

    def set_password(self, user, password_hash, keep_session=None):
        return self._bump(user, keep_session, password_hash=password_hash)

    def revoke_sessions(self, user):
        return self._bump(user, None)

    def _bump(self, user, keep_session, **changes):
        current = self.users.get(user.account)
        if current is None or current.token_version != user.token_version:
            raise VersionConflict(user.account)
        updated = replace(current, token_version=current.token_version + 1, kept_session=keep_session, **changes)
        self.users[user.account] = updated
        return updated

    def all(self):
        return sorted(self.users.values(), key=lambda u: u.account)


def issue(user: User, session: str | None) -> str:
    return f"token:{user.account}:{user.token_version}:{session or 'new'}"


@pytest.fixture
def store():
    store = MemoryStore()
    accounts.create_account(store, None, accounts.NewAccount("Aggregator", "Agg", "agg-password", True), NOW)
    accounts.create_account(store, None, accounts.NewAccount("NCKU_BEMS", "NCKU", "bems-password"), NOW)
    return store


def test_login_returns_the_user_and_a_token(store):
    user, token = accounts.login(store, "NCKU_BEMS", "bems-password", issue)
    assert user.account == "NCKU_BEMS" and not user.is_aggregator
    assert token == "token:NCKU_BEMS:0:new"


@pytest.mark.parametrize(("account", "password"), [("NCKU_BEMS", "wrong"), ("Nobody", "bems-password")])
def test_wrong_password_and_unknown_account_are_the_same_error(store, account, password):
    with pytest.raises(accounts.InvalidCredentials):
        accounts.login(store, account, password, issue)


def test_password_change_bumps_the_token_version_and_returns_a_fresh_token_of_the_same_session(store):
    user = store.get("NCKU_BEMS")
    token = accounts.change_password(store, user, "s1", "bems-password", "new-password", issue)
    assert token == "token:NCKU_BEMS:1:s1" and store.get("NCKU_BEMS").kept_session == "s1"
    assert passwords.verify_password("new-password", store.get("NCKU_BEMS").password_hash)
    with pytest.raises(accounts.InvalidCredentials):
        accounts.login(store, "NCKU_BEMS", "bems-password", issue)


def test_wrong_original_password_changes_nothing(store):
    before = store.get("NCKU_BEMS")
    with pytest.raises(accounts.WrongOriginalPassword):
        accounts.change_password(store, before, "s1", "not-it", "new-password", issue)
    assert store.get("NCKU_BEMS") == before


def test_a_password_change_based_on_a_stale_user_loses_the_race(store):
    stale = store.get("NCKU_BEMS")
    accounts.change_password(store, stale, "s1", "bems-password", "first-winner", issue)
    with pytest.raises(accounts.WrongOriginalPassword):
        accounts.change_password(store, stale, "s2", "bems-password", "second-loser", issue)
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


def claims(user: User, version: int, session: str) -> Claims:
    return Claims(user_id=user.id, account=user.account, version=version, session=session)


def test_a_password_change_keeps_the_changing_session_and_revokes_the_others(store):
    user = store.get("NCKU_BEMS")
    accounts.change_password(store, user, "mine", "bems-password", "new-password", issue)
    changed = store.get("NCKU_BEMS")
    assert accounts.bearer_accepted(changed, claims(user, 0, "mine")), "the bearer the front end keeps using"
    assert accounts.bearer_accepted(changed, claims(user, 1, "mine")), "the fresh bearer of the answer"
    assert not accounts.bearer_accepted(changed, claims(user, 0, "other-login"))
    assert not accounts.bearer_accepted(changed, claims(user, 0, "")), "a bearer from before sessions"
    accounts.change_password(store, changed, "other-login", "new-password", "newer-password", issue)
    assert not accounts.bearer_accepted(store.get("NCKU_BEMS"), claims(user, 0, "mine")), (
        "kept only until the next change"
    )


def test_a_bearer_of_another_user_is_not_accepted(store):
    ncku, aggregator = store.get("NCKU_BEMS"), store.get("Aggregator")
    assert not accounts.bearer_accepted(ncku, claims(aggregator, 0, "s"))


class ForgottenTrust:
    """TrustedSources that records which accounts' trust was forgotten (the policy's own tests are in
    test_login_attempts.py)."""

    def __init__(self) -> None:
        self.forgotten: list[str] = []

    def forget_trust(self, account: str) -> int:
        self.forgotten.append(account)
        return 2


def test_signing_out_everywhere_revokes_every_session(store):
    user = store.get("NCKU_BEMS")
    accounts.change_password(store, user, "mine", "bems-password", "new-password", issue)
    trust = ForgottenTrust()
    assert accounts.revoke_sessions(store, "NCKU_BEMS", trust=trust)[1] == 2
    assert trust.forgotten == ["NCKU_BEMS"], "and the addresses it logged in from are trusted no more"
    after = store.get("NCKU_BEMS")
    assert after.kept_session is None and not accounts.bearer_accepted(after, claims(user, 1, "mine"))
    assert accounts.bearer_accepted(after, claims(user, 2, "next-login"))
    with pytest.raises(accounts.InvalidCredentials):
        accounts.revoke_sessions(store, "Nobody", trust=trust)
    assert trust.forgotten == ["NCKU_BEMS"]


def test_operator_reset_revokes_tokens(store):
    user = store.get("NCKU_BEMS")
    accounts.change_password(store, user, "mine", "bems-password", "new-password", issue)
    trust = ForgottenTrust()
    assert accounts.reset_password(store, "NCKU_BEMS", "reset-password", trust=trust)[1] == 2
    assert trust.forgotten == ["NCKU_BEMS"], "and the addresses it logged in from are trusted no more"
    after = store.get("NCKU_BEMS")
    assert after.token_version == 2 and not accounts.bearer_accepted(after, claims(user, 1, "mine"))
    assert accounts.login(store, "NCKU_BEMS", "reset-password", issue)
    with pytest.raises(accounts.InvalidCredentials):
        accounts.reset_password(store, "Nobody", "reset-password", trust=trust)
    assert trust.forgotten == ["NCKU_BEMS"]


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
