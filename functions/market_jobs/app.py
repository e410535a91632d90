"""Scheduled market steps: seal (:40), clear (:45), deliver (:00), settle (:05); see etp.market.jobs.

Event: `{"job": "seal" | "clear" | "deliver" | "settle"}` and optionally `"slot"` (ISO-8601 start of
the slot, naive = local time, on the hour) or `"now"`; without them the job's own slot of now.
seal and clear before the slot's gate, by the real clock whatever `now` says, are refused unless the
event says `"early": true` with the `"operator"` who asks (their AWS identity) and the `"reason"`
(1-500 characters): an operator's explicit decision, logged and recorded on the slot and in its audit
record. A seal whose slot index never shows every bid the slot counts (etp.market.jobs.IndexLag) fails
the invocation (metric SlotIndexLag, alarmed on; an error logged), so Lambda retries it.
"""

from datetime import datetime

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from etp.clock import utcnow
from etp.edge import jobs
from etp.market import jobs as market_jobs
from etp.market.slots import SLOT, BadLeave, Leave, early_leave
from etp.settings import settings

logger = Logger()
metrics = Metrics()
JOBS = ("seal", "clear", "deliver", "settle")


def slots_of(event: dict) -> tuple[str, list[datetime], datetime]:
    """(job, the slot starts to work on, now) of an event; raises BadJobEvent."""
    job = event.get("job") if isinstance(event, dict) else None
    if job not in JOBS:
        raise jobs.BadJobEvent(f"job: one of {', '.join(JOBS)}")
    now = jobs.job_time(event)
    if event.get("slot") not in (None, ""):
        slot = jobs.job_time({"now": event["slot"]})
        if slot.minute or slot.second:
            raise jobs.BadJobEvent("slot: a slot starts on the hour")
        return job, [slot], now
    hour = now.replace(minute=0, second=0)
    chosen = {
        "seal": [hour + SLOT],
        "clear": [hour + SLOT],
        "deliver": [hour],
        # the slots that ended and may still wait for readings, oldest first
        "settle": [hour - SLOT * n for n in range(int(market_jobs.SETTLE_DEADLINE / SLOT) + 1, 0, -1)],
    }[job]
    return job, chosen, now


def early_of(event: dict, job: str) -> Leave | None:
    """The event's `early`, `operator` and `reason`: an operator's leave to seal or clear a slot before
    its gate, or None; raises BadJobEvent (early without who or why, or who and why without early)."""
    try:
        return early_leave(job, event.get("early"), event.get("operator"), event.get("reason"))
    except BadLeave as error:
        raise jobs.BadJobEvent(str(error)) from None


def run(job: str, slot: datetime, now: datetime, *, clock: datetime, early: Leave | None) -> market_jobs.StepReport:
    from etp.audit.store import DynamoOutbox
    from etp.market.store import DynamoBidStore

    store = DynamoBidStore()
    if job == "seal":
        return market_jobs.seal(store, slot, DynamoOutbox(), now, clock=clock, early=early)
    if job == "clear":
        return market_jobs.clear(store, slot, settings().clearing_k, DynamoOutbox(), now, clock=clock, early=early)
    if job == "deliver":
        return market_jobs.deliver(store, slot, now, clock=clock)
    from etp.meters.readings_store import DynamoReadingStore

    return market_jobs.settle(store, DynamoReadingStore(), slot, now, clock=clock)


def announce(job: str, slots: list[datetime], reports: list[market_jobs.StepReport]) -> list[str]:
    """Push each slot's `transaction` event when delivery starts and when it has settled (at least once
    each), after re-sending what a run that died left claimed and unsent; the ids re-sent."""
    from etp.clock import local_zone
    from etp.edge.push import WebSocketPush
    from etp.market import events
    from etp.market.store import DynamoBidStore

    push = WebSocketPush()
    resent = events.resend_unsent(push)
    for slot, report in zip(slots, reports, strict=True):
        sent = events.announce(job, slot, DynamoBidStore().of_slot(slot), local_zone(), push)
        if sent is not None:
            report.details["event_sent_to"] = sent
    return resent


@jobs.scheduled_job("market job", refusals=(market_jobs.TooEarly,))
def lambda_handler(event: dict) -> dict:
    job, slots, now = slots_of(event)
    early = early_of(event, job)
    try:
        reports = [run(job, slot, now, clock=utcnow(), early=early) for slot in slots]
    except market_jobs.IndexLag as lag:  # fail the invocation (Lambda retries it); the metric is alarmed on
        metrics.add_metric(name="SlotIndexLag", unit=MetricUnit.Count, value=1)
        logger.error("slot index lagging behind the slot's bids", extra={"job": job, "reason": str(lag)})
        raise
    for report in reports:
        if report.details.get("early") and early is not None:
            asked = {"job": job, "slot": report.slot, "operator": early.by, "reason": early.reason}
            logger.warning("slot handled before its gate, as asked", extra=asked)
    resent = announce(job, slots, reports) if job in ("deliver", "settle") else []
    changed = sum(r.changed for r in reports)
    metrics.add_metric(name=f"Bids{job.title()}", unit=MetricUnit.Count, value=changed)
    results = [{"slot": r.slot, "changed": r.changed, **r.details} for r in reports]
    logger.info("market job", extra={"job": job, "results": results, "events_resent": resent})
    answer = {"status": "ok", "job": job, "results": results}
    return {**answer, "events_resent": resent} if resent else answer
