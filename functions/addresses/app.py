"""Scheduled daily at 00:00 UTC: record every active meter's address of the (new) UTC day.

Idempotent: an address is derived deterministically, so a re-run rewrites identical items.
Event: `{}` (today) or `{"now": "<ISO-8601>"}` for the UTC day of that time.
"""

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from etp.edge import jobs, secrets
from etp.meters import registry as meters

logger = Logger()
metrics = Metrics()


def record_day(day, meter_store, address_book, seed: str) -> int:
    from etp.meters.store import AddressRecord

    count = 0
    for meter in meter_store.all_active():
        address = meters.daily_address(seed, meter.id, day)
        address_book.record(
            AddressRecord(
                address=address, meter_id=meter.id, day=day.isoformat(), user_id=meter.user_id, account=meter.account
            )
        )
        count += 1
    return count


@jobs.scheduled_job("address job")
def lambda_handler(event: dict) -> dict:
    from etp.meters.store import DynamoAddressBook, DynamoMeterStore

    day = jobs.job_time(event).date()
    recorded = record_day(day, DynamoMeterStore(), DynamoAddressBook(), secrets.iota_seed())
    metrics.add_metric(name="AddressesRecorded", unit=MetricUnit.Count, value=recorded)
    logger.info("addresses recorded", extra={"day": day.isoformat(), "meters": recorded})
    return {"status": "ok", "day": day.isoformat(), "meters": recorded}
