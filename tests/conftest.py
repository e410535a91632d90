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
    JWT_SECRET_ID="etp-test-jwt",
)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

from aws_fixtures import aws  # noqa: F401 (the fixture, for every test folder)
