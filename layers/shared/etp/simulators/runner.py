"""The simulators' I/O: their configuration, the CSV files they read, and publishing as a meter."""

import json
from datetime import datetime
from importlib import resources
from pathlib import Path

from etp.clock import local_zone
from etp.edge import secrets
from etp.meters import meter_client
from etp.simulators.buildings import Building, parse_config


def configuration(event: dict) -> tuple[str, str, list[Building]]:
    """(API URL, node URL, buildings) from the simulator secret; `{"building": name}` keeps one."""
    api_url, node_url, buildings = parse_config(json.loads(secrets.simulator_config() or "{}"))
    wanted = event.get("building") if isinstance(event, dict) else None
    return api_url, node_url, [b for b in buildings if wanted in (None, b.account)]


def read_csv(location: str) -> str:
    """`demo:<file>` (shipped with the layer), `s3://bucket/key`, or a path in the function package."""
    if location.startswith("demo:"):
        return (resources.files("etp.simulators") / "demo_histories" / location.removeprefix("demo:")).read_text()
    if location.startswith("s3://"):
        import boto3

        bucket, _, key = location.removeprefix("s3://").partition("/")
        return boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8-sig")
    return Path(location).read_text()


def meter_publisher(api_url: str, node_url: str):
    platform_public_pem = secrets.platform_key()["public_key_pem"]

    def publish(building: Building, grid_kw: float, now: datetime) -> str:
        payload = meter_client.payload_for("Demand", building.account, {"grid": grid_kw}, now, local_zone())
        return meter_client.publish(
            api_url=api_url,
            node_url=node_url,
            meter_token=building.meter_token,
            meter_private_pem=building.meter_private_key_pem,
            platform_public_pem=platform_public_pem,
            payload=payload,
            kind="Demand",
            taken_at=now,
        )

    return publish


def log_report(logger, metrics, report, what: str) -> None:
    """Each warning and each failed building on its own log line (naming the building and the cause),
    and the count of failed buildings as a metric."""
    from aws_lambda_powertools.metrics import MetricUnit

    for warning in report.warnings:
        logger.warning(warning)
    for building, cause in report.failed.items():
        logger.error(f"{what}: building failed", extra={"building": building, "cause": cause})
    metrics.add_metric(name="SimulatorFailures", unit=MetricUnit.Count, value=len(report.failed))
