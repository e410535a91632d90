"""The DynamoDB user store against moto, with the table as template.yaml declares it."""

from dataclasses import replace

import pytest
from helpers import present

from etp.accounts.store import DynamoUserStore
from etp.accounts.users import AccountTaken, User, VersionConflict


def user(account: str, **fields) -> User:
    return User(
        id=f"id-{account}",
        account=account,
        username=account.title(),
        password_hash="scrypt$h",
        created_at="2026-11-25T08:00:00Z",
        **fields,
    )


def test_round_trip_by_account_and_by_id(aws):
    store = DynamoUserStore()
    alice = user("alice", is_aggregator=True, avatar="https://example.org/a.png", balance_milli=-1500)
    store.create(alice)
    assert store.get("alice") == alice
    assert store.get_by_id("id-alice") == alice
    assert store.get("bob") is None and store.get_by_id("id-bob") is None


def test_create_never_overwrites(aws):
    store = DynamoUserStore()
    store.create(user("alice"))
    with pytest.raises(AccountTaken):
        store.create(replace(user("alice"), username="Impostor", is_aggregator=True))
    assert store.get("alice") == user("alice")


def test_set_password_is_conditional_on_the_token_version(aws):
    store = DynamoUserStore()
    store.create(user("alice"))
    stale = present(store.get("alice"))
    updated = store.set_password(stale, "scrypt$new")
    assert (updated.password_hash, updated.token_version) == ("scrypt$new", 1)
    assert store.get("alice") == updated
    with pytest.raises(VersionConflict):
        store.set_password(stale, "scrypt$lost-race")
    with pytest.raises(VersionConflict):
        store.set_password(user("ghost"), "scrypt$x")
    assert store.get("ghost") is None, "a conditional update must not create an item"


def test_all_lists_every_account_in_account_order(aws):
    store = DynamoUserStore()
    for name in ("carol", "alice", "bob"):
        store.create(user(name))
    assert [u.account for u in store.all()] == ["alice", "bob", "carol"]
