"""Power data API: GET /power_info in table, chart and summary modes.

Chart and summary read the energy rollups (one item per day, written at ingest: etp.meters.rollups);
the table reads the day's rollup for its counts and then only the page's readings."""

import functools
from datetime import timedelta
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import Field

from etp.clock import local_zone, utcnow
from etp.edge import callers, contract, web
from etp.meters import power
from etp.meters.readings import DATA_TYPES
from etp.settings import settings

router = APIGatewayRouter()

# ASCII digits. pydantic matches with Rust's regex, where `$` is the true end (no trailing newline),
# and the pattern is published in openapi.json, whose ECMA-262 patterns have no `\A`/`\Z`.
LocalDate = Annotated[str | None, Query(pattern=r"^[0-9]{4}/[0-9]{2}/[0-9]{2}$", description="YYYY/MM/DD, local")]


class ReadingRow(contract.Answer):
    id: str
    date: str = Field(description="YYYY/MM/DD, local")
    time: str = Field(description="HH:MM, local")
    data_type: str = Field(json_schema_extra={"enum": [*sorted(DATA_TYPES)]})
    power_display: float = Field(description="kW")
    address: str = Field(description="the reading's transaction in the tangle explorer")


class ReadingPage(contract.Answer):
    data: list[ReadingRow]
    page: int
    totalCount: int


class DayEnergies(contract.Answer):
    """kWh of one local day per type; Generate = WT + PV + EV + ESS; Consume = Demand - Generate."""

    Demand: float
    PV: float
    EV: float
    ESS: float
    WT: float
    Generate: float
    Consume: float


class ChartDay(DayEnergies):
    Date: str = Field(description="YYYY/MM/DD, local")


@functools.cache
def reading_store():
    from etp.meters.readings_store import DynamoReadingStore

    return DynamoReadingStore()


@functools.cache
def rollup_store():
    from etp.meters.rollups_store import DynamoRollups

    return DynamoRollups()


def _is_participant(user_id: str) -> bool:
    return callers.user_store().get_by_id(user_id) is not None


@router.get(
    "/power_info",
    summary="The caller's (or, for aggregators, a participant's) power data",
    responses=contract.answers(
        (
            200,
            "Table, chart (seven days) or summary; [] without a mode parameter",
            ReadingPage | list[ChartDay] | DayEnergies,
        ),
        400,
        401,
    ),
)
def power_info(
    per_page: Annotated[int | None, Query(ge=1, le=1000)] = None,
    page: Annotated[int | None, Query(ge=1)] = None,
    time: LocalDate = None,
    chart_date: LocalDate = None,
    summary_date: LocalDate = None,
    participant_id: Annotated[str | None, Query(max_length=64)] = None,
):
    zone = local_zone()
    user_id = power.whose_data(callers.caller(router), participant_id, _is_participant)
    if chart_date is not None:
        last = power.local_day("chart_date", chart_date)
        return power.rollup_chart(rollup_store().days(user_id, last - timedelta(days=6), last), last)
    if summary_date is not None:
        day = power.local_day("summary_date", summary_date)
        return power.rollup_energies(rollup_store().day(user_id, day))
    if per_page is None and page is None:
        return []
    day = power.local_day("time", time) if time is not None else utcnow().astimezone(zone).date()
    rows, total = reading_store().day_page(user_id, day, page or 1, per_page or 10)
    link = settings().explorer_url
    return {"data": [power.table_row(r, zone, link) for r in rows], "page": page or 1, "totalCount": total}


app = web.make_resolver(
    errors={
        power.QueryRejected: lambda problem: contract.json_response(400, contract.default_bad_request(str(problem))),
    }
)
app.include_router(router)
lambda_handler = web.api_handler(app)
