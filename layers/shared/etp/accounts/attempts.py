"""The login policy: failed logins slow further guessing, per account, per source address, and per
(account, source) pair the account logged in from.

Pure rules, no AWS (the DynamoDB store is etp.accounts.attempts_store); times are whole epoch seconds.

Three counters of failures in a row, each with its own backoff:
- the **account** named, whether it exists or not (so a 429 tells no more about which accounts exist
  than a 401 does): a low cap (60 s), since everyone shares it, the owner included;
- the **source** address (an IPv4 address, or the /64 of an IPv6 one: the share one subscriber gets, so
  that rotating through it does not reset anything): a larger free budget (20: a campus NAT carries
  many users, whose typos add up) and a high cap (15 min), which is what stops one guesser;
- the **pair** (account, source), kept only while the source is trusted for the account: the
  account's free budget and cap.

A source is **trusted** for an account for `trust` seconds after a successful login from it. An attempt
from a trusted source waits for the pair's counter only; its failures count on the pair and on the
account, never on the source. Every other attempt waits for the account's and the source's counters
and its failures count on both. So:
- one misconfigured BEMS (or one guesser) behind a shared NAT holds the NAT's *new* logins, never the
  buildings that logged in from it before: they skip the source's count;
- the owner is never locked out where it logs in: from a trusted source it waits for the pair alone,
  which only those behind the same NAT share and whose delay stops at the account's cap (60 s). From
  an address it never logged in from it waits as anyone there does: the longer of the account's delay
  (60 s at most) and the address's (up to 15 min if someone guesses from it);
- a guesser behind the owner's NAT gets what guessers on many addresses get anyway: about one guess
  a minute at that account once the pair is at its cap, each one also counted on the account (which
  holds the account's untrusted attempts). Had a trusted pair's failures cost nothing, that guesser
  would guess without bound; had they counted on the source, the misconfigured BEMS would hold its
  whole NAT again. Trust itself needs the password: guessing cannot earn it.
- Unknown accounts are never trusted from anywhere, and an untrusted attempt reads and writes the same
  counters whether its account exists or not: the answers and their timing are the same.

The backoff: the first `free_failures - 1` failures in a row cost nothing. The free-th sets a delay of
1 s before the counter's next attempt is weighed, and each further one doubles it (2^(n - free) s), up
to the cap. A refused attempt (429) is answered before the password is hashed (it costs no scrypt),
counts nothing and extends nothing: retrying too early costs the owner nothing. Failures are forgotten
`window` after the last delay ends (a quiet period), not `window` after the first failure: a fixed
window would hand a patient guesser `free` new guesses every window.

A success clears the account's and the pair's failures and (re)trusts the source for `trust` seconds.
Without trust, guessers keeping the account at its cap would win the race for nearly every attempt that
opens, and the capped delay would lock the owner out after all, for as long as the attack lasts. A
success does not clear the source's failures: whoever holds an account could otherwise reset their
address's count by logging in to it between guesses at others'. An operator's password reset and
revocation of the sessions forget every source the account trusts (a stolen password's trust goes with
it).

Check then verify then count is not one atomic step: attempts already in flight when a delay starts
are still weighed (at most one per concurrent client; API Gateway's throttling of POST /login
bounds those).
"""

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from etp.settings import Settings


class TooManyAttempts(Exception):
    """The attempt was not weighed: it must wait `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Record:
    """The failures in a row counted against one counter."""

    failures: int
    blocked_until: int  # no attempt is weighed before this moment
    expires_at: int  # forgotten from this moment (also the item's TTL)

    def live(self, now: int) -> bool:
        return now < self.expires_at

    def wait(self, now: int) -> int:
        """Whole seconds before the next attempt is weighed (0: now)."""
        return max(0, self.blocked_until - now)


@dataclass(frozen=True)
class Backoff:
    free_failures: int
    window: int
    cap: int

    def delay(self, failures: int) -> int:
        """Seconds to wait after the n-th failure in a row: 0, then 1, 2, 4, ... up to the cap."""
        over = failures - self.free_failures
        if over < 0:
            return 0
        # 2**over > cap from cap.bit_length() on: no need to build huge numbers
        return self.cap if over >= self.cap.bit_length() else min(self.cap, 2**over)

    def after(self, failures: int, at: int) -> Record:
        """The record of the n-th failure in a row, made at `at`."""
        blocked_until = at + self.delay(failures)
        return Record(failures=failures, blocked_until=blocked_until, expires_at=blocked_until + self.window)

    def next(self, previous: Record | None, at: int) -> Record:
        """The record after one more failure at `at` (a forgotten record counts as none)."""
        failures = previous.failures if previous is not None and previous.live(at) else 0
        return self.after(failures + 1, at)


class Counter(StrEnum):
    """What a failure counts against."""

    ACCOUNT = "account"  # the account named, from anywhere
    SOURCE = "source"  # the source address, at any account it is not trusted for
    PAIR = "pair"  # the account from a source trusted for it


@dataclass(frozen=True)
class Policy:
    account: Backoff
    source: Backoff
    trust: int  # seconds a source an account logged in from stays trusted for it (0: never)

    @property
    def pair(self) -> Backoff:
        """A trusted pair backs off as the account does: the owner shares it with its NAT at most."""
        return self.account

    @classmethod
    def from_settings(cls, settings: Settings) -> "Policy":
        window = settings.login_window_seconds
        return cls(
            account=Backoff(settings.login_free_failures, window, settings.login_account_cap_seconds),
            source=Backoff(settings.login_source_free_failures, window, settings.login_source_cap_seconds),
            trust=settings.login_trust_days * 86_400,
        )

    def counters(self, trusted: bool) -> tuple[tuple[Counter, Backoff], ...]:
        """The counters a failure adds to: a trusted pair's never reach the source."""
        if trusted:
            return ((Counter.PAIR, self.pair), (Counter.ACCOUNT, self.account))
        return ((Counter.ACCOUNT, self.account), (Counter.SOURCE, self.source))


@dataclass(frozen=True)
class Standing:
    """What the store knows of an attempt's account and source (None: no live record)."""

    account: Record | None
    source: Record | None
    trusted: bool  # the account logged in from this source lately
    pair: Record | None = None  # the failures from this source at this account while trusted

    def wait(self, now: int) -> int:
        """A trusted pair waits for its own failures only; any other attempt for the account's and the source's."""
        waited = (self.pair,) if self.trusted else (self.account, self.source)
        return max((record.wait(now) for record in waited if record is not None), default=0)


class AttemptStore(Protocol):
    def standing(self, account: str, source: str, now: int) -> Standing: ...
    def count_failure(
        self, account: str, source: str, counters: Iterable[tuple[Counter, Backoff]], now: int
    ) -> None: ...
    def clear(self, account: str, source: str, trusted_until: int | None) -> None:
        """Forget the account's and the pair's failures; trust the source until `trusted_until` (if given)."""
        ...


class TrustedSources(Protocol):
    def forget_trust(self, account: str) -> int:
        """Forget every source trusted for the account (and their pairs' failures); how many there were."""
        ...


UNKNOWN_SOURCE = "unknown"  # no usable address (never from API Gateway): counted, never trusted


def source_key(address: str | None) -> str:
    """The key a source address counts under: the IPv4 address, or the /64 of an IPv6 one."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return UNKNOWN_SOURCE
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass(frozen=True)
class LoginGate:
    """The policy applied to one login attempt from `source` at `now`."""

    store: AttemptStore
    policy: Policy
    source: str
    now: int

    def check(self, account: str) -> Standing:
        """The attempt's standing; raise TooManyAttempts when it must not be weighed yet."""
        standing = self.store.standing(account, self.source, self.now)
        wait = standing.wait(self.now)
        if wait > 0:
            raise TooManyAttempts(wait)
        return standing

    def failed(self, account: str, standing: Standing) -> None:
        self.store.count_failure(account, self.source, self.policy.counters(standing.trusted), self.now)

    def succeeded(self, account: str) -> None:
        trusted = bool(self.policy.trust) and self.source != UNKNOWN_SOURCE
        self.store.clear(account, self.source, self.now + self.policy.trust if trusted else None)
