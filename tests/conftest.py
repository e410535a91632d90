"""Shared test set-up: a fake AWS environment (never real credentials), set before any project import."""

import os

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
    LEDGER_TABLE="etp-test-ledger",
    BIDS_TABLE="etp-test-bids",
    NEWS_TABLE="etp-test-news",
    DR_TABLE="etp-test-dr",
    AUDIT_TABLE="etp-test-audit",
    JWT_SECRET_ID="etp-test-jwt",
    IOTA_SEED_SECRET_ID="etp-test-iota-seed",
    PLATFORM_KEY_SECRET_ID="etp-test-platform-key",
    SIMULATOR_SECRET_ID="etp-test-simulators",
    IOTA_NODE_URL="http://127.0.0.1:9",
    EXPLORER_URL_TEMPLATE="http://explorer.test/transaction/{hash}",
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

from aws_fixtures import aws, keys, node  # noqa: F401 (the fixtures, for every test folder)
