"""Issue 12, item 1: no request gets a 5xx. Each input the adversarial pass found crashing a handler
(or stored when it should not have been) gets its API's own 400 with nothing written, through the
real handlers in-process with events/*.json against moto."""

import json
import os

import boto3
import pytest
from aws_fixtures import table_names_from_environment, template
from helpers import call, load_event, load_function, login_bearer, present

from etp.accounts import service as accounts
from etp.accounts.store import DynamoUserStore
from etp.clock import utcnow
from etp.edge import contract

# bid gates, target days and the horizon depend on the wall clock: it stands still at conftest's
# FROZEN_AT, 2030-01-01 09:10 in Taipei (the 10:00 slot open till 09:40, DR offers for 2030-01-02)
pytestmark = pytest.mark.usefixtures("frozen_clock")
accounts_app = load_function("accounts")
market_app = load_function("market")
power_app = load_function("power")
dr_app = load_function("demand_response")

NESTED = "[" * 30000 + "]" * 30000
LONG_INT = "9" * 5000
SLOT = ("2030/01/01 10", "2030/01/01 11")  # the frozen clock's next open slot
WINDOW = ("2030-01-02 10:00:00", "2030-01-02 12:00:00")  # within the DR offers' target day

ACCOUNTS_400 = {"error": "Bad request"}  # + description
MARKET_400 = {"message": "Reject"}  # + description
DR_400 = "error"


@pytest.fixture
def people(aws) -> dict[str, str]:
    users = DynamoUserStore()
    for account, aggregator in (("Carlab_BEMS", False), ("NCKU_BEMS", False), ("Aggregator", True)):
        accounts.create_account(users, None, accounts.NewAccount(account, account, "energy-demo", aggregator), utcnow())
    return {"carlab": login_bearer("Carlab_BEMS"), "agg": login_bearer("Aggregator")}


def everything_stored() -> dict[str, list]:
    """Every item of every table of the template: what a refused request must leave as it was."""
    client = boto3.client("dynamodb")
    names = [os.environ[variable] for variable in table_names_from_environment(template()).values()]
    return {
        name: sorted(json.dumps(item, sort_keys=True) for item in client.scan(TableName=name)["Items"])
        for name in names
    }


def with_content_type(event: dict, content_type: str) -> dict:
    for name in [k for k in event["headers"] if k.lower() == "content-type"]:
        del event["headers"][name]
        event["multiValueHeaders"].pop(name, None)
    event["headers"]["Content-Type"] = content_type
    event["multiValueHeaders"]["Content-Type"] = [content_type]
    return event


def offer(start: str = SLOT[0], end: str = SLOT[1], value: object = 12.5) -> dict:
    return {"bid_type": "buy", "start_time": start, "end_time": end, "value": value, "price": 3.2}


def submit_raw(token: str, raw: str):
    return call(market_app, load_event("market/submit_bid.json", bearer=token, raw_body=raw))


def submit(token: str, **fields):
    return call(market_app, load_event("market/submit_bid.json", bearer=token, body=offer(**fields)))


# Every route that takes a body: (function, event, which token, the API's 400 for `description`)
BODY_ROUTES = {
    "POST /login": (accounts_app, "accounts/login.json", None, lambda d: {**ACCOUNTS_400, "description": d}),
    "PUT /user": (
        accounts_app,
        "accounts/change_password.json",
        "carlab",
        lambda d: {**ACCOUNTS_400, "description": d},
    ),
    "POST /user": (accounts_app, "accounts/create_user.json", "agg", lambda d: {**ACCOUNTS_400, "description": d}),
    "POST /bidsubmit": (market_app, "market/submit_bid.json", "carlab", lambda d: {**MARKET_400, "description": d}),
    "PUT /bidsubmit": (market_app, "market/edit_bid.json", "carlab", lambda d: {**MARKET_400, "description": d}),
    "DELETE /bidsubmit": (market_app, "market/delete_bid.json", "carlab", lambda d: {**MARKET_400, "description": d}),
    "POST /DR_bid (BEMS)": (dr_app, "demand_response/post_offer.json", "carlab", lambda d: DR_400),
    "POST /DR_bid (aggregator)": (dr_app, "demand_response/accept_offers.json", "agg", lambda d: DR_400),
}


def assert_refused(people, cases: dict[str, tuple[str | None, str | None]], description: str) -> None:
    """Each route, sent `raw` with `content_type` (None: the event's own), answers its API's 400 with
    `description`, and nothing is written anywhere."""
    before, failures = everything_stored(), []
    for route, (function, event_file, who, bad_request) in BODY_ROUTES.items():
        raw, content_type = cases[route] if route in cases else cases["*"]
        event = load_event(event_file, bearer=people[who] if who else None, raw_body=raw)
        if content_type is not None:
            with_content_type(event, content_type)
        answer = call(function, event)
        if answer != (400, bad_request(description)):
            failures.append(f"{route}: {answer}")
    assert not failures, "\n".join(failures)
    assert everything_stored() == before


def an_open_offer(people) -> list[str]:
    """The ids of the offers open for DR's target day, after Carlab offered one."""
    offered = load_event("demand_response/post_offer.json", bearer=people["carlab"], body={"volume": 5, "price": 2})
    assert call(dr_app, offered) == (200, "ok")
    query = {"date": "2030-01-02"}
    status, rows = call(dr_app, load_event("demand_response/list_offers.json", bearer=people["agg"], query=query))
    assert status == 200 and isinstance(rows, list)
    return [row["uuid"] for row in rows]


# --- bodies the parser cannot safely take ---


def test_deeply_nested_json_gets_the_apis_400_on_every_body_route(people):
    assert_refused(people, {"*": (NESTED, None)}, "body: nested deeper than 32 levels")


def test_deep_nesting_inside_a_field_gets_the_apis_400_too(people):
    raw = '{"account": "Carlab_BEMS", "password": ' + "[" * 40 + "]" * 40 + "}"
    assert_refused(people, {"*": (raw, None)}, "body: nested deeper than 32 levels")


@pytest.mark.parametrize("content_type", ["multipart/form-data", "text/plain", "text/plain;charset=UTF-8"])
def test_a_body_that_is_not_json_gets_the_apis_400_on_every_body_route(people, content_type):
    assert_refused(
        people,
        {"*": (json.dumps({"account": "Carlab_BEMS", "password": "energy-demo"}), content_type)},
        f"body: Content-Type must be application/json (UTF-8), not {content_type!r}",
    )


def test_a_multipart_body_without_a_boundary_gets_the_apis_400(people):
    raw = '--x\r\nContent-Disposition: form-data; name="account"\r\n\r\nCarlab_BEMS\r\n--x--\r\n'
    assert_refused(
        people,
        {"*": (raw, "multipart/form-data")},
        "body: Content-Type must be application/json (UTF-8), not 'multipart/form-data'",
    )


def test_the_json_content_type_with_utf8_is_still_taken(people):
    event = with_content_type(
        load_event("market/submit_bid.json", bearer=people["carlab"], body=offer()), "application/json; charset=UTF-8"
    )
    assert call(market_app, event)[0] == 200


# --- numbers bounded before conversion ---


def test_a_5000_digit_value_is_refused_before_conversion(people):
    before = everything_stored()
    raw = json.dumps(offer()).replace('"value": 12.5', f'"value": {LONG_INT}')
    assert submit_raw(people["carlab"], raw) == (
        400,
        {"message": "Reject", "description": "value: a number of more than 32 digits"},
    )
    event = load_event(
        "demand_response/post_offer.json", bearer=people["carlab"], raw_body='{"volume": ' + LONG_INT + ', "price": 1}'
    )
    assert call(dr_app, event) == (400, "error")
    assert everything_stored() == before


# --- dates at the ends of the calendar, and only ASCII digits up to the true end ---


@pytest.mark.parametrize(
    ("start", "end", "description"),
    [
        ("9999/12/31 23", "9999/12/31 24", "'9999/12/31 23' is not between 1970/01/01 and 9998/12/31"),
        ("9999/12/31 24", "9999/12/31 23", "'9999/12/31 24' is not between 1970/01/01 and 9998/12/31"),
        ("0001/01/01 0", "0001/01/01 1", "'0001/01/01 0' is not between 1970/01/01 and 9998/12/31"),
        ("2030/01/01 10\n", SLOT[1], "'2030/01/01 10\\n' is not YYYY/MM/DD H"),
        ("２０３０/０１/０１ １０", SLOT[1], "'２０３０/０１/０１ １０' is not YYYY/MM/DD H"),
        (SLOT[0], "2030/01/01 11\n", "'2030/01/01 11\\n' is not YYYY/MM/DD H"),
    ],
)
def test_a_bid_for_a_slot_outside_the_calendar_or_not_in_ascii_is_refused_by_name(people, start, end, description):
    before = everything_stored()
    assert submit(people["carlab"], start=start, end=end) == (
        400,
        {"message": "Reject", "description": f"start_time/end_time: {description}"},
    )
    assert everything_stored() == before


@pytest.mark.parametrize(
    ("query", "description"),
    [
        ({"summary_date": "9999/12/31"}, "summary_date: '9999/12/31' is not between 1970/01/01 and 9998/12/31"),
        ({"chart_date": "0001/01/01"}, "chart_date: '0001/01/01' is not between 1970/01/01 and 9998/12/31"),
        ({"chart_date": "9999/12/31"}, "chart_date: '9999/12/31' is not between 1970/01/01 and 9998/12/31"),
        ({"time": "9999/12/31", "page": "1"}, "time: '9999/12/31' is not between 1970/01/01 and 9998/12/31"),
        ({"time": "0001/01/01", "page": "1"}, "time: '0001/01/01' is not between 1970/01/01 and 9998/12/31"),
        ({"summary_date": "2030/01/01\n"}, "summary_date: String should match pattern '^[0-9]{4}/[0-9]{2}/[0-9]{2}$'"),
        (
            {"chart_date": "２０３０/０１/０１"},
            "chart_date: String should match pattern '^[0-9]{4}/[0-9]{2}/[0-9]{2}$'",
        ),
    ],
)
def test_power_info_dates_outside_the_calendar_or_not_in_ascii_get_400_naming_the_parameter(people, query, description):
    event = load_event("power/summary.json", bearer=people["carlab"], query=query)
    assert call(power_app, event) == (400, {"error": "Bad request", "description": description})


def test_power_info_takes_the_first_and_last_supported_days(people):
    for query in ({"chart_date": "1970/01/01"}, {"summary_date": "9998/12/31"}, {"time": "9998/12/31", "page": "1"}):
        status, _ = call(power_app, load_event("power/summary.json", bearer=people["carlab"], query=query))
        assert status == 200, query


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("0001-01-01 00:00:00", WINDOW[1]),
        (WINDOW[0], "9999-12-31 23:59:59"),
        ("9999-12-31 00:00:00", "9999-12-31 23:59:59"),
        (WINDOW[0] + "\n", WINDOW[1]),
        ("２０３０-０１-０２ １０:００:００", WINDOW[1]),
    ],
)
def test_a_dr_window_outside_the_calendar_or_not_in_ascii_is_refused(people, start, end):
    ids = an_open_offer(people)
    before = everything_stored()
    body = {"start_time": start, "end_time": end, "uuid": ids}
    assert call(dr_app, load_event("demand_response/accept_offers.json", bearer=people["agg"], body=body)) == (
        400,
        "error",
    )
    assert everything_stored() == before


def test_a_dr_window_cannot_be_further_than_the_offers_target_day(people):
    # the DR horizon: an offer is for tomorrow or the day after, and a window must lie inside its day
    ids = an_open_offer(people)
    before = everything_stored()
    for start, end in (("2999-01-02 10:00:00", "2999-01-02 12:00:00"), ("2030-01-03 10:00:00", "2030-01-03 12:00:00")):
        body = {"start_time": start, "end_time": end, "uuid": ids}
        assert call(dr_app, load_event("demand_response/accept_offers.json", bearer=people["agg"], body=body)) == (
            400,
            "error",
        )
    assert everything_stored() == before


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_dr_days_at_the_ends_of_the_calendar_are_answered(people, day):
    listed = call(dr_app, load_event("demand_response/list_offers.json", bearer=people["agg"], query={"date": day}))
    assert listed == (200, [])
    query = {"start_date": day, "end_date": "9999-12-31"}
    assert call(dr_app, load_event("demand_response/results_by_date.json", bearer=people["agg"], query=query)) == (
        200,
        [],
    )


# --- the bidding horizon ---


def test_a_bid_for_a_slot_in_2999_is_refused(people):
    before = everything_stored()
    assert submit(people["carlab"], start="2999/01/01 10", end="2999/01/01 11") == (
        400,
        {"message": "Reject", "description": "start_time: the slot is more than 14 days ahead (the bidding horizon)"},
    )
    assert everything_stored() == before


def test_bids_are_taken_up_to_fourteen_days_ahead_and_refused_beyond(people):
    # now is 2030-01-01 09:10 local: the last slot within 14 days starts 2030-01-15 09:00
    status, body = submit(people["carlab"], start="2030/01/15 09", end="2030/01/15 10")
    assert status == 200, body
    before = everything_stored()
    assert submit(people["carlab"], start="2030/01/15 10", end="2030/01/15 11") == (
        400,
        {"message": "Reject", "description": "start_time: the slot is more than 14 days ahead (the bidding horizon)"},
    )
    edit = {**offer("2030/01/16 10", "2030/01/16 11"), "id": present(body)["id"]}
    assert call(market_app, load_event("market/edit_bid.json", bearer=people["carlab"], body=edit)) == (
        400,
        {"message": "Reject", "description": "start_time: the slot is more than 14 days ahead (the bidding horizon)"},
    )
    assert everything_stored() == before


def test_the_horizon_is_the_bid_horizon_days_setting(people, environment):
    environment(BID_HORIZON_DAYS="1")
    assert submit(people["carlab"], start="2030/01/02 10", end="2030/01/02 11") == (
        400,
        {"message": "Reject", "description": "start_time: the slot is more than 1 days ahead (the bidding horizon)"},
    )
    status, _ = submit(people["carlab"], start="2030/01/02 09", end="2030/01/02 10")
    assert status == 200


# --- item 6: accepting DR offers is for aggregators ---


def test_a_bems_posting_an_acceptance_gets_403_and_nothing_is_written(people):
    ids = an_open_offer(people)
    before = everything_stored()
    body = {"start_time": WINDOW[0], "end_time": WINDOW[1], "uuid": ids}
    assert call(dr_app, load_event("demand_response/accept_offers.json", bearer=people["carlab"], body=body)) == (
        403,
        contract.FORBIDDEN,
    )
    assert call(dr_app, load_event("demand_response/accept_offers.json", bearer=people["carlab"])) == (
        403,
        {"error": "Forbidden"},
    )
    assert everything_stored() == before
