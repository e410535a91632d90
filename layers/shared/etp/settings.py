"""The platform's configuration: one validated, cached model of what the template puts in the environment.

Every function reads its configuration here and nowhere else. The names are the environment
variables' (case-insensitive); the defaults are the local stack's. Tests and the operator CLI that
change the environment call `settings.cache_clear()`.
"""

import functools
import os
from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    # Local time of the HTTP edge and the market rules. Not `TZ`: Lambda reserves that one (as UTC).
    platform_tz: str = "Asia/Taipei"
    token_ttl_hours: float = Field(24.0, gt=0)
    users_table: str = "etp-users"
    meters_table: str = "etp-meters"
    addresses_table: str = "etp-addresses"
    readings_table: str = "etp-readings"
    rollups_table: str = "etp-rollups"
    ledger_table: str = "etp-ledger"
    bids_table: str = "etp-bids"
    news_table: str = "etp-news"
    dr_table: str = "etp-dr"
    audit_table: str = "etp-audit"
    connections_table: str = "etp-connections"
    login_attempts_table: str = "etp-login-attempts"
    # The answers kept for retries with an Idempotency-Key (etp.edge.retries); the writing API functions only.
    idempotency_table: str = "etp-idempotency"
    # The login policy (etp.accounts.attempts; docs/configuration.md, "Login policy"): failed logins in a row answered
    # at once, per account (and per account and trusted address) and per source address (larger: a NAT
    # carries many users); from the free-th on, 2^(n - free) s of delay before the next attempt, capped
    # per account (low: it may slow the owner, never lock them out) and per source address (high: it
    # stops one guesser); failures are forgotten a quiet `window` after the last delay; an address the
    # owner logged in from stays trusted for `trust_days` and skips the source's count.
    login_free_failures: int = Field(5, ge=1, le=100)
    login_source_free_failures: int = Field(20, ge=1, le=1000)
    login_window_seconds: int = Field(900, ge=1, le=86_400)
    login_account_cap_seconds: int = Field(60, ge=1, le=3_600)
    login_source_cap_seconds: int = Field(900, ge=1, le=86_400)
    login_trust_days: int = Field(30, ge=0, le=365)
    # The secrets' names in Secrets Manager (their values are read by etp.edge.secrets).
    jwt_secret_id: str = "etp-jwt"  # noqa: S105
    iota_seed_secret_id: str = "etp-iota-seed"  # noqa: S105
    platform_key_secret_id: str = "etp-platform-key"  # noqa: S105
    simulator_secret_id: str = "etp-simulators"  # noqa: S105
    iota_node_url: str = "http://127.0.0.1:14265"
    iota_node_timeout: float = Field(10.0, gt=0)
    # API Gateway's @connections API of the WebSocket API (empty: no real-time events are pushed).
    events_endpoint: str = ""
    # A transaction's page on a tangle explorer; `{hash}` is replaced by the hash.
    explorer_url_template: str = "{hash}"
    # Where the uniform price falls between the marginal sell (0) and buy (1) prices.
    clearing_k: Fraction = Fraction(1, 2)
    # How far ahead a bid's slot may start (days): the market's order book ends there.
    bid_horizon_days: int = Field(14, ge=1, le=366)
    # How far ahead of the tracker's clock a reading may be dated (seconds) before it is rejected as
    # "from the future": meters keep time by NTP or a drifting RTC; 5 minutes covers the drift, and
    # nothing real lies beyond it.
    reading_clock_skew_seconds: int = Field(300, ge=0, le=3600)
    aws_region: str | None = None

    @field_validator("clearing_k", mode="before")
    @classmethod
    def _fraction(cls, value: object) -> Fraction:
        k = Fraction(str(value))
        if not 0 <= k <= 1:
            raise ValueError("clearing_k: between 0 and 1")
        return k

    def explorer_url(self, tx_hash: str) -> str:
        return self.explorer_url_template.replace("{hash}", tx_hash)


@functools.cache
def settings() -> Settings:
    environment = {name.lower(): value for name, value in os.environ.items() if value != ""}
    if "aws_region" not in environment and "aws_default_region" in environment:
        environment["aws_region"] = environment["aws_default_region"]
    return Settings.model_validate({name: environment[name] for name in Settings.model_fields if name in environment})


cache_clear = settings.cache_clear
