"""Issue 12, item 3 and issue 19, item 1: the login policy through the accounts function (in-process,
events/accounts/login.json) against moto's tables. Each attempt comes from `requestContext.identity.sourceIp`;
the wall clock is frozen (conftest's FROZEN_AT) and moved by the tests."""

import threading
from datetime import timedelta

import boto3
import pytest
from aws_fixtures import template
from helpers import answer, call, hashed_passwords, load_event, load_function

from etp.accounts import service as accounts
from etp.accounts.attempts import Policy
from etp.accounts.attempts_store import DynamoLoginAttempts, LoginAttemptModel
from etp.accounts.store import DynamoUserStore
from etp.clock import utcnow
from etp.settings import settings

function = load_function("accounts")
PASSWORD = "energy-demo"
ATTACKER, OWNER, ELSEWHERE = "203.0.113.66", "198.51.100.7", "192.0.2.10"
NAT = "198.51.100.200"  # one address many buildings log in from (a campus NAT)


@pytest.fixture
def users(aws, frozen_clock):
    store = DynamoUserStore()
    for account in ("Carlab_BEMS", "NCKU_BEMS"):
        accounts.create_account(store, None, accounts.NewAccount(account, account, PASSWORD), utcnow())
    return store


def attempt(account="Carlab_BEMS", password="wrong-password", source=ATTACKER) -> tuple[int, dict, dict]:
    """(status, body, headers) of one POST /login from `source`."""
    event = load_event("accounts/login.json", body={"account": account, "password": password})
    event["requestContext"]["identity"]["sourceIp"] = source
    status, body, headers, _ = answer(function, event)
    return status, body, headers


def status(account="Carlab_BEMS", password="wrong-password", source=ATTACKER) -> int | str:
    """200, 401, or `429 after <Retry-After>`."""
    code, body, headers = attempt(account, password, source)
    if code == 429:
        assert body == {"error": "Too many attempts"}
        assert headers["Access-Control-Expose-Headers"] == "Retry-After"
        return f"429 after {headers['Retry-After']}"
    return code


def items() -> dict[tuple[str, str], dict]:
    table = boto3.resource("dynamodb").Table(settings().login_attempts_table)
    return {(item["key"], item["sort"]): item for item in table.scan()["Items"]}


@pytest.mark.parametrize("account", ["Carlab_BEMS", "Ghost_BEMS"])
def test_five_wrong_passwords_get_401_then_429_with_retry_after(users, account):
    assert [status(account) for _ in range(7)] == [401] * 5 + ["429 after 1"] * 2


def test_unknown_and_known_accounts_are_answered_alike_all_the_way(users, frozen_clock):
    """The same sequence of answers, Retry-After included, whether the account exists or not."""

    def run(account: str, source: str) -> list:
        answers = []
        for _ in range(12):
            answers.append(status(account, source=source))
            frozen_clock.advance(timedelta(seconds=3))
        return answers

    start = frozen_clock.now
    known = run("Carlab_BEMS", ATTACKER)
    frozen_clock.now = start
    assert run("Ghost_BEMS", ELSEWHERE) == known
    assert "429 after 1" in known


def test_after_the_delay_the_right_password_logs_in_and_clears_the_account(users, frozen_clock):
    assert [status() for _ in range(5)] == [401] * 5
    frozen_clock.advance(timedelta(seconds=1))
    assert status() == 401
    assert status(password=PASSWORD) == "429 after 2"
    frozen_clock.advance(timedelta(seconds=2))
    assert status(password=PASSWORD) == 200
    assert ("account#Carlab_BEMS", "failures") not in items()
    assert [status(source=ELSEWHERE) for _ in range(5)] == [401] * 5, "the account's count starts again"


def guess_patiently(clock, failures: int, source=lambda n: ATTACKER) -> int:
    """Wrong passwords until `failures` were weighed (the n-th from `source(n)`), each after waiting what
    the last 429 said; the seconds this took."""
    weighed = waited = 0
    while weighed < failures:
        code, _, headers = attempt(source=source(weighed))
        if code == 401:
            weighed += 1
            continue
        assert code == 429
        waited += int(headers["Retry-After"])
        clock.advance(timedelta(seconds=int(headers["Retry-After"])))
    return waited


def test_one_attacker_is_stopped_while_the_owner_elsewhere_waits_at_most_the_account_cap(users, frozen_clock):
    waited = guess_patiently(frozen_clock, 30)
    # the account's delays (5 free, up to 60 s), then the address's (20 free, up to 15 min) once longer
    assert waited == 1 + 2 + 4 + 8 + 16 + 32 + 60 * 15 + 64 + 128 + 256 + 512
    assert status() == "429 after 900", "the attacker's address waits the source's cap, 15 minutes"
    assert status(password=PASSWORD, source=OWNER) == "429 after 60", "the owner elsewhere: the account's cap"
    frozen_clock.advance(timedelta(seconds=60))
    assert status(password=PASSWORD, source=OWNER) == 200
    assert status() == "429 after 840", "the attacker is still waiting"
    assert status(password=PASSWORD) == "429 after 840", "even with the right password"


def test_guessers_on_many_addresses_cannot_lock_out_the_owner_s_address(users, frozen_clock):
    assert status(password=PASSWORD, source=OWNER) == 200
    # a new address for every guess: no source is slowed, the account reaches its cap
    waited = guess_patiently(frozen_clock, 15, source=lambda n: f"203.0.113.{n}")
    assert waited == 1 + 2 + 4 + 8 + 16 + 32 + 60 + 60 + 60 + 60
    assert status(source="203.0.113.200") == "429 after 60"
    assert status(password=PASSWORD, source=ELSEWHERE) == "429 after 60", "a new address waits the cap at most"
    assert status(password=PASSWORD, source=OWNER) == 200, "the address the owner logged in from skips it"
    assert status(password=PASSWORD, source=ELSEWHERE) == 200, "and that login cleared the account's failures"


def test_addresses_of_one_ipv6_64_count_as_one_source(users):
    for n in range(20):
        assert status(f"Ghost{n}_BEMS", source=f"2001:db8:aa:bb::{n + 1}") == 401
    assert status("NCKU_BEMS", source="2001:db8:aa:bb:ffff::9") == "429 after 1", "another account, same /64"
    assert status("NCKU_BEMS", source="2001:db8:aa:bc::1") == 401


def test_failures_are_forgotten_a_quiet_window_after_the_last_delay(users, frozen_clock):
    for _ in range(6):
        status()
        frozen_clock.advance(timedelta(seconds=1))
    frozen_clock.advance(timedelta(seconds=1 + settings().login_window_seconds))
    assert [status() for _ in range(6)] == [401] * 5 + ["429 after 1"]


def test_a_throttled_attempt_hashes_no_password(users, monkeypatch):
    for _ in range(5):
        status()
    calls = hashed_passwords(monkeypatch)
    assert status(password=PASSWORD) == "429 after 1"
    assert calls == []
    assert status(password=PASSWORD, source=OWNER) == "429 after 1", "the account waits, whatever the address"
    assert calls == []


def test_every_item_carries_the_ttl_attribute_the_template_declares(users, frozen_clock):
    spec = template()["Resources"]["LoginAttemptsTable"]["Properties"]["TimeToLiveSpecification"]
    assert spec == {"AttributeName": "expires_at", "Enabled": True}
    assert LoginAttemptModel.expires_at.attr_name == "expires_at"
    for _ in range(6):
        status()
    status(password=PASSWORD, source=OWNER)
    frozen_clock.advance(timedelta(seconds=1))
    assert status(password=PASSWORD, source=OWNER) == 200
    now = int(utcnow().timestamp())
    stored = items()
    # the owner's throttled attempt counted nothing; the login cleared the account's failures
    source, trust = ("source#203.0.113.66", "failures"), ("account#Carlab_BEMS", "trust#198.51.100.7")
    assert set(stored) == {source, trust}
    window = settings().login_window_seconds
    assert stored[source]["failures"] == 5
    assert stored[source]["expires_at"] == now - 1 + window  # not blocked (20 free), then the window
    assert stored[trust]["expires_at"] == now + 30 * 86_400


def test_an_event_without_a_source_address_is_counted_under_unknown(users):
    event = load_event("accounts/login.json", body={"account": "Carlab_BEMS", "password": "wrong-password"})
    del event["requestContext"]["identity"]
    assert call(function, event)[0] == 401
    assert items()[("source#unknown", "failures")]["failures"] == 1


@pytest.fixture
def atomic_requests(monkeypatch):
    """DynamoDB applies each request atomically (an ADD, a condition and its write); moto does not between
    threads (it reads the item, then writes it, without a lock), which loses counts when a thread switch
    falls in between: serialize its item requests, as the real service is."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()

    def serialize(request):
        def serialized(self, *args, **kwargs):
            with lock:
                return request(self, *args, **kwargs)

        return serialized

    for name in ("get_item", "put_item", "update_item", "delete_item"):
        monkeypatch.setattr(DynamoDBBackend, name, serialize(getattr(DynamoDBBackend, name)))


def test_concurrent_failures_all_count(users, atomic_requests):
    store, policy = DynamoLoginAttempts(), Policy.from_settings(settings())
    now = int(utcnow().timestamp())

    def fail_some() -> None:
        for _ in range(5):
            store.count_failure("Carlab_BEMS", ATTACKER, policy.counters(trusted=False), now)

    workers = [threading.Thread(target=fail_some) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    standing = store.standing("Carlab_BEMS", ATTACKER, now)
    assert standing.account is not None and standing.account.failures == 30
    assert standing.account.wait(now) == 60 and standing.source is not None and standing.source.wait(now) == 900


def test_a_trusted_owner_logs_in_at_once_after_30_failures_by_others_from_its_address(users):
    assert status(password=PASSWORD, source=NAT) == 200
    others = [status(f"Guess{n}_BEMS", source=NAT) for n in range(30)]
    assert others == [401] * 20 + ["429 after 1"] * 10, "the address's own free budget: 20"
    assert status(password=PASSWORD, source=NAT) == 200, "the owner's address is not held for it"
    assert status("NCKU_BEMS", PASSWORD, source=NAT) == "429 after 1", "an account new to the address is held"
    assert status("Ghost_BEMS", PASSWORD, source=NAT) == "429 after 1", "as an unknown account is"
    assert status("NCKU_BEMS", PASSWORD, source=ELSEWHERE) == 200


def test_a_trusted_pair_s_failures_count_on_the_pair_and_the_account_never_on_the_source(users):
    assert status(password=PASSWORD, source=NAT) == 200
    assert [status(source=NAT) for _ in range(6)] == [401] * 5 + ["429 after 1"]
    stored = items()
    assert stored[("account#Carlab_BEMS", f"trust#{NAT}#failures")]["failures"] == 5
    assert stored[("account#Carlab_BEMS", "failures")]["failures"] == 5
    assert (f"source#{NAT}", "failures") not in stored
    assert status("NCKU_BEMS", PASSWORD, source=NAT) == 200, "its neighbours behind the NAT are not held"
    assert status(password=PASSWORD, source=ELSEWHERE) == "429 after 1", "the account is, elsewhere"


def test_forgetting_an_account_s_trust_deletes_its_trust_and_pairs_only(users):
    for source in (NAT, OWNER):
        assert status(password=PASSWORD, source=source) == 200
    assert status("NCKU_BEMS", PASSWORD, source=NAT) == 200
    assert [status(source=NAT) for _ in range(2)] == [401, 401]
    assert status(source=ELSEWHERE) == 401
    assert DynamoLoginAttempts().forget_trust("Carlab_BEMS") == 2
    assert set(items()) == {
        ("account#Carlab_BEMS", "failures"),
        ("account#NCKU_BEMS", f"trust#{NAT}"),
        (f"source#{ELSEWHERE}", "failures"),
    }
    assert DynamoLoginAttempts().forget_trust("Carlab_BEMS") == 0
    assert DynamoLoginAttempts().forget_trust("Ghost_BEMS") == 0
