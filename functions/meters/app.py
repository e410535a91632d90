"""Meters API: GET /amis (the caller's meters) and GET /address (a meter's address of today)."""

import functools

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from etp.clock import utcnow
from etp.edge import callers, contract, secrets, web
from etp.meters import registry as meters

logger = Logger()
router = APIGatewayRouter()


class MeterView(contract.Answer):
    id: str
    name: str
    description: str


class AddressView(contract.Answer):
    address: str


@functools.cache
def meter_store():
    from etp.meters.store import DynamoMeterStore

    return DynamoMeterStore()


@functools.cache
def address_book():
    from etp.meters.store import DynamoAddressBook

    return DynamoAddressBook()


def authenticate_meter(headers: dict[str, str] | None) -> meters.Meter | None:
    """The meter behind `Authorization: Bearer <meter token>` (not a user's bearer)."""
    token = callers.bearer_token(headers)
    meter_id = meters.meter_id_of(token) if token else None
    meter = meter_store().get(meter_id) if meter_id else None
    if meter is None or not meters.token_matches(meter, token or ""):
        logger.info("meter token rejected")
        return None
    return meter


@router.get("/amis", summary="The caller's meters", responses=contract.answers((200, "Meters", list[MeterView]), 401))
def list_meters() -> list[MeterView]:
    caller = callers.caller(router)
    return [MeterView(id=m.id, name=m.name, description=m.description) for m in meter_store().of_user(caller.id)]


@router.get(
    "/address",
    summary="Today's (UTC) address of the meter whose token is the bearer",
    responses=contract.answers((200, "The address to publish today's readings to", AddressView), 401),
)
def today_address() -> AddressView:
    from etp.meters.store import AddressRecord

    meter: meters.Meter = callers.caller(router)
    day = utcnow().date()
    address = meters.daily_address(secrets.iota_seed(), meter.id, day)
    address_book().record(
        AddressRecord(
            address=address, meter_id=meter.id, day=day.isoformat(), user_id=meter.user_id, account=meter.account
        )
    )
    return AddressView(address=address)


app = web.make_resolver()
app.include_router(router)
lambda_handler = web.api_handler(app, authenticators={"/address": authenticate_meter})
