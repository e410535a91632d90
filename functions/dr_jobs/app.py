"""Daily at 00:10 local: close the demand-response days that have passed (see etp.dr.jobs).

Event: `{}` (now) or `{"now": "<ISO-8601>"}` (naive = local time) to run as of an explicit time.
"""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from etp.clock import local_zone
from etp.edge import jobs

logger = Logger()
metrics = Metrics()


@jobs.scheduled_job("DR job")
def lambda_handler(event: dict) -> dict:
    from etp.dr.jobs import close
    from etp.dr.store import DynamoDrStore
    from etp.meters.readings_store import DynamoReadingStore

    now = jobs.job_time(event)
    report = close(DynamoDrStore(), DynamoReadingStore(), now, local_zone())
    metrics.add_metric(name="DrDeclined", unit=MetricUnit.Count, value=report.declined)
    metrics.add_metric(name="DrRated", unit=MetricUnit.Count, value=report.rated)
    logger.info("DR days closed", extra=report.as_dict())
    return {"status": "ok", **report.as_dict()}
