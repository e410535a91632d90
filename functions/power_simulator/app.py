"""Scheduled every 15 minutes: each configured building's meter publishes its historical reading of
now (same weekday and hour, nearest minute), as a meter in the field would (see etp.simulators.buildings).

Event: `{}`, or `{"now": ISO-8601}` and/or `{"building": account}`.
"""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from etp.clock import local_zone
from etp.edge import jobs
from etp.simulators import buildings as simulators

logger = Logger()
metrics = Metrics()


@jobs.scheduled_job("power simulator", refusals=(simulators.ConfigError,))
def lambda_handler(event: dict) -> dict:
    from etp.simulators import runner as simulator_io

    now = jobs.job_time(event)
    api_url, node_url, buildings = simulator_io.configuration(event)
    report = simulators.simulate_power(
        buildings,
        now,
        zone=local_zone(),
        read_csv=simulator_io.read_csv,
        publish=simulator_io.meter_publisher(api_url, node_url),
    )
    simulator_io.log_report(logger, metrics, report, "power simulator")
    metrics.add_metric(name="SimulatedReadings", unit=MetricUnit.Count, value=len(report.done))
    return {"status": "ok", "published": report.done, "failed": report.failed}
