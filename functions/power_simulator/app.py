"""Scheduled every 15 minutes: each configured building's meter publishes its historical reading of
now (same weekday and hour, nearest minute), as a meter in the field would (see etp.simulators.buildings).

Event: `{}`, or `{"now": ISO-8601}` and/or `{"building": account}`.
"""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from etp.clock import local_zone
from etp.edge import jobs
from etp.edge.observability import make_tracer
from etp.simulators import buildings as simulators

logger = Logger()
tracer = make_tracer()
metrics = Metrics()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    from etp.simulators import runner as simulator_io

    try:
        now = jobs.job_time(event)
        api_url, node_url, buildings = simulator_io.configuration(event)
    except (jobs.BadJobEvent, simulators.ConfigError) as problem:
        return jobs.rejected(logger, "power simulator", problem)
    report = simulators.simulate_power(buildings, now, zone=local_zone(), read_csv=simulator_io.read_csv,
                                       publish=simulator_io.meter_publisher(api_url, node_url))
    simulator_io.log_report(logger, metrics, report, "power simulator")
    metrics.add_metric(name="SimulatedReadings", unit=MetricUnit.Count, value=len(report.done))
    return {"status": "ok", "published": report.done, "failed": report.failed}
