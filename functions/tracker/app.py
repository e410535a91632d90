"""Scheduled every 5 minutes: pull new meter readings from the IOTA node (see etp.meters.tracker).

Event: `{}` (now) or `{"now": "<ISO-8601>"}` to run as of an explicit time. A run that completes
notes itself (etp.meters.last_run: when, how long, its report) for `etp-admin status`.

Fan-out: a run with more active addresses than one invocation's share (Tracker.addresses_per_invocation)
invokes this function asynchronously once per shard, `{"now": ..., "shard": i, "shards": n}`, and
does nothing else; each shard runs the addresses of its users (etp.meters.tracker.user_shard).
Asynchronous invocations are retried by Lambda and land in the dead-letter queue when they keep
failing; a shard is idempotent (the ledger and the hints), so a retry or an overlap is harmless.
"""

import json
import os
import time
from datetime import timedelta

from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit

from etp.clock import local_zone, utcnow
from etp.edge import jobs, secrets
from etp.edge.jobs import BadJobEvent
from etp.settings import settings

logger = Logger()
metrics = Metrics()


def build_tracker():
    from etp.meters.discovery_store import DynamoHints
    from etp.meters.readings_store import DynamoReadingStore
    from etp.meters.store import DynamoAddressBook, DynamoMeterStore
    from etp.meters.tracker import Tracker

    return Tracker(
        node=jobs.node_client(),
        addresses=DynamoAddressBook(),
        meters=DynamoMeterStore().get_many,
        store=DynamoReadingStore(),
        platform_private_pem=secrets.platform_key()["private_key_pem"],
        zone=local_zone(),
        clock_skew=timedelta(seconds=settings().reading_clock_skew_seconds),
        hints=DynamoHints(),
        fan_out=fan_out,
    )


def fan_out(now: str, shards: int) -> None:
    """Invoke this function once per shard, asynchronously (InvocationType Event)."""
    import boto3

    client = boto3.client("lambda")
    for index in range(shards):
        client.invoke(
            FunctionName=os.environ["AWS_LAMBDA_FUNCTION_NAME"],
            InvocationType="Event",
            Payload=json.dumps({"now": now, "shard": index, "shards": shards}).encode(),
        )


def shard_of(event: dict):
    """The event's shard, or None for a whole (planning) run."""
    from etp.meters.tracker import Shard

    if not isinstance(event, dict) or "shard" not in event:
        return None
    index, shards = event.get("shard"), event.get("shards")
    if not (isinstance(index, int) and isinstance(shards, int) and 0 <= index < shards):
        raise BadJobEvent("shard: an integer within 0 .. shards - 1")
    return Shard(index, shards)


@jobs.scheduled_job("tracker")
def lambda_handler(event: dict) -> dict:
    from etp.iota.node import IotaNodeError
    from etp.meters import last_run

    now, shard = jobs.job_time(event), shard_of(event)
    started_at, clock = utcnow(), time.monotonic()
    try:
        report = build_tracker().run(now, shard)
    except IotaNodeError as problem:
        # Nothing was written; the readings stay on the tangle and the next run picks them up.
        logger.error("IOTA node unavailable, run abandoned", extra={"error": str(problem)})
        metrics.add_metric(name="TrackerNodeFailures", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name="ReadingsIngested", unit=MetricUnit.Count, value=report.stored)
    for reason, count in report.rejected.items():
        with single_metric(name="ReadingsRejected", unit=MetricUnit.Count, value=count) as metric:
            metric.add_dimension(name="reason", value=reason)
    last_run.record(report.as_dict(), started_at, time.monotonic() - clock)  # for `etp-admin status`
    logger.info("tracker run", extra=report.as_dict())
    return {"status": "ok", **report.as_dict()}
