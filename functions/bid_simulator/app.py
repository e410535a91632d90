"""Scheduled daily at 00:10 local: each configured building bids every hour of the next local day
with its configured type, volume and price (jittered), through the HTTP API (see etp.simulators.buildings).

Event: `{}`, or `{"now": ISO-8601}` and/or `{"building": account}`.
"""

import random

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from etp.clock import local_zone
from etp.edge import jobs
from etp.simulators import buildings as simulators
from etp.simulators.api_client import ApiClient, ApiError

logger = Logger()
metrics = Metrics()


@jobs.scheduled_job("bid simulator", refusals=(simulators.ConfigError, ApiError))
def lambda_handler(event: dict) -> dict:
    from etp.simulators import runner as simulator_io

    now = jobs.job_time(event)
    api_url, _, buildings = simulator_io.configuration(event)
    api = ApiClient(api_url)
    report = simulators.simulate_bids(buildings, now, zone=local_zone(), api=api, rng=random.Random())  # noqa: S311 (jitter, not secrecy)
    simulator_io.log_report(logger, metrics, report, "bid simulator")
    metrics.add_metric(
        name="SimulatedBids", unit=MetricUnit.Count, value=sum(n for n in report.done.values() if isinstance(n, int))
    )
    return {"status": "ok", "bids": report.done, "failed": report.failed}
