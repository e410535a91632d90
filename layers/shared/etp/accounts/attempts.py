"""The login policy: failed logins slow further guessing, per account and per source address.

Pure rules, no AWS (the DynamoDB store is etp.accounts.attempts_store); times are whole epoch seconds.

- Every failed login counts against two keys: the account it names, whether that account exists or
  not (so a 429 tells no more about which accounts exist than a 401 does), and the source address
  (an IPv4 address, or the /64 of an IPv6 one: the share one subscriber gets, so that rotating
  through it does not reset anything).
- The first `free_failures - 1` failures in a row cost nothing. The free-th sets a delay of 1 s before
  the key's next attempt is weighed, and each further one doubles it (2^(n - free) s), up to a cap.
- A refused attempt (429) is answered before the password is hashed (it costs no scrypt), counts
  nothing and extends nothing: retrying too early costs the owner nothing.
- The account's cap is low (60 s): guessers spread over many addresses can slow an account's logins
  to one a minute, which bounds their guessing, but never block its owner for longer. The source's
  cap is high (15 min): that is what stops one guesser, who soon gets four guesses an hour.
- Failures are forgotten `window` after the last delay ends (a quiet period), not `window` after the
  first failure: a fixed window would hand a patient guesser `free` new guesses every window.
- A success clears the account's failures and makes the source trusted for that account for
  `trust` seconds: attempts from it skip the account's delay (never the source's own). Without that,
  guessers keeping the account at its cap win the race for nearly every attempt that opens, and the
  capped delay would lock the owner out after all, for as long as the attack lasts.
- A success does not clear the source's failures: whoever holds an account could otherwise reset
  their address's count by logging in to it between guesses at others'.

Check then verify then count is not one atomic step: attempts already in flight when a delay starts
are still weighed (at most one per concurrent client; API Gateway's throttling of POST /login
bounds those).
"""

import ipaddress
from dataclasses import dataclass
from typing import Protocol

from etp.settings import Settings


class TooManyAttempts(Exception):
    """The attempt was not weighed: the account or the source must wait `retry_after` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Record:
    """The failures in a row counted against one key."""

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


@dataclass(frozen=True)
class Policy:
    account: Backoff
    source: Backoff
    trust: int  # seconds a source an account logged in from stays trusted for it (0: never)

    @classmethod
    def from_settings(cls, settings: Settings) -> "Policy":
        free, window = settings.login_free_failures, settings.login_window_seconds
        return cls(
            account=Backoff(free, window, settings.login_account_cap_seconds),
            source=Backoff(free, window, settings.login_source_cap_seconds),
            trust=settings.login_trust_days * 86_400,
        )


@dataclass(frozen=True)
class Standing:
    """What the store knows of an attempt's account and source (None: no live record)."""

    account: Record | None
    source: Record | None
    trusted: bool  # the account logged in from this source lately

    def wait(self, now: int) -> int:
        waits = [self.source.wait(now) if self.source else 0]
        if self.account is not None and not self.trusted:
            waits.append(self.account.wait(now))
        return max(waits)


class AttemptStore(Protocol):
    def standing(self, account: str, source: str, now: int) -> Standing: ...
    def count_failure(self, account: str, source: str, policy: Policy, now: int) -> None: ...
    def clear(self, account: str, source: str, trusted_until: int | None) -> None: ...


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

    def check(self, account: str) -> None:
        """Raise TooManyAttempts when the attempt must not be weighed yet."""
        wait = self.store.standing(account, self.source, self.now).wait(self.now)
        if wait > 0:
            raise TooManyAttempts(wait)

    def failed(self, account: str) -> None:
        self.store.count_failure(account, self.source, self.policy, self.now)

    def succeeded(self, account: str) -> None:
        trusted = bool(self.policy.trust) and self.source != UNKNOWN_SOURCE
        self.store.clear(account, self.source, self.now + self.policy.trust if trusted else None)
