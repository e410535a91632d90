"""Scheduled jobs: the explicit time an event may carry, and the shared settings they read."""

from datetime import UTC, datetime

from etp.clock import local_zone, utcnow
from etp.settings import settings


class BadJobEvent(ValueError):
    pass


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
