"""Scheduled jobs: their Lambda handler's shape, and the explicit time an event may carry."""

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from etp.clock import local_zone, utcnow
from etp.settings import settings


class BadJobEvent(ValueError):
    pass


JobRun = Callable[[dict], dict]


def job_time(event: object) -> datetime:
    """`{"now": ISO-8601}` (naive = platform local time) or, without it, the current time. UTC."""
    if not isinstance(event, dict) or event.get("now") in (None, ""):
        return utcnow()
    text = event["now"]
    if not isinstance(text, str):
        raise BadJobEvent("now: not an ISO-8601 time")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadJobEvent(f"now: {text!r} is not an ISO-8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=local_zone())
    return moment.astimezone(UTC).replace(microsecond=0)


def rejected(logger, job: str, problem: Exception) -> dict:
    """Log why a job did not run and answer so (retrying the same event would not help)."""
    logger.error(f"{job} not run", extra={"reason": str(problem)})
    return {"status": "rejected", "error": str(problem)}


def node_client():
    """The configured IOTA node (`IOTA_NODE_URL`, `IOTA_NODE_TIMEOUT` seconds per call)."""
    from etp.iota.node import NodeClient

    config = settings()
    return NodeClient(config.iota_node_url, timeout=config.iota_node_timeout)


def scheduled_job(name: str, *, refusals: tuple[type[Exception], ...] = ()) -> Callable[[JobRun], Callable]:
    """Make `run(event) -> dict` a scheduled job's Lambda handler: Powertools' log context, tracing and
    metrics around it; an event it cannot run (BadJobEvent, or one of `refusals`) is logged and answered
    `{"status": "rejected"}` rather than raised, since retrying the same event would not help."""

    def decorate(run: JobRun) -> Callable:
        from aws_lambda_powertools import Logger, Metrics

        from etp.edge.observability import make_tracer

        logger, tracer, metrics = Logger(), make_tracer(), Metrics()
        refused: tuple[type[Exception], ...] = (BadJobEvent, *refusals)

        @logger.inject_lambda_context(clear_state=True)
        @tracer.capture_lambda_handler
        @metrics.log_metrics
        @functools.wraps(run)
        def lambda_handler(event: dict, context: Any) -> dict:
            try:
                return run(event)
            except refused as problem:
                return rejected(logger, name, problem)

        return lambda_handler

    return decorate
