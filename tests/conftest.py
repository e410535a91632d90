"""Shared test set-up: a fake AWS environment (never real credentials), set before any project import."""

import os
from datetime import UTC, datetime, timedelta

import pytest

# Set before any project module is imported: models and clients read these lazily or at import.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    POWERTOOLS_SERVICE_NAME="energy-trading-platform",
    POWERTOOLS_METRICS_NAMESPACE="EnergyTradingPlatform",
    POWERTOOLS_TRACE_DISABLED="1",
    PLATFORM_TZ="Asia/Taipei",
    USERS_TABLE="etp-test-users",
    METERS_TABLE="etp-test-meters",
    ADDRESSES_TABLE="etp-test-addresses",
    READINGS_TABLE="etp-test-readings",
    ROLLUPS_TABLE="etp-test-rollups",
    LEDGER_TABLE="etp-test-ledger",
    BIDS_TABLE="etp-test-bids",
    NEWS_TABLE="etp-test-news",
    DR_TABLE="etp-test-dr",
    AUDIT_TABLE="etp-test-audit",
    CONNECTIONS_TABLE="etp-test-connections",
    LOGIN_ATTEMPTS_TABLE="etp-test-login-attempts",
    IDEMPOTENCY_TABLE="etp-test-idempotency",
    EVENTS_ENDPOINT="https://events1.execute-api.us-east-1.amazonaws.com",
    JWT_SECRET_ID="etp-test-jwt",
    IOTA_SEED_SECRET_ID="etp-test-iota-seed",
    PLATFORM_KEY_SECRET_ID="etp-test-platform-key",
    SIMULATOR_SECRET_ID="etp-test-simulators",
    IOTA_NODE_URL="http://127.0.0.1:9",
    EXPLORER_URL_TEMPLATE="http://explorer.test/transaction/{hash}",
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

from aws_fixtures import aws, keys, moto_world, node  # noqa: F401 (the fixtures, for every test folder)


@pytest.fixture(autouse=True)
def fresh_settings():
    """Every test reads the environment anew (the settings are cached for the life of a Lambda)."""
    from etp import settings

    settings.cache_clear()
    yield
    settings.cache_clear()


@pytest.fixture
def environment(monkeypatch):
    """Set environment variables for one test, and have the settings read them."""
    from etp import settings

    def set_variables(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        settings.cache_clear()

    return set_variables


# The moment every time-dependent test starts at: 09:10 in Taipei on 2030-01-01, the same UTC day, a
# morning before the DR cutoff (10:30), the market's 10:00 slot (the sample events' one) open till 09:40.
FROZEN_AT = datetime(2030, 1, 1, 1, 10, tzinfo=UTC)


class FrozenClock:
    """The wall clock of a test: it stands still until the test moves it. Every reader of the time in
    the process sees it (datetime.now, time.time, so every `from etp.clock import utcnow`)."""

    def __init__(self, traveller) -> None:
        self._traveller = traveller

    @property
    def now(self) -> datetime:
        return datetime.now(UTC)

    @now.setter
    def now(self, moment: datetime) -> None:
        self._traveller.move_to(moment)

    def advance(self, delta: timedelta) -> None:
        self._traveller.shift(delta)


@pytest.fixture
def frozen_clock():
    """Freeze the wall clock at FROZEN_AT (it does not tick); `frozen_clock.now = moment` moves it."""
    import time_machine

    with time_machine.travel(FROZEN_AT, tick=False) as traveller:
        yield FrozenClock(traveller)
