"""Every minute: publish the audit trail's pending records to the IOTA node (see etp.audit.trail).

Event: `{}` (now) or `{"now": "<ISO-8601>"}`. A node outage leaves records pending for the next run;
it is logged and counted (metric AuditNodeFailures, alarmed on), not raised, so it is not retried
on top of the next scheduled run.
"""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from etp.edge import jobs

logger = Logger()
metrics = Metrics()


def stamps() -> dict:
    """Where each kind of record's transaction hash goes: onto the DR offer, or every bid of the slot; a
    settlement correction's stays in the outbox (`etp-admin audit show`), the bids keep their clearing's."""
    from etp.audit.trail import CLEARING, DR_RESULT, SEALED, SETTLEMENT_CORRECTION
    from etp.clock import from_utc_iso
    from etp.dr.store import DynamoDrStore
    from etp.market.store import DynamoBidStore

    bid_store = DynamoBidStore()
    return {
        DR_RESULT: DynamoDrStore().set_tx_hash,
        SEALED: lambda slot, tx_hash: bid_store.set_audit_hash(from_utc_iso(slot), "seal", tx_hash),
        CLEARING: lambda slot, tx_hash: bid_store.set_audit_hash(from_utc_iso(slot), "clear", tx_hash),
        SETTLEMENT_CORRECTION: lambda subject, tx_hash: None,
    }


@jobs.scheduled_job("audit job")
def lambda_handler(event: dict) -> dict:
    now = jobs.job_time(event)
    from etp.audit.store import DynamoOutbox
    from etp.audit.trail import publish_pending

    report = publish_pending(DynamoOutbox(), jobs.node_client(), stamps(), now)
    metrics.add_metric(name="AuditRecordsPublished", unit=MetricUnit.Count, value=report.published)
    if report.node_error:
        metrics.add_metric(name="AuditNodeFailures", unit=MetricUnit.Count, value=1)
        logger.error("IOTA node unavailable, records left pending", extra=report.as_dict())
        return {"status": "node unavailable", **report.as_dict()}
    # most runs find nothing to do: those stay out of the logs at INFO
    (logger.info if report.published else logger.debug)("audit trail published", extra=report.as_dict())
    return {"status": "ok", **report.as_dict()}
