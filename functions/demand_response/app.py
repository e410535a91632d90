"""Demand response API: GET/POST /DR_bid, GET /DR_result (etp.dr.service; its rules in etp.dr.rules).

Every refusal is a JSON string, as the contract gives them: `"error"`, or `"parameter is required"`
when /DR_result has neither query form; the reason goes to the log. The one exception is a BEMS that
tries to accept offers (aggregators only): 403 `{"error": "Forbidden"}`, as for any such action.
"""

import functools
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.metrics import MetricUnit
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict

from etp.clock import local_zone, utcnow
from etp.dr import rules as dr
from etp.dr import service
from etp.edge import callers, contract, retries, web
from etp.settings import settings

logger = Logger()
metrics = Metrics()
router = APIGatewayRouter()

MAX_UUIDS = 100


# The fields are checked by etp.dr.rules, whose refusal is the contract's "error"; the document still
# gives each field's accepted form.
LOCAL_TIME: JsonDict = {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}$"}


class DrBidBody(BaseModel):
    """A BEMS offers {volume, price}; an aggregator accepts {start_time, end_time, uuid}."""

    model_config = ConfigDict(extra="forbid")
    volume: Any = Field(
        None, description="BEMS: kW of curtailment", json_schema_extra=contract.amount_schema(dr.MAX_KW)
    )
    price: Any = Field(None, description="BEMS: NT$", json_schema_extra=contract.amount_schema(dr.MAX_PRICE))
    start_time: Any = Field(None, description="aggregator: YYYY-MM-DD HH:MM:SS, local", json_schema_extra=LOCAL_TIME)
    end_time: Any = Field(None, description="aggregator: YYYY-MM-DD HH:MM:SS, local", json_schema_extra=LOCAL_TIME)
    uuid: Any = Field(
        None,
        description="aggregator: the offers to accept, all or none",
        json_schema_extra={
            "type": "array",
            "items": {"type": "string", "format": "uuid"},
            "minItems": 1,
            "maxItems": dr.MAX_ACCEPTED,
            "uniqueItems": True,
        },
    )


class OfferRow(contract.Answer):
    uuid: str
    executor: str = Field(description="the offering BEMS's account")
    start_time: str = Field(description="YYYY-MM-DD HH:MM:SS, local; the target day's midnight until accepted")
    end_time: str | None = Field(description="YYYY-MM-DD HH:MM:SS, local; null until accepted")
    volume: float = Field(description="kW")
    price: float = Field(description="NT$")


class ResultRow(OfferRow):
    acceptor: str | None
    counterpart_name: str | None
    counterpart_address: str | None
    result: bool | None
    status: str = Field(json_schema_extra={"enum": [dr.OFFERED, dr.ACCEPTED, dr.DECLINED, dr.RATED]})
    rate: float | None = Field(description="achieved ÷ committed curtailment, once rated")
    blockchain_url: str | None


# The contract's refusals are bare JSON strings; the reason goes to the log.
Refusal = Literal["error", "parameter is required"]


def answers(ok: tuple[int, str, Any], *errors: int, idempotent: bool = False) -> dict:
    return contract.answers(ok, *errors, bad_request=Refusal, idempotent=idempotent)


class ParameterMissing(dr.DrRejected):
    """/DR_result was given neither query form: the contract answers "parameter is required"."""


class NotAggregator(Exception):
    """A BEMS sent the aggregator's acceptance form: the contract answers 403."""


@functools.cache
def dr_store():
    from etp.dr.store import DynamoDrStore

    return DynamoDrStore()


@router.get(
    "/DR_bid",
    summary="DR offers of a target day: a BEMS its own, an aggregator all",
    responses=answers((200, "The offers", list[OfferRow]), 400, 401),
)
def list_offers(date: Annotated[str, Query(description="YYYY-MM-DD")]):
    offers = service.offers_of_day(dr_store(), callers.caller(router), dr.parse_iso_date(date, "date"))
    zone = local_zone()
    return [dr.offer_row(o, zone) for o in offers]


@router.post(
    "/DR_bid",
    summary="A BEMS offers curtailment; an aggregator accepts offers for a window",
    responses=answers((200, '"ok"', Literal["ok"]), 400, 401, 403, idempotent=True),
    middlewares=[retries.idempotent],  # the Idempotency-Key: declared by the parameter, acted on here
)
def post_offer(body: Annotated[DrBidBody, Body()], idempotency_key: retries.IdempotencyKey = None):
    caller = callers.caller(router)
    return _accept(caller, body) if caller.is_aggregator else _offer(caller, body)


def _offer(caller, body: DrBidBody):
    if body.start_time is not None or body.end_time is not None or body.uuid is not None:
        if body.volume is None and body.price is None:
            raise NotAggregator("a BEMS tried to accept offers; accepting is for aggregators")
        raise dr.DrRejected("a body of both forms: a BEMS offers {volume, price}")
    volume_w, price_milli = dr.offer_amounts(body.volume, body.price)
    offer = service.offer(dr_store(), caller, volume_w, price_milli, utcnow(), local_zone())
    logger.info("DR offer", extra={"offer_id": offer.id, "day": offer.day.isoformat()})
    metrics.add_metric(name="DrOffers", unit=MetricUnit.Count, value=1)
    return contract.json_response(200, "ok")


def _accept(caller, body: DrBidBody):
    if body.volume is not None or body.price is not None:
        raise dr.DrRejected("an aggregator accepts {start_time, end_time, uuid}; offering is for a BEMS")
    zone = local_zone()
    start = dr.parse_iso_dt(body.start_time, "start_time", zone)
    end = dr.parse_iso_dt(body.end_time, "end_time", zone)
    ids = dr.parse_uuids(body.uuid, "uuid", dr.MAX_ACCEPTED)
    service.accept(dr_store(), caller, ids, start, end, utcnow(), zone)
    logger.info("DR offers accepted", extra={"offer_ids": ids, "start": start.isoformat(), "end": end.isoformat()})
    metrics.add_metric(name="DrAccepted", unit=MetricUnit.Count, value=len(ids))
    return contract.json_response(200, "ok")


@router.get(
    "/DR_result",
    summary="DR results by target days (end inclusive) or by uuid",
    responses=answers((200, "The results", list[ResultRow]), 400, 401),
)
def results(
    start_date: Annotated[str | None, Query(description="YYYY-MM-DD")] = None,
    end_date: Annotated[str | None, Query(description="YYYY-MM-DD, inclusive")] = None,
    uuid: Annotated[list[str] | None, Query(description="offer ids, repeatable")] = None,
):
    by_days = start_date is not None and end_date is not None
    if not by_days and not uuid:
        raise ParameterMissing("neither start_date&end_date nor uuid")
    if by_days and uuid:
        raise dr.DrRejected("give either start_date&end_date or uuid")
    caller = callers.caller(router)
    if uuid:
        offers = service.results_by_id(dr_store(), caller, dr.parse_uuids(uuid, "uuid", MAX_UUIDS))
    else:
        first, last = dr.parse_iso_date(start_date, "start_date"), dr.parse_iso_date(end_date, "end_date")
        offers = service.results_of_days(dr_store(), caller, first, last, utcnow(), local_zone())
    zone, counterpart = local_zone(), callers.people()
    return [dr.result_row(o, zone, counterpart, settings().explorer_url) for o in offers]


def invalid_request(description: str) -> str:
    logger.info("DR request refused", extra={"reason": description})
    return "error"


def refused(problem: Exception) -> Response:
    logger.info("DR request refused", extra={"reason": str(problem)})
    return contract.json_response(400, "parameter is required" if isinstance(problem, ParameterMissing) else "error")


def forbidden(problem: NotAggregator) -> Response:
    logger.info("DR request forbidden", extra={"reason": str(problem)})
    return contract.json_response(403, contract.FORBIDDEN)


app = web.make_resolver(
    bad_request=invalid_request,
    errors={dr.DrRejected: refused, dr.DrConflict: refused, NotAggregator: forbidden},
)
app.include_router(router)
lambda_handler = web.api_handler(app)
