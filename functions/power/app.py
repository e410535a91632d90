"""Power data API: GET /power_info in table, chart and summary modes."""

import functools
import re
from datetime import date, datetime, timedelta
from typing import Annotated

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.logging import correlation_paths

from etp.clock import day_bounds, local_zone, utcnow
from etp.edge import web
from etp.edge.observability import make_tracer
from etp.meters import power
from etp.settings import settings

logger = Logger()
tracer = make_tracer()
metrics = Metrics()
router = APIGatewayRouter()

LocalDate = Annotated[str | None, Query(pattern=r"^\d{4}/\d{2}/\d{2}$", description="YYYY/MM/DD, local")]


class BadQuery(ValueError):
    pass


@functools.cache
def reading_store():
    from etp.meters.readings_store import DynamoReadingStore

    return DynamoReadingStore()


def _day(name: str, text: str) -> date:
    try:
        return datetime.strptime(text, "%Y/%m/%d").date()
    except ValueError:
        raise BadQuery(f"{name}: {text!r} is not a date YYYY/MM/DD") from None


def _subject(participant_id: str | None) -> str:
    """Whose data: an aggregator may name any participant; anyone else always gets their own."""
    caller = web.caller(router)
    if participant_id is None or not caller.is_aggregator or participant_id == caller.id:
        return caller.id
    if not re.fullmatch(r"[0-9a-fA-F-]{36}", participant_id) or web.user_store().get_by_id(participant_id) is None:
        raise BadQuery("participant_id: no such participant")
    return participant_id


@router.get("/power_info", summary="The caller's (or, for aggregators, a participant's) power data",
            responses=web.answers((200, "Table, chart or summary; [] without a mode parameter", None), 400, 401))
def power_info(
    per_page: Annotated[int | None, Query(ge=1, le=1000)] = None,
    page: Annotated[int | None, Query(ge=1)] = None,
    time: LocalDate = None,
    chart_date: LocalDate = None,
    summary_date: LocalDate = None,
    participant_id: Annotated[str | None, Query(max_length=64)] = None,
):
    zone = local_zone()
    try:
        user_id = _subject(participant_id)
        if chart_date is not None:
            last = _day("chart_date", chart_date)
            start, _ = day_bounds(last - timedelta(days=6), zone)
            _, end = day_bounds(last, zone)
            return power.chart(reading_store().between(user_id, start, end), last, zone)
        if summary_date is not None:
            day = _day("summary_date", summary_date)
            start, end = day_bounds(day, zone)
            return power.day_energies(reading_store().between(user_id, start, end), day, zone)
        if per_page is None and page is None:
            return []
        day = _day("time", time) if time is not None else utcnow().astimezone(zone).date()
        start, end = day_bounds(day, zone)
        rows, total = reading_store().page(user_id, start, end, page or 1, per_page or 10)
    except BadQuery as problem:
        return web.json_response(400, web.default_bad_request(str(problem)))
    link = settings().explorer_url
    return {"data": [power.table_row(r, zone, link) for r in rows], "page": page or 1, "totalCount": total}


app = web.make_resolver()
app.include_router(router)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict, context) -> dict:
    return web.handle(app, event, context)
