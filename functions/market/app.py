"""Market API: GET/POST/PUT/DELETE /bidsubmit, GET /bidstatus, /matchresult, /homepage and /news."""

import functools
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, Field, StrictStr
from pydantic.json_schema import JsonDict

from etp.clock import local_zone, utcnow
from etp.edge import callers, contract, retries, web
from etp.market import bids, service, slots
from etp.market.views import bid_statistics
from etp.settings import settings

logger = Logger()
router = APIGatewayRouter()

BidId = Annotated[StrictStr, Field(min_length=1, max_length=64)]


# The fields are checked by bids.offer, whose refusals are the contract's descriptions; the document
# still gives each field's accepted form.
SLOT_TIME: JsonDict = {"type": "string", "pattern": r"^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{1,2}$"}


class OfferBody(BaseModel):
    bid_type: Any = Field(description="buy | sell", json_schema_extra={"enum": list(bids.SIDES)})
    start_time: Any = Field(description="YYYY/MM/DD H, local; hour 24 = next day 00", json_schema_extra=SLOT_TIME)
    end_time: Any = Field(description="start_time + 1 hour", json_schema_extra=SLOT_TIME)
    value: Any = Field(
        description="kWh, at most 3 decimals", json_schema_extra=contract.amount_schema(bids.MAX_VOLUME_KWH)
    )
    price: Any = Field(
        description="NT$/kWh, at most 3 decimals", json_schema_extra=contract.amount_schema(bids.MAX_PRICE_NTD)
    )


class EditBody(OfferBody):
    id: BidId


class DeleteBody(BaseModel):
    id: BidId


class Rejected(contract.Answer):
    message: Literal["Reject"]
    description: str = Field(description="why: a bad field, or the contract's refusal")


class BidView(contract.Answer):
    id: str
    bid_type: Literal["buy", "sell"]
    start_time: str = Field(description="YYYY/MM/DD H, local")
    end_time: str
    date: str = Field(description="YYYY/MM/DD, local")
    time: int = Field(description="the slot's local hour")
    volume: float = Field(description="kWh")
    price: float = Field(description="NT$/kWh")
    total_price: float
    upload_time: str = Field(description="RFC 1123 date, local")


class BidPage(contract.Answer):
    data: list[BidView]
    page: int
    totalCount: int


class Accepted(contract.Answer):
    message: Literal["Accept"]


class Submitted(Accepted):
    id: str = Field(description="the new bid's id")


class BidStatus(contract.Answer):
    average_price: float
    average_volume: float
    participants: int


class PriceValue(contract.Answer):
    price: float
    value: float


class Counterpart(contract.Answer):
    name: str
    address: str


class MatchRow(contract.Answer):
    id: str = Field(description="the bid's id, or <bid id>/<counterpart user id> for each pair")
    bid_id: str
    date: str
    time: str = Field(description="HH:00-HH:00, local")
    bid_type: Literal["buy", "sell"]
    status: str = Field(
        description="投標中 submitted … 已結算 settled", json_schema_extra={"enum": list(bids.STATUSES)}
    )
    transaction_hash: str | None
    upload: str
    bids: PriceValue
    win: Literal[0, 1] | None
    counterpart: Counterpart
    wins: PriceValue
    achievement: float | None
    settlement: float | None


class Delivering(contract.Answer):
    price: float | None
    volume: float | None


class WonBid(contract.Answer):
    date: str
    time: str
    price: float
    volume: float
    settlement: float | None


class Homepage(contract.Answer):
    buy: Delivering
    sell: Delivering
    results: list[WonBid]


class NewsItem(contract.Answer):
    id: str
    time: str = Field(description="YYYY/MM/DD HH:MM, local")
    content: str


def answers(ok: tuple[int, str, Any], *errors: int, idempotent: bool = False) -> dict:
    return contract.answers(ok, *errors, bad_request=Rejected, idempotent=idempotent)


def reject(description: str) -> dict:
    return {"message": "Reject", "description": description}


@functools.cache
def bid_store():
    from etp.market.store import DynamoBidStore

    return DynamoBidStore()


def _offer(body: OfferBody) -> bids.Offer:
    return bids.offer(
        bid_type=body.bid_type,
        start_time=body.start_time,
        end_time=body.end_time,
        value=body.value,
        price=body.price,
        now=utcnow(),
        zone=local_zone(),
        horizon=timedelta(days=settings().bid_horizon_days),
    )


def _view(bid) -> dict:
    zone = local_zone()
    start = bid.slot.astimezone(zone)
    volume, price = bid.volume_wh / 1000, bid.price_milli / 1000
    return {
        "id": bid.id,
        "bid_type": bid.side,
        "start_time": slots.format_dh(start, zone),
        "end_time": slots.format_dh(start + slots.SLOT, zone),
        "date": start.strftime("%Y/%m/%d"),
        "time": start.hour,
        "volume": volume,
        "price": price,
        "total_price": round(volume * price, 3),
        "upload_time": slots.http_date(bid.uploaded_at, zone),
    }


@router.get(
    "/bidsubmit",
    summary="The caller's bids of one type whose slot has not started yet",
    responses=answers((200, "A page of bids", BidPage), 400, 401),
)
def list_bids(
    bid_type: Annotated[Literal["buy", "sell"], Query()],
    per_page: Annotated[int, Query(ge=1, le=1000)] = 10,
    page: Annotated[int, Query(ge=1)] = 1,
):
    """Reads the caller's open-list count of that side (one GetItem) and its `by-user-open` partition
    in the list's order, up to the page's end (a Query with `Limit`), plus the bids of slots that
    started and are still listed (none once the deliver job ran): the page, not every open bid."""
    first = (page - 1) * per_page
    mine, total = bid_store().open_page(callers.caller(router).id, bid_type, utcnow(), first, per_page)
    return {"data": [_view(b) for b in mine], "page": page, "totalCount": total}


# The writes take an Idempotency-Key (etp.edge.retries): the parameter declares the header, the
# middleware acts on it.
@router.post(
    "/bidsubmit",
    summary="Submit a bid for one slot",
    responses=answers((200, "Accepted", Submitted), 400, 401, idempotent=True),
    middlewares=[retries.idempotent],
)
def submit_bid(body: Annotated[OfferBody, Body()], idempotency_key: retries.IdempotencyKey = None):
    caller = callers.caller(router)
    bid = service.submit(bid_store(), caller.id, caller.account, _offer(body), utcnow())
    logger.info("bid submitted", extra={"bid_id": bid.id, "slot": bid.slot.isoformat(), "side": bid.side})
    return {"message": "Accept", "id": bid.id}


@router.put(
    "/bidsubmit",
    summary="Change an open bid of the caller",
    responses=answers((200, "Accepted", Accepted), 400, 401, idempotent=True),
    middlewares=[retries.idempotent],
)
def edit_bid(body: Annotated[EditBody, Body()], idempotency_key: retries.IdempotencyKey = None):
    bid = service.open_bid_of(bid_store(), callers.caller(router).id, body.id, utcnow())
    service.change(bid_store(), bid, _offer(body), utcnow())
    return {"message": "Accept"}


@router.delete(
    "/bidsubmit",
    summary="Withdraw an open bid of the caller",
    responses=answers((200, "Accepted", Accepted), 400, 401, idempotent=True),
    middlewares=[retries.idempotent],
)
def delete_bid(body: Annotated[DeleteBody, Body()], idempotency_key: retries.IdempotencyKey = None):
    service.withdraw(bid_store(), service.open_bid_of(bid_store(), callers.caller(router).id, body.id, utcnow()))
    return {"message": "Accept"}


@router.get(
    "/bidstatus",
    summary="The next slot still open for bidding: average price, volume, participants",
    responses=answers((200, "Bid statistics", BidStatus), 401),
)
def bid_status():
    """Reads the markers of the slots from the next open one until one is not sealed (one GetItem,
    unless an operator sealed slots early; at most the bidding horizon's), then that slot's bids."""
    horizon = timedelta(days=settings().bid_horizon_days)
    return bid_statistics(service.next_open_book(bid_store(), utcnow(), local_zone(), horizon))


@router.get(
    "/matchresult",
    summary="The caller's bids from local midnight three days ago, newest slot first",
    responses=answers((200, "One row per matched pair; unmatched bids as one row", list[MatchRow]), 401),
)
def match_result():
    """Reads the caller's bids from local midnight three days ago to the bidding horizon (a Query of
    `by-user-week` per week), exactly the bids it answers: at most 3 days + the horizon of slots x
    the bids per slot."""
    from etp.market.views import match_rows, match_window_start

    zone, now = local_zone(), utcnow()
    mine = sorted(_bids_of_caller_from(match_window_start(now, zone), now), key=lambda b: (b.slot, b.id), reverse=True)
    counterpart = callers.people()
    return [row for bid in mine for row in match_rows(bid, zone, counterpart)]


def _bids_of_caller_from(start: datetime, now: datetime) -> list[bids.StoredBid]:
    """The caller's bids from `start` on: none starts later than the bidding horizon after now."""
    horizon = now + timedelta(days=settings().bid_horizon_days)
    return bid_store().of_user_between(callers.caller(router).id, start, horizon)


@router.get(
    "/homepage",
    summary="What the caller delivers now, and its ten latest won bids",
    responses=answers((200, "Home page figures", Homepage), 401),
)
def homepage():
    """Reads the caller's latest-wins list (one GetItem) and its ten newest won bids (one BatchGet),
    which hold the current slot's won bids unless all ten are of that slot or later; only then the
    current slot's bids too (one Query of its week's `by-user-week` partition, on the slot's key
    prefix). At most 11 items + the slot's bids, however long the caller's history."""
    from etp.market.views import delivering_now, won_result

    zone = local_zone()
    latest, current = service.homepage_bids(bid_store(), callers.caller(router).id, utcnow(), zone)
    return {
        "buy": delivering_now(current, "buy"),
        "sell": delivering_now(current, "sell"),
        "results": [won_result(b, zone) for b in latest],
    }


@router.get(
    "/news", summary="The ten latest news items, newest first", responses=answers((200, "News", list[NewsItem]), 401)
)
def news():
    from etp.market.news import DynamoNews

    zone = local_zone()
    return [
        {"id": item.id, "time": item.published_at.astimezone(zone).strftime("%Y/%m/%d %H:%M"), "content": item.content}
        for item in DynamoNews().latest(10)
    ]


def refused(rejection: bids.BidRejected) -> Response:
    if rejection.__cause__ is not None:
        logger.info("bid refused", extra={"reason": str(rejection.__cause__)})
    return contract.json_response(400, reject(str(rejection)))


app = web.make_resolver(bad_request=reject, errors={bids.BidRejected: refused})
app.include_router(router)
lambda_handler = web.api_handler(app)
