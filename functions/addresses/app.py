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


def addresses_of_day(day, owners, seed: str) -> list:
    """The AddressRecord of each meter owner's address of `day`."""
    from etp.meters.store import AddressRecord

    iso_day = day.isoformat()
    return [
        AddressRecord(
            meters.daily_address(seed, owner.meter_id, day), owner.meter_id, iso_day, owner.user_id, owner.account
        )
        for owner in owners
    ]


def record_day(day, meter_store, address_book, seed: str) -> int:
    """Record every active meter's address of `day`; how many. One projected read of the fleet, then the
    addresses in batches: one request a meter would not fit a large fleet in the function's timeout."""
    return address_book.record_many(addresses_of_day(day, meter_store.active_owners(), seed))


@jobs.scheduled_job("address job")
def lambda_handler(event: dict) -> dict:
    from etp.meters.store import DynamoAddressBook, DynamoMeterStore

    day = jobs.job_time(event).date()
    recorded = record_day(day, DynamoMeterStore(), DynamoAddressBook(), secrets.iota_seed())
    metrics.add_metric(name="AddressesRecorded", unit=MetricUnit.Count, value=recorded)
    logger.info("addresses recorded", extra={"day": day.isoformat(), "meters": recorded})
    return {"status": "ok", "day": day.isoformat(), "meters": recorded}
