"""The daily DR job through functions/dr_jobs/app.py on moto: days that passed are closed, once.

Offers are made and accepted through the demand-response function with the wall clock frozen
(conftest's frozen_clock), so they are for days before the job's explicit time
(events/dr_jobs/explicit_time.json: 2026-11-27 00:10 local, closing 2026-11-20..2026-11-26).
"""

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from helpers import ROOT, FakeLambdaContext, call, load_event, load_function

from etp.accounts import service as accounts
from etp.accounts.store import DynamoUserStore
from etp.audit.store import AuditModel, DynamoOutbox
from etp.clock import local_zone, utcnow
from etp.dr import rules as dr
from etp.dr.records import dr_result_record
from etp.dr.store import DynamoDrStore
from etp.edge import callers
from etp.meters.readings import StoredReading
from etp.meters.readings_store import DynamoReadingStore

dr_jobs = load_function("dr_jobs")
dr_app = load_function("demand_response")
ZONE = local_zone()
EXPLICIT = json.loads((ROOT / "events/dr_jobs/explicit_time.json").read_text())
SCHEDULED = json.loads((ROOT / "events/dr_jobs/scheduled.json").read_text())
CLOSED_DAYS = ["2026-11-20", "2026-11-26"]
WINDOW = ("2026-11-26 10:00:00", "2026-11-26 12:00:00")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=ZONE).astimezone(UTC)


@pytest.fixture
def clock(frozen_clock):
    frozen_clock.now = local(2026, 11, 25, 9, 0)  # offers made now are for 2026-11-26
    return frozen_clock


@pytest.fixture
def people(aws, clock) -> dict:
    users, made = DynamoUserStore(), {}
    for key, account, aggregator in (
        ("carlab", "Carlab_BEMS", False),
        ("ncku", "NCKU_BEMS", False),
        ("abri", "ABRI_BEMS", False),
        ("agg", "NCKU_Aggregator", True),
    ):
        user = accounts.create_account(
            users,
            None,
            accounts.NewAccount(
                account, account.split("_")[0], "energy-demo", is_aggregator=aggregator, address=f"{account} 地址"
            ),
            utcnow(),
        )
        made[key] = {"user": user}
    return made


def bearer(person: dict) -> str:
    """What POST /login answers, without its scrypt; issued at the clock's now, which tests move by days."""
    return callers.issue_token(person["user"])


def run(event: dict) -> dict:
    return dr_jobs.lambda_handler(event, FakeLambdaContext())


def api(event) -> tuple[int, object]:
    return call(dr_app, event)


def offer(person: dict, volume: float) -> None:
    event = load_event("demand_response/post_offer.json", bearer=bearer(person), body={"volume": volume, "price": 2})
    assert api(event) == (200, "ok")


def accept(person: dict, ids: list[str]) -> None:
    event = load_event(
        "demand_response/accept_offers.json",
        bearer=bearer(person),
        body={"start_time": WINDOW[0], "end_time": WINDOW[1], "uuid": ids},
    )
    assert api(event) == (200, "ok")


def results(person: dict, start="2026-11-01", end="2026-11-30") -> dict[float, dict]:
    """/DR_result rows by volume (the tests give every offer its own volume)."""
    status, rows = api(
        load_event(
            "demand_response/results_by_date.json", bearer=bearer(person), query={"start_date": start, "end_date": end}
        )
    )
    assert status == 200, rows
    assert isinstance(rows, list)
    return {row["volume"]: row for row in rows}


def stored() -> dict[str, dr.DrOffer]:
    return {o.id: o for o in DynamoDrStore().of_days(date(2026, 11, 1), date(2026, 11, 30))}


def outbox() -> dict[str, tuple]:
    return {i.key: (i.message, i.created_at, i.pending) for i in AuditModel.scan()}


def record_key(offer_id: str) -> str:
    return f"dr-result#{offer_id}"


# --- offers nobody accepted ---


def test_unaccepted_offers_of_days_that_passed_are_declined_once(people, clock):
    for moment, person, volume in (
        (local(2026, 11, 18, 9), "carlab", 1),  # for 11-19: before the catch-up days
        (local(2026, 11, 19, 9), "carlab", 2),  # for 11-20: the first day closed
        (local(2026, 11, 25, 9), "carlab", 3),  # for 11-26: yesterday
        (local(2026, 11, 25, 9), "ncku", 4),
        (local(2026, 11, 25, 10, 30), "carlab", 5),  # for 11-27: today
        (local(2026, 11, 26, 9), "ncku", 6),
    ):  # for 11-27
        clock.now = moment
        offer(people[person], volume)

    assert run(EXPLICIT) == {"status": "ok", "days": CLOSED_DAYS, "declined": 3, "rated": 0}

    rows = results(people["agg"])
    for volume in (2, 3, 4):
        row = rows[volume]
        assert (row["result"], row["status"]) == (False, "未得標"), volume
        assert (row["acceptor"], row["counterpart_name"], row["counterpart_address"], row["end_time"]) == (
            None,
            None,
            None,
            None,
        )
        assert row["start_time"].endswith(" 00:00:00")
        offer_now = stored()[row["uuid"]]
        record = DynamoOutbox().get(record_key(row["uuid"]))
        assert record is not None and record.message == dr_result_record(offer_now).message().decode()
        assert json.loads(record.message)["result"] is False
    for volume in (1, 5, 6):
        assert (rows[volume]["result"], rows[volume]["status"]) == (None, "已投標"), volume
        assert DynamoOutbox().get(record_key(rows[volume]["uuid"])) is None
    assert results(people["carlab"])[3]["status"] == "未得標", "the BEMS sees it too"
    assert len(outbox()) == 3

    offers, records = stored(), outbox()
    assert run(EXPLICIT) == {"status": "ok", "days": CLOSED_DAYS, "declined": 0, "rated": 0}
    assert stored() == offers and outbox() == records, "a re-run changes nothing"


def test_the_scheduled_event_closes_as_of_now(people, clock):
    offer(people["carlab"], 1)  # for 11-26
    clock.now = local(2026, 11, 26, 9)
    offer(people["carlab"], 2)  # for 11-27
    clock.now = local(2026, 11, 27, 0, 10)
    assert run(SCHEDULED) == {"status": "ok", "days": CLOSED_DAYS, "declined": 1, "rated": 0}
    clock.now = local(2026, 11, 28, 0, 10)
    assert run(SCHEDULED) == {"status": "ok", "days": ["2026-11-21", "2026-11-27"], "declined": 1, "rated": 0}
    assert {row["status"] for row in results(people["carlab"]).values()} == {"未得標"}


# --- accepted offers: the rate ---


def metered(user_id: str, kw: float, start: datetime, end: datetime, kind: str = "Demand") -> list:
    """Readings every 15 minutes in [start, end) (grid kW, import positive)."""
    items, moment = [], start
    while moment < end:
        reading = StoredReading(
            id=str(uuid.uuid4()),
            user_id=user_id,
            meter_id=f"m-{user_id}",
            kind=kind,
            taken_at=moment,
            power_kw=kw,
            tx_hash=uuid.uuid4().hex.upper(),
        )
        items.append((reading, {"grid" if kind == "Demand" else "pac": kw}, "A" * 81))
        moment += timedelta(minutes=15)
    return items


def history(user_id: str, kw: float, days: range, around: float | None = None) -> list:
    """The window's hours at `kw` on each of those days before it, and at `around` kW just outside them."""
    start, end = local(2026, 11, 26, 10), local(2026, 11, 26, 12)
    items = []
    for back in days:
        shift = timedelta(days=back)
        items += metered(user_id, kw, start - shift, end - shift)
        if around is not None:
            quarter = timedelta(minutes=15)
            items += [
                *metered(user_id, around, start - shift - quarter, start - shift),
                *metered(user_id, around, end - shift, end - shift + quarter),
            ]
    return items


def test_accepted_offers_get_their_rate_from_metered_data(people):
    for person in ("carlab", "ncku", "abri"):
        offer(people[person], {"carlab": 10, "ncku": 11, "abri": 12}[person])
    by_volume = {row["volume"]: row["uuid"] for row in results(people["agg"]).values()}
    accept(people["agg"], [by_volume[10], by_volume[11], by_volume[12]])
    acceptance_records = outbox()
    assert set(acceptance_records) == {record_key(i) for i in by_volume.values()}

    start, end = local(2026, 11, 26, 10), local(2026, 11, 26, 12)
    ids = {key: people[key]["user"].id for key in ("carlab", "ncku", "abri")}
    DynamoReadingStore().store_many(
        [
            # Carlab: 35 kW on six of the seven days before (none on the seventh: zero load), so the
            # baseline is 6 x 70 / 7 = 60 kWh; 25 kW in the window is 50 kWh: 10 of the 20 kWh committed.
            # Loads just outside the windows and other kinds of reading do not count.
            *history(ids["carlab"], 35, range(1, 7), around=500),
            *metered(ids["carlab"], 25, start, end),
            *metered(ids["carlab"], 500, start - timedelta(minutes=15), start),
            *metered(ids["carlab"], 500, end, end + timedelta(minutes=15)),
            *metered(ids["carlab"], 900, start, end, kind="PV"),
            # NCKU: the same baseline and no load at all: 60 kWh of 22 committed, clamped to 1.
            *history(ids["ncku"], 35, range(1, 7)),
            *metered(ids["ncku"], 0, start, end),
            # ABRI: no history and 10 kW in the window: less than nothing, clamped to 0.
            *metered(ids["abri"], 10, start, end),
        ]
    )

    assert run(EXPLICIT) == {"status": "ok", "days": CLOSED_DAYS, "declined": 0, "rated": 3}
    rows = results(people["agg"])
    assert {volume: (rows[volume]["rate"], rows[volume]["status"], rows[volume]["result"]) for volume in rows} == {
        10: (0.5, "已結算", True),
        11: (1.0, "已結算", True),
        12: (0.0, "已結算", True),
    }
    assert {(r["acceptor"], r["start_time"], r["end_time"]) for r in rows.values()} == {("NCKU_Aggregator", *WINDOW)}
    status, mine = api(_by_uuid(people["carlab"], [by_volume[10]]))
    assert status == 200 and isinstance(mine, list)
    assert [(r["rate"], r["status"]) for r in mine] == [(0.5, "已結算")]

    offers = stored()
    assert run(EXPLICIT) == {"status": "ok", "days": CLOSED_DAYS, "declined": 0, "rated": 0}
    assert stored() == offers, "a rate is recorded once"
    assert outbox() == acceptance_records, "the acceptance's audit records stay as they were"


def _by_uuid(person: dict, ids: list[str]) -> dict:
    event = load_event("demand_response/results_by_uuid.json", bearer=bearer(person))
    event["multiValueQueryStringParameters"] = {"uuid": ids}
    event["queryStringParameters"] = {"uuid": ids[-1]}
    return event


# --- the event ---


def test_a_bad_now_is_rejected_with_nothing_written(people):
    offer(people["carlab"], 1)  # for 11-26, which the explicit time would close
    offers, records = stored(), outbox()
    for now in (
        "yesterday",
        "2026-13-01T00:00:00",
        "2026-11-27 25:00",
        1795600000,
        ["2026-11-27T00:10:00"],
        {"at": "2026-11-27T00:10:00"},
    ):
        answer = run({"now": now})
        assert answer["status"] == "rejected" and isinstance(answer["error"], str) and answer["error"], now
        assert set(answer) == {"status", "error"}, now
    assert stored() == offers and outbox() == records
    (row,) = results(people["carlab"]).values()
    assert (row["status"], row["result"]) == ("已投標", None)
    assert run({"now": "2026-11-26T16:10:00Z"}) == {"status": "ok", "days": CLOSED_DAYS, "declined": 1, "rated": 0}, (
        "the same moment in UTC is fine"
    )
