"""The login policy (etp.accounts.attempts): the backoff, forgetting, trust, and the login with a gate,
against an in-memory attempt store (the DynamoDB store is covered by tests/integration/test_login_policy_api.py)."""

from datetime import UTC, datetime

import pytest
from helpers import hashed_passwords
from test_accounts import MemoryStore, issue

from etp.accounts import attempts, passwords
from etp.accounts import service as accounts
from etp.accounts.attempts import Backoff, Counter, LoginGate, Policy, Record, Standing, TooManyAttempts
from etp.settings import Settings

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
T0 = int(NOW.timestamp())
POLICY = Policy(account=Backoff(5, 900, 60), source=Backoff(20, 900, 900), trust=30 * 86_400)


class MemoryAttempts:
    """The AttemptStore and TrustedSources protocols in memory, with the DynamoDB store's semantics."""

    def __init__(self) -> None:
        self.records: dict[str, Record] = {}
        self.trusted: dict[tuple[str, str], int] = {}

    def _live(self, key: str, now: int) -> Record | None:
        record = self.records.get(key)
        return record if record is not None and record.live(now) else None

    @staticmethod
    def _key(counter: Counter, account: str, source: str) -> str:
        return {Counter.ACCOUNT: f"a#{account}", Counter.SOURCE: f"s#{source}", Counter.PAIR: f"p#{account}#{source}"}[
            counter
        ]

    def standing(self, account, source, now):
        trusted = self.trusted.get((account, source), 0) > now
        return Standing(
            self._live(f"a#{account}", now),
            self._live(f"s#{source}", now),
            trusted,
            self._live(f"p#{account}#{source}", now),
        )

    def count_failure(self, account, source, counters, now):
        for counter, backoff in counters:
            key = self._key(counter, account, source)
            self.records[key] = backoff.next(self.records.get(key), now)

    def clear(self, account, source, trusted_until):
        self.records.pop(f"a#{account}", None)
        self.records.pop(f"p#{account}#{source}", None)
        if trusted_until is not None:
            self.trusted[(account, source)] = trusted_until

    def forget_trust(self, account):
        forgotten = [pair for pair in self.trusted if pair[0] == account]
        for pair in forgotten:
            del self.trusted[pair]
            self.records.pop(f"p#{account}#{pair[1]}", None)
        return len(forgotten)


# --- the backoff --------------------------------------------------------------------------------


def test_the_first_failures_are_free_then_the_delay_doubles_up_to_the_cap():
    account, source = POLICY.account, POLICY.source
    assert [account.delay(n) for n in range(1, 13)] == [0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60]
    assert [source.delay(n) for n in (19, 20, 21, 29, 30, 31)] == [0, 1, 2, 512, 900, 900]


def test_a_huge_count_is_capped_without_computing_a_huge_power():
    assert POLICY.source.delay(10**9) == 900
    assert Backoff(1, 10, 1).delay(1) == 1 and Backoff(1, 10, 1).delay(2) == 1


def test_a_record_blocks_for_its_delay_and_is_forgotten_a_quiet_window_after():
    record = POLICY.account.after(7, T0)
    assert record == Record(failures=7, blocked_until=T0 + 4, expires_at=T0 + 4 + 900)
    assert record.wait(T0) == 4 and record.wait(T0 + 3) == 1 and record.wait(T0 + 4) == 0
    assert record.live(T0 + 903) and not record.live(T0 + 904)


def test_a_failure_within_the_window_adds_to_the_count_and_after_it_starts_anew():
    backoff = POLICY.account
    previous = backoff.after(6, T0)  # blocked till T0+2, remembered till T0+902
    assert backoff.next(previous, T0 + 901).failures == 7
    assert backoff.next(previous, T0 + 902) == backoff.after(1, T0 + 902)
    assert backoff.next(None, T0) == Record(1, T0, T0 + 900)


def test_the_window_is_counted_from_the_end_of_the_delay_so_a_patient_guesser_gains_nothing():
    """At the source's cap (15 min) the guesser waits as long as the window: a window from the last
    failure would forget everything just as the delay ends."""
    record = POLICY.source.after(40, T0)
    assert record.wait(T0) == 900
    assert POLICY.source.next(record, T0 + 900).failures == 41


def test_the_policy_comes_from_the_settings_with_the_documented_defaults():
    assert Policy.from_settings(Settings.model_validate({})) == POLICY
    custom = Settings.model_validate(
        {"login_free_failures": "3", "login_window_seconds": "60", "login_account_cap_seconds": "10"}
    )
    assert Policy.from_settings(custom).account == Backoff(3, 60, 10)
    assert Policy.from_settings(custom).source == Backoff(20, 60, 900), "the source's free budget is its own"
    source = Settings.model_validate({"login_source_free_failures": "50"})
    assert Policy.from_settings(source).source == Backoff(50, 900, 900)
    assert Policy.from_settings(source).account == Backoff(5, 900, 60)
    with pytest.raises(ValueError, match="login_free_failures"):
        Settings.model_validate({"login_free_failures": "0"})
    with pytest.raises(ValueError, match="login_source_free_failures"):
        Settings.model_validate({"login_source_free_failures": "0"})


def test_an_untrusted_attempt_waits_the_longer_of_source_and_account():
    account, source = POLICY.account.after(11, T0), POLICY.source.after(21, T0)
    assert Standing(account, source, trusted=False).wait(T0) == 60
    assert Standing(None, source, trusted=False).wait(T0) == 2
    assert Standing(None, None, trusted=False).wait(T0) == 0
    assert Standing(None, None, trusted=False, pair=POLICY.pair.after(11, T0)).wait(T0) == 0, "no pair untrusted"


def test_a_trusted_pair_waits_for_its_own_failures_only():
    account, source = POLICY.account.after(11, T0), POLICY.source.after(40, T0)
    assert Standing(account, source, trusted=True).wait(T0) == 0, "neither the account's nor the source's delay"
    assert Standing(account, source, trusted=True, pair=POLICY.pair.after(6, T0)).wait(T0) == 2
    assert POLICY.pair == POLICY.account, "the pair backs off as the account: 5 free, 60 s at most"


def test_a_trusted_pair_s_failures_count_on_the_pair_and_the_account_never_on_the_source():
    assert POLICY.counters(trusted=True) == ((Counter.PAIR, POLICY.account), (Counter.ACCOUNT, POLICY.account))
    assert POLICY.counters(trusted=False) == ((Counter.ACCOUNT, POLICY.account), (Counter.SOURCE, POLICY.source))


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7 ", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("", "unknown"),
        (None, "unknown"),
        ("not-an-address", "unknown"),
    ],
)
def test_a_source_counts_under_its_ipv4_address_or_its_ipv6_64(address, key):
    assert attempts.source_key(address) == key


# --- login through the gate ---------------------------------------------------------------------


@pytest.fixture
def users():
    store = MemoryStore()
    accounts.create_account(store, None, accounts.NewAccount("NCKU_BEMS", "NCKU", "bems-password"), NOW)
    return store


@pytest.fixture
def tries():
    return MemoryAttempts()


def gate(tries, source="203.0.113.7", at=T0) -> LoginGate:
    return LoginGate(store=tries, policy=POLICY, source=source, now=at)


def attempt(users, tries, account="NCKU_BEMS", password="wrong", source="203.0.113.7", at=T0) -> str:
    """What one login attempt comes to: ok, refused (401) or `wait <seconds>` (429)."""
    try:
        accounts.login(users, account, password, issue, gate=gate(tries, source, at))
    except accounts.InvalidCredentials:
        return "refused"
    except TooManyAttempts as throttled:
        return f"wait {throttled.retry_after}"
    return "ok"


@pytest.mark.parametrize("account", ["NCKU_BEMS", "Nobody_BEMS"])
def test_five_failures_are_answered_then_the_account_must_wait(users, tries, account):
    assert [attempt(users, tries, account) for _ in range(6)] == ["refused"] * 5 + ["wait 1"]
    assert attempt(users, tries, account, at=T0 + 1) == "refused"
    assert attempt(users, tries, account, at=T0 + 2) == "wait 1", "the sixth failure set 2 s"


def test_a_throttled_attempt_hashes_no_password_and_counts_nothing(users, tries, monkeypatch):
    for _ in range(5):
        attempt(users, tries)
    before = dict(tries.records)
    hashed = hashed_passwords(monkeypatch)
    assert attempt(users, tries, password="bems-password") == "wait 1"
    assert hashed == [] and tries.records == before


def test_an_unknown_account_still_pays_the_dummy_scrypt(users, tries, monkeypatch):
    checked = hashed_passwords(monkeypatch)
    assert attempt(users, tries, account="Nobody_BEMS") == "refused"
    assert checked == [passwords.dummy_hash()]


def test_a_success_clears_the_account_but_not_the_source(users, tries):
    for _ in range(5):
        attempt(users, tries)
    assert attempt(users, tries, password="bems-password", at=T0 + 1) == "ok"
    assert "a#NCKU_BEMS" not in tries.records and tries.records["s#203.0.113.7"].failures == 5
    assert attempt(users, tries, source="198.51.100.1", at=T0 + 1) == "refused"
    assert tries.records["a#NCKU_BEMS"].failures == 1, "the account's count started again"


def test_a_source_that_logged_in_skips_the_account_delay_that_guessers_elsewhere_keep_up(users, tries):
    assert attempt(users, tries, password="bems-password", source="198.51.100.1") == "ok"
    for n in range(12):  # guessers on twelve addresses push the account to its cap
        attempt(users, tries, source=f"203.0.113.{n}", at=T0 + 1 + 60 * n)
    at = T0 + 1 + 60 * 11
    assert attempt(users, tries, source="203.0.113.99", at=at) == "wait 60"
    assert attempt(users, tries, password="bems-password", source="192.0.2.1", at=at) == "wait 60", (
        "a new address waits the account's delay, never more than its cap"
    )
    assert attempt(users, tries, password="bems-password", source="198.51.100.1", at=at) == "ok"
    assert "a#NCKU_BEMS" not in tries.records


def test_trust_ends(users, tries):
    assert attempt(users, tries, password="bems-password", source="198.51.100.1") == "ok"
    later = T0 + 30 * 86_400
    for n in range(5):
        attempt(users, tries, source=f"203.0.113.{n}", at=later)
    assert attempt(users, tries, password="bems-password", source="198.51.100.1", at=later) == "wait 1"


def test_no_trust_without_an_address_or_with_trust_off(users, tries):
    gate(tries, source="unknown").succeeded("NCKU_BEMS")
    LoginGate(tries, Policy(POLICY.account, POLICY.source, trust=0), "198.51.100.1", T0).succeeded("NCKU_BEMS")
    assert tries.trusted == {}


# --- shared addresses (a campus NAT) ------------------------------------------------------------

NAT = "198.51.100.200"  # the one address many buildings log in from


def others_fail(users, tries, count: int, at: int = T0, first: int = 0) -> list[str]:
    """`count` wrong logins from the NAT at accounts that are not the owner's (none exists), each at
    another one (Guess<first>_BEMS, ...): the answers."""
    return [attempt(users, tries, account=f"Guess{first + n}_BEMS", source=NAT, at=at) for n in range(count)]


def newcomer(users) -> str:
    """A known account that never logged in from the NAT."""
    accounts.create_account(users, None, accounts.NewAccount("Carlab_BEMS", "Carlab", "carlab-password"), NOW)
    return "Carlab_BEMS"


def test_a_trusted_owner_logs_in_at_once_after_30_failures_by_others_from_its_address(users, tries):
    assert attempt(users, tries, password="bems-password", source=NAT) == "ok"
    assert others_fail(users, tries, 30) == ["refused"] * 20 + ["wait 1"] * 10, "the address's own free budget"
    assert attempt(users, tries, password="bems-password", source=NAT) == "ok", "never delayed by the source's count"
    account = newcomer(users)
    assert attempt(users, tries, account, "carlab-password", source=NAT) == "wait 1", "untrusted: held"
    assert attempt(users, tries, account, "carlab-password", source="192.0.2.1") == "ok", "elsewhere it is not"


def test_the_source_s_count_holds_every_account_it_is_not_trusted_for_alike(users, tries):
    """Known or unknown, right password or wrong: the same wait, and none of them hashed or counted."""
    account = newcomer(users)
    others_fail(users, tries, 20)
    for n in range(6):  # guessing patiently (at T0 + 1, 3, 7, ..., 63): 26 failures, the last one sets 64 s
        assert others_fail(users, tries, 1, at=T0 + 2 ** (n + 1) - 1, first=20 + n) == ["refused"]
    at = T0 + 63
    before = dict(tries.records)
    answers = {
        attempt(users, tries, account, "carlab-password", source=NAT, at=at),
        attempt(users, tries, account, "wrong", source=NAT, at=at),
        attempt(users, tries, "Nobody_BEMS", "carlab-password", source=NAT, at=at),
        attempt(users, tries, "NCKU_BEMS", "bems-password", source=NAT, at=at),
    }
    assert answers == {"wait 64"} and tries.records == before


def test_the_source_s_free_budget_is_its_own_and_larger_than_the_account_s(users, tries):
    assert others_fail(users, tries, 20) == ["refused"] * 20, "twenty accounts from one address: all weighed"
    assert tries.records[f"s#{NAT}"].wait(T0) == 1, "the twentieth sets the address's first delay"
    sources = [attempt(users, tries, "Nobody_BEMS", source=f"192.0.2.{n}") for n in range(6)]
    assert sources == ["refused"] * 5 + ["wait 1"], "one account: five from twenty addresses, then it waits"


def test_a_misconfigured_trusted_bems_holds_only_its_own_pair_never_its_address(users, tries):
    account = newcomer(users)
    assert attempt(users, tries, password="bems-password", source=NAT) == "ok"
    assert [attempt(users, tries, password="old-password", source=NAT) for _ in range(7)] == ["refused"] * 5 + [
        "wait 1"
    ] * 2, "its own failures: the account's backoff, on the pair"
    assert f"s#{NAT}" not in tries.records, "they never count on the address"
    assert attempt(users, tries, account, "carlab-password", source=NAT) == "ok", "its neighbours log in at once"
    assert tries.records[f"p#NCKU_BEMS#{NAT}"].failures == 5
    assert tries.records["a#NCKU_BEMS"].failures == 5, "they count on the account too"
    assert attempt(users, tries, password="bems-password", source="192.0.2.1") == "wait 1", "held elsewhere"


def test_a_guesser_behind_the_owner_s_nat_gets_one_guess_a_minute_at_most(users, tries):
    assert attempt(users, tries, password="bems-password", source=NAT) == "ok"
    at, weighed, waits = T0, 0, []
    while weighed < 15:
        answer = attempt(users, tries, source=NAT, at=at)
        if answer == "refused":
            weighed += 1
            continue
        waits.append(int(answer.split()[1]))
        at += waits[-1]
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60, 60], "the pair backs off as the account does, capped"
    assert tries.records["a#NCKU_BEMS"].failures == 15, "and each guess holds the account's other addresses"
    assert attempt(users, tries, password="bems-password", source="192.0.2.1", at=at) == "wait 60"


def test_a_success_clears_the_pair_s_failures(users, tries):
    assert attempt(users, tries, password="bems-password", source=NAT) == "ok"
    assert [attempt(users, tries, source=NAT) for _ in range(6)] == ["refused"] * 5 + ["wait 1"]
    assert attempt(users, tries, source=NAT, at=T0 + 1) == "refused"
    assert attempt(users, tries, password="bems-password", source=NAT, at=T0 + 3) == "ok"
    assert f"p#NCKU_BEMS#{NAT}" not in tries.records and "a#NCKU_BEMS" not in tries.records
    assert [attempt(users, tries, source=NAT, at=T0 + 3) for _ in range(6)] == ["refused"] * 5 + ["wait 1"]


@pytest.mark.parametrize("operation", ["reset", "revoke"])
def test_an_operator_reset_or_revocation_forgets_the_trusted_sources(users, tries, operation):
    for source in (NAT, "192.0.2.1"):
        assert attempt(users, tries, password="bems-password", source=source) == "ok"
    others_fail(users, tries, 20)
    if operation == "reset":
        _, forgotten = accounts.reset_password(users, "NCKU_BEMS", "operator-set", trust=tries)
        password = "operator-set"
    else:
        _, forgotten = accounts.revoke_sessions(users, "NCKU_BEMS", trust=tries)
        password = "bems-password"
    assert forgotten == 2 and tries.trusted == {}
    assert attempt(users, tries, password=password, source=NAT) == "wait 1", "the NAT is trusted no more"
    assert attempt(users, tries, password=password, source="192.0.2.1") == "ok", "trust is earned anew"


def test_without_a_gate_login_is_as_before(users):
    for _ in range(10):
        with pytest.raises(accounts.InvalidCredentials):
            accounts.login(users, "NCKU_BEMS", "wrong", issue)
    assert accounts.login(users, "NCKU_BEMS", "bems-password", issue)[0].account == "NCKU_BEMS"
