"""GET/POST /DR_bid and GET /DR_result through the handler, in-process against moto, with
events/demand_response/*.json and the wall clock frozen (conftest's frozen_clock)."""

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from helpers import answer, call, load_event, load_function

from etp.accounts import service as accounts
from etp.accounts.store import DynamoUserStore
from etp.accounts.users import User
from etp.audit.store import AuditModel, DynamoOutbox
from etp.clock import local_zone, utcnow
from etp.dr import rules as dr
from etp.dr.records import dr_result_record
from etp.dr.store import DynamoDrStore
from etp.edge import callers, web

dr_app = load_function("demand_response")
ZONE = local_zone()
PASSWORD = "energy-demo"
DAY, NEXT_DAY = "2030-01-02", "2030-01-03"
WINDOW = ("2030-01-02 10:00:00", "2030-01-02 12:00:00")
ISO_DT = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
AGGREGATOR_NAME, AGGREGATOR_ADDRESS = "NCKU 聚合商", "台南市東區大學路1號"
RESULT_FIELDS = {
    "uuid",
    "executor",
    "acceptor",
    "counterpart_name",
    "counterpart_address",
    "start_time",
    "end_time",
    "volume",
    "price",
    "result",
    "status",
    "rate",
    "blockchain_url",
}


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A local wall-clock time, as the aware UTC time the function's clock returns."""
    return datetime(year, month, day, hour, minute, second, tzinfo=ZONE).astimezone(UTC)


@dataclass
class Person:
    user: User

    @property
    def token(self) -> str:
        """What POST /login answers, without its scrypt; issued at the clock's now, which tests move by days."""
        return callers.issue_token(self.user)


@pytest.fixture
def clock(frozen_clock):
    frozen_clock.now = local(2030, 1, 1, 9, 0)  # before 10:30: offers are for DAY
    return frozen_clock


@pytest.fixture
def people(aws, clock) -> dict[str, Person]:
    users = DynamoUserStore()
    made = {}
    for key, account, username, aggregator, address in (
        ("carlab", "Carlab_BEMS", "Carlab", False, "台南市東區1號"),
        ("ncku", "NCKU_BEMS", "NCKU", False, "台南市東區2號"),
        ("agg", "NCKU_Aggregator", AGGREGATOR_NAME, True, AGGREGATOR_ADDRESS),
    ):
        user = accounts.create_account(
            users,
            None,
            accounts.NewAccount(account, username, PASSWORD, is_aggregator=aggregator, address=address),
            utcnow(),
        )
        made[key] = Person(user)
    return made


# --- requests ---


def post(person: Person | None, body=None, raw: str | None = None):
    return call(
        dr_app,
        load_event("demand_response/post_offer.json", bearer=person.token if person else None, body=body, raw_body=raw),
    )


def offer(person: Person, volume=12.5, price=3.2) -> None:
    assert post(person, {"volume": volume, "price": price}) == (200, "ok")


def window(ids, start=WINDOW[0], end=WINDOW[1]) -> dict:
    return {"start_time": start, "end_time": end, "uuid": ids}


def accept(person: Person, ids, start=WINDOW[0], end=WINDOW[1]):
    return post(person, window(ids, start, end))


def bids(person: Person, day=DAY):
    return call(dr_app, load_event("demand_response/list_offers.json", bearer=person.token, query={"date": day}))


def listed(person: Person, day=DAY) -> list[dict]:
    status, body = bids(person, day)
    assert status == 200, body
    assert isinstance(body, list)
    return body


def results(person: Person, **query):
    return call(dr_app, load_event("demand_response/results_by_date.json", bearer=person.token, query=query))


def results_by_uuid(person: Person, ids: list):
    event = load_event("demand_response/results_by_uuid.json", bearer=person.token)
    event["multiValueQueryStringParameters"] = {"uuid": list(ids)}
    event["queryStringParameters"] = {"uuid": ids[-1]}
    return call(dr_app, event)


def found(answer) -> list[dict]:
    status, body = answer
    assert status == 200, body
    assert isinstance(body, list)
    return body


def ids_by_volume(person: Person, day=DAY) -> dict[float, str]:
    return {row["volume"]: row["uuid"] for row in listed(person, day)}


# --- state ---


def snapshot() -> tuple[list[dr.DrOffer], list[tuple]]:
    """Every offer (of the days these tests use) and every audit record, to show nothing changed."""
    offers = sorted(DynamoDrStore().of_days(date(2029, 12, 1), date(2030, 2, 28)), key=lambda o: o.id)
    outbox = sorted((i.key, i.message, i.created_at, i.pending) for i in AuditModel.scan())
    return offers, outbox


def outbox_key(offer_id: str) -> str:
    return f"dr-result#{offer_id}"


# --- the target day ---


def test_an_offer_before_half_past_ten_is_for_tomorrow_and_from_then_on_for_the_day_after(people, clock):
    for moment, volume in (
        (local(2030, 1, 1, 0, 0, 0), 1),
        (local(2030, 1, 1, 10, 29, 59), 2),
        (local(2030, 1, 1, 10, 30, 0), 3),
        (local(2030, 1, 1, 23, 59, 59), 4),
        (local(2030, 1, 31, 10, 29, 59), 5),
        (local(2030, 1, 31, 10, 30), 6),
        (local(2030, 12, 30, 12, 0), 7),
    ):
        clock.now = moment
        offer(people["carlab"], volume=volume)
    assert [r["volume"] for r in listed(people["carlab"], "2030-01-01")] == []
    assert [r["volume"] for r in listed(people["carlab"], DAY)] == [1, 2]
    assert [r["volume"] for r in listed(people["carlab"], NEXT_DAY)] == [3, 4]
    assert [r["volume"] for r in listed(people["carlab"], "2030-02-01")] == [5]
    assert [r["volume"] for r in listed(people["carlab"], "2030-02-02")] == [6]
    assert [r["volume"] for r in listed(people["carlab"], "2031-01-01")] == [7]
    assert {r["start_time"] for r in listed(people["carlab"], NEXT_DAY)} == {"2030-01-03 00:00:00"}
    by_days = found(results(people["carlab"], start_date="2030-01-01", end_date="2031-01-01"))
    assert [(r["volume"], r["start_time"]) for r in by_days] == [
        (1, "2030-01-02 00:00:00"),
        (2, "2030-01-02 00:00:00"),
        (3, "2030-01-03 00:00:00"),
        (4, "2030-01-03 00:00:00"),
        (5, "2030-02-01 00:00:00"),
        (6, "2030-02-02 00:00:00"),
        (7, "2031-01-01 00:00:00"),
    ], "across months and a year end, ordered by day"


# --- the contract's shapes ---


def test_get_dr_bid_has_the_contract_shape(people):
    offer(people["carlab"], volume=12.5, price=3.2)
    offer(people["carlab"], volume=7, price=0.001)
    rows = sorted(listed(people["carlab"]), key=lambda r: -r["volume"])
    assert len(rows) == 2
    for row in rows:
        assert set(row) == {"uuid", "executor", "start_time", "end_time", "volume", "price"}
        assert str(uuid.UUID(row["uuid"])) == row["uuid"]
        assert row["start_time"] == "2030-01-02 00:00:00", "before acceptance: the target day's local midnight"
        assert row["end_time"] is None
        for field in ("volume", "price"):
            assert isinstance(row[field], int | float) and not isinstance(row[field], bool)
    assert [{k: v for k, v in r.items() if k != "uuid"} for r in rows] == [
        {
            "executor": "Carlab_BEMS",
            "start_time": "2030-01-02 00:00:00",
            "end_time": None,
            "volume": 12.5,
            "price": 3.2,
        },
        {"executor": "Carlab_BEMS", "start_time": "2030-01-02 00:00:00", "end_time": None, "volume": 7, "price": 0.001},
    ]
    assert len({r["uuid"] for r in rows}) == 2


def test_get_dr_result_has_the_contract_shape_before_acceptance(people):
    offer(people["carlab"], volume=12.5, price=3.2)
    (row,) = found(results(people["carlab"], start_date=DAY, end_date=DAY))
    assert set(row) == RESULT_FIELDS
    assert row == {
        "uuid": row["uuid"],
        "executor": "Carlab_BEMS",
        "acceptor": None,
        "counterpart_name": None,
        "counterpart_address": None,
        "start_time": "2030-01-02 00:00:00",
        "end_time": None,
        "volume": 12.5,
        "price": 3.2,
        "result": None,
        "status": "已投標",
        "rate": None,
        "blockchain_url": None,
    }
    assert found(results_by_uuid(people["carlab"], [row["uuid"]])) == [row]
    assert found(results_by_uuid(people["agg"], [row["uuid"]])) == [row]
    assert DynamoOutbox().get(outbox_key(row["uuid"])) is None, "an offer alone is not audited"


# --- acceptance ---


def test_an_aggregator_accepts_offers_for_a_window(people):
    offer(people["carlab"], volume=10, price=2)
    offer(people["ncku"], volume=20, price=3)
    offer(people["ncku"], volume=30, price=4)
    mine, theirs = ids_by_volume(people["carlab"])[10], ids_by_volume(people["ncku"])
    assert accept(people["agg"], [mine, theirs[20]]) == (200, "ok")

    rows = {r["uuid"]: r for r in found(results(people["agg"], start_date=DAY, end_date=DAY))}
    for offer_id, executor, volume in ((mine, "Carlab_BEMS", 10), (theirs[20], "NCKU_BEMS", 20)):
        assert rows[offer_id] == {
            "uuid": offer_id,
            "executor": executor,
            "acceptor": "NCKU_Aggregator",
            "counterpart_name": AGGREGATOR_NAME,
            "counterpart_address": AGGREGATOR_ADDRESS,
            "start_time": WINDOW[0],
            "end_time": WINDOW[1],
            "volume": volume,
            "price": volume / 10 + 1,
            "result": True,
            "status": "已得標",
            "rate": None,
            "blockchain_url": None,
        }
        record = DynamoOutbox().get(outbox_key(offer_id))
        assert record is not None and record.pending == "pending"
        stored = DynamoDrStore().get_many([offer_id])[offer_id]
        assert record.message == dr_result_record(stored).message().decode()
        assert json.loads(record.message)["result"] is True
        assert json.loads(record.message)["acceptor"] == "NCKU_Aggregator"
    assert rows[theirs[30]]["status"] == "已投標" and rows[theirs[30]]["result"] is None
    assert DynamoOutbox().get(outbox_key(theirs[30])) is None

    assert found(results_by_uuid(people["carlab"], [mine])) == [rows[mine]], "the BEMS sees its counterpart too"
    listed_row = next(r for r in listed(people["carlab"]) if r["uuid"] == mine)
    assert (listed_row["start_time"], listed_row["end_time"]) == WINDOW
    assert all(ISO_DT.match(rows[mine][f]) for f in ("start_time", "end_time"))

    DynamoDrStore().set_tx_hash(mine, "TXHASH9")  # what publishing the audit record does
    (published,) = found(results_by_uuid(people["carlab"], [mine]))
    assert published["blockchain_url"] == "http://explorer.test/transaction/TXHASH9"


def test_the_window_may_span_the_whole_day_and_start_right_now(people, clock):
    offer(people["carlab"], volume=1)
    offer(people["carlab"], volume=2)
    ids = ids_by_volume(people["carlab"])
    assert accept(people["agg"], [ids[1]], "2030-01-02 00:00:00", "2030-01-03 00:00:00") == (200, "ok")
    clock.now = local(2030, 1, 2, 15, 0, 0)
    assert accept(people["agg"], [ids[2]], "2030-01-02 15:00:00", "2030-01-02 15:00:01") == (200, "ok")
    rows = {r["volume"]: r for r in listed(people["agg"])}
    assert (rows[1]["start_time"], rows[1]["end_time"]) == ("2030-01-02 00:00:00", "2030-01-03 00:00:00")
    assert (rows[2]["start_time"], rows[2]["end_time"]) == ("2030-01-02 15:00:00", "2030-01-02 15:00:01")


@pytest.fixture
def board(people, clock) -> dict[str, str]:
    """a1, a2 (Carlab) and n1 (NCKU) open for DAY, n2 (NCKU) accepted already, `later` open for NEXT_DAY."""
    for person, volume in ((people["carlab"], 1), (people["carlab"], 2), (people["ncku"], 3), (people["ncku"], 4)):
        offer(person, volume=volume)
    clock.now = local(2030, 1, 1, 11, 0)
    offer(people["carlab"], volume=5)
    clock.now = local(2030, 1, 1, 9, 0)
    ids = {**ids_by_volume(people["agg"]), **ids_by_volume(people["agg"], NEXT_DAY)}
    made = {"a1": ids[1], "a2": ids[2], "n1": ids[3], "n2": ids[4], "later": ids[5]}
    assert accept(people["agg"], [made["n2"]], "2030-01-02 08:00:00", "2030-01-02 09:00:00") == (200, "ok")
    return made


def assert_all_or_nothing(people, board, cases: dict, who: str = "agg") -> None:
    """Each case's body is refused with 400 "error" and changes no offer and no audit record."""
    before = snapshot()
    failures = []
    for label, body in cases.items():
        answer = post(people[who], body)
        after = snapshot()
        if answer != (400, "error") or after != before:
            failures.append(f"{label}: answered {answer}, {'changed' if after != before else 'nothing changed'}")
            before = after
    assert not failures, "\n".join(failures)


def test_acceptance_is_all_or_nothing(people, board):
    a1, a2 = board["a1"], board["a2"]
    assert_all_or_nothing(
        people,
        board,
        {
            "an unknown id": window([a1, str(uuid.uuid4())]),
            "an offer accepted already": window([a1, board["n2"]]),
            "offers of two days": window([a1, board["later"]]),
            "a duplicate": window([a1, a2, a1]),
            "a duplicate in upper case": window([a1, a1.upper()]),
            "no offers": window([]),
            "a window starting the day before": window([a1, a2], "2030-01-01 23:00:00", "2030-01-02 01:00:00"),
            "a window ending the day after": window([a1, a2], "2030-01-02 23:00:00", "2030-01-03 00:00:01"),
            "a window on the next day": window([a1, a2], "2030-01-03 10:00:00", "2030-01-03 11:00:00"),
            "a window on the next day for a next-day offer and a DAY offer": window(
                [board["later"], a1], "2030-01-03 10:00:00", "2030-01-03 11:00:00"
            ),
            "an empty window": window([a1, a2], WINDOW[0], WINDOW[0]),
            "a reversed window": window([a1, a2], WINDOW[1], WINDOW[0]),
        },
    )
    stored = {o.id: o for o in snapshot()[0]}
    assert {stored[board[k]].status for k in ("a1", "a2", "n1", "later")} == {"已投標"}
    assert [key for key, *_ in snapshot()[1]] == [outbox_key(board["n2"])], "only the earlier acceptance's record"
    assert accept(people["agg"], [a1, a2, board["n1"]]) == (200, "ok"), "the same offers are acceptable"


def test_a_window_that_has_started_is_refused(people, board, clock):
    clock.now = local(2030, 1, 2, 10, 0, 1)
    assert_all_or_nothing(people, board, {"a window started a second ago": window([board["a1"]])})
    clock.now = local(2030, 1, 2, 10, 0, 0)
    assert accept(people["agg"], [board["a1"]]) == (200, "ok")


def test_malformed_acceptances_are_refused_with_nothing_written(people, board):
    a1 = board["a1"]
    assert_all_or_nothing(
        people,
        board,
        {
            "uuid a string": window(a1),
            "uuid an object": window({"id": a1}),
            "uuid null": window(None),
            "uuid missing": {"start_time": WINDOW[0], "end_time": WINDOW[1]},
            "a non-uuid id": window([a1, "not-a-uuid"]),
            "a number for an id": window([a1, 42]),
            "a null id": window([a1, None]),
            "a nested list": window([[a1]]),
            "start_time with slashes": window([a1], "2030/01/02 10:00:00"),
            "start_time with a T": window([a1], "2030-01-02T10:00:00"),
            "start_time without seconds": window([a1], "2030-01-02 10:00"),
            "start_time with an offset": window([a1], "2030-01-02 10:00:00+08:00"),
            "start_time an impossible date": window([a1], "2030-02-30 10:00:00"),
            "start_time hour 24": window([a1], "2030-01-02 24:00:00"),
            "start_time a number": window([a1], 1893549600),
            "start_time missing": {"end_time": WINDOW[1], "uuid": [a1]},
            "end_time null": window([a1], WINDOW[0], None),
            "end_time a date only": window([a1], WINDOW[0], DAY),
            "an unknown field": {**window([a1]), "note": "x"},
            "the BEMS form from an aggregator": {"volume": 1, "price": 1},
            "both forms at once": {**window([a1]), "volume": 1, "price": 1},
            "an empty object": {},
            "a list": [window([board["a2"]])],  # another offer, so that the cases above stay meaningful
        },
    )


def test_window_times_must_be_exactly_iso_dt(people, clock):
    """ISO_DT is `YYYY-MM-DD HH:MM:SS`, zero padded: other spellings are bad input (one offer per spelling)."""
    spellings = ["2030-01-02 9:00:00", "2030-1-2 09:00:00", "2030-01-02 09:00:0", "2030-01-02  09:00:00"]
    for volume in range(1, len(spellings) + 1):
        offer(people["carlab"], volume=volume)
    ids = ids_by_volume(people["carlab"])
    failures = []
    for volume, start in enumerate(spellings, start=1):
        before = snapshot()
        answer = accept(people["agg"], [ids[volume]], start, WINDOW[1])
        if answer != (400, "error") or snapshot() != before:
            failures.append(f"start_time={start!r}: answered {answer}")
    assert not failures, "\n".join(failures)


def test_fifty_offers_are_accepted_together_and_fifty_one_refused(people):
    for volume in range(1, 52):
        offer(people["carlab"] if volume % 2 else people["ncku"], volume=volume)
    ids = [r["uuid"] for r in listed(people["agg"])]
    assert len(ids) == 51
    before = snapshot()
    assert accept(people["agg"], ids) == (400, "error")
    assert snapshot() == before and not before[1]
    assert accept(people["agg"], ids[:50]) == (200, "ok")
    statuses = {o.id: o.status for o in snapshot()[0]}
    assert [statuses[i] for i in ids] == ["已得標"] * 50 + ["已投標"]
    assert sorted(key for key, *_ in snapshot()[1]) == sorted(outbox_key(i) for i in ids[:50])


def test_a_bems_cannot_accept_and_an_aggregator_cannot_offer(people, board):
    # Accepting is for aggregators: a BEMS gets the contract's 403 (issue 12, item 6; it was 400 "error")
    before = snapshot()
    for who, ids in (("carlab", [board["a1"], board["n1"]]), ("ncku", [board["n1"]]), ("carlab", [board["later"]])):
        assert post(people[who], window(ids)) == (403, {"error": "Forbidden"}), who
        assert snapshot() == before
    assert_all_or_nothing(
        people, board, {"both forms from a BEMS": {"volume": 5, "price": 2, **window([board["a1"]])}}, who="carlab"
    )
    assert_all_or_nothing(people, board, {"an aggregator offering": {"volume": 5, "price": 2}})


# --- offers: bad input ---


BAD_OFFERS = {
    "volume 0": '{"volume": 0, "price": 1}',
    "price 0": '{"volume": 1, "price": 0}',
    "negative volume": '{"volume": -1, "price": 1}',
    "negative price": '{"volume": 1, "price": -0.5}',
    "volume NaN": '{"volume": NaN, "price": 1}',
    "price NaN": '{"volume": 1, "price": NaN}',
    "volume Infinity": '{"volume": Infinity, "price": 1}',
    "price -Infinity": '{"volume": 1, "price": -Infinity}',
    "volume a string": '{"volume": "5", "price": 1}',
    "price a string": '{"volume": 5, "price": "1"}',
    "volume true": '{"volume": true, "price": 1}',
    "price false": '{"volume": 1, "price": false}',
    "volume null": '{"volume": null, "price": 1}',
    "price a list": '{"volume": 1, "price": [1]}',
    "four decimals in volume": '{"volume": 1.0001, "price": 1}',
    "four decimals in price": '{"volume": 1, "price": 2.0005}',
    "an absurd volume": '{"volume": 1e9, "price": 1}',
    "an absurd price": '{"volume": 1, "price": 1e9}',
    "price missing": '{"volume": 1}',
    "an empty object": "{}",
    "an unknown field": '{"volume": 1, "price": 1, "note": "x"}',
    "malformed JSON": '{"volume": 1, "price": ',
    "not JSON": "volume=1&price=1",
    "a JSON list": '[{"volume": 1, "price": 1}]',
    "a JSON string": '"ok"',
    "JSON null": "null",
    "the aggregator's fields too": json.dumps({"volume": 1, "price": 1, **window([str(uuid.uuid4())])}),
    "one of the aggregator's fields too": json.dumps({"volume": 1, "price": 1, "uuid": [str(uuid.uuid4())]}),
}


def test_bad_offers_are_refused_and_nothing_is_written(people):
    failures = []
    for label, raw in BAD_OFFERS.items():
        answer = post(people["carlab"], raw=raw)
        if answer != (400, "error"):
            failures.append(f"{label}: answered {answer}")
    assert not failures, "\n".join(failures)
    assert snapshot() == ([], [])
    assert found(results(people["carlab"], start_date="2030-01-01", end_date="2030-12-31")) == []


def test_offers_at_the_limits_are_taken(people):
    for volume, price in ((0.001, 0.001), (100_000, 1_000), (1.5, 2.125)):
        offer(people["carlab"], volume=volume, price=price)
    assert sorted((r["volume"], r["price"]) for r in listed(people["carlab"])) == [
        (0.001, 0.001),
        (1.5, 2.125),
        (100_000, 1_000),
    ]
    assert post(people["carlab"], {"volume": 100_000.001, "price": 1}) == (400, "error")
    assert post(people["carlab"], {"volume": 1, "price": 1_000.001}) == (400, "error")


def test_the_sample_events_work(people):
    """events/demand_response/*.json as they are: the sample acceptance names two offers made for DAY."""
    sample_ids = json.loads(load_event("demand_response/accept_offers.json", bearer="x")["body"])["uuid"]
    for offer_id in sample_ids:  # the route cannot choose an offer's id
        DynamoDrStore().create(
            dr.DrOffer(
                id=offer_id,
                user_id=people["carlab"].user.id,
                executor="Carlab_BEMS",
                day=date(2030, 1, 2),
                volume_w=5_000,
                price_milli=2_000,
                offered_at=local(2029, 12, 31, 9, 0),
            )
        )
    assert call(dr_app, load_event("demand_response/post_offer.json", bearer=people["carlab"].token)) == (200, "ok")
    assert call(dr_app, load_event("demand_response/accept_offers.json", bearer=people["agg"].token)) == (200, "ok")
    rows = found(call(dr_app, load_event("demand_response/list_offers.json", bearer=people["carlab"].token)))
    assert sorted((r["volume"], r["end_time"]) for r in rows) == [
        (5, WINDOW[1]),
        (5, WINDOW[1]),
        (12.5, None),
    ]
    rows = found(call(dr_app, load_event("demand_response/results_by_date.json", bearer=people["agg"].token)))
    assert len(rows) == 3
    rows = found(call(dr_app, load_event("demand_response/results_by_uuid.json", bearer=people["carlab"].token)))
    assert [(r["uuid"], r["status"], r["result"]) for r in rows] == [
        (offer_id, "已得標", True) for offer_id in sample_ids
    ]


# --- visibility ---


def test_a_bems_sees_its_own_offers_and_an_aggregator_all(people):
    offer(people["carlab"], volume=1)
    offer(people["carlab"], volume=2)
    offer(people["ncku"], volume=3)
    mine, theirs = ids_by_volume(people["carlab"]), ids_by_volume(people["ncku"])
    assert sorted(mine) == [1, 2] and sorted(theirs) == [3]
    assert sorted(ids_by_volume(people["agg"])) == [1, 2, 3]
    assert sorted(r["volume"] for r in found(results(people["carlab"], start_date=DAY, end_date=DAY))) == [1, 2]
    assert [r["volume"] for r in found(results(people["ncku"], start_date=DAY, end_date=DAY))] == [3]
    assert sorted(r["volume"] for r in found(results(people["agg"], start_date=DAY, end_date=DAY))) == [1, 2, 3]
    assert found(results_by_uuid(people["carlab"], [theirs[3]])) == [], "another BEMS's uuid yields nothing"
    assert [r["volume"] for r in found(results_by_uuid(people["carlab"], [theirs[3], mine[2]]))] == [2]
    assert sorted(r["volume"] for r in found(results_by_uuid(people["agg"], [theirs[3], mine[1]]))) == [1, 3]
    assert found(results_by_uuid(people["agg"], [str(uuid.uuid4())])) == [], "an unknown uuid yields nothing"
    assert accept(people["agg"], [mine[1], theirs[3]]) == (200, "ok")
    assert [r["volume"] for r in found(results_by_uuid(people["ncku"], [mine[1], theirs[3]]))] == [3]


def test_results_by_uuid_accept_up_to_a_hundred_ids(people):
    offer(people["carlab"], volume=1)
    (offer_id,) = ids_by_volume(people["carlab"]).values()
    others = [str(uuid.uuid4()) for _ in range(99)]
    assert [r["uuid"] for r in found(results_by_uuid(people["carlab"], [*others, offer_id]))] == [offer_id]
    assert results_by_uuid(people["carlab"], [*others, offer_id, str(uuid.uuid4())]) == (400, "error")
    for bad in (["not-a-uuid"], [offer_id, "42"], [""]):
        assert results_by_uuid(people["carlab"], bad) == (400, "error"), bad


# --- /DR_result by days ---


def test_results_by_days_include_the_end_date(people, clock):
    offer(people["carlab"], volume=1)  # DAY
    clock.now = local(2030, 1, 1, 12, 0)
    offer(people["carlab"], volume=2)  # NEXT_DAY
    clock.now = local(2030, 1, 2, 9, 0)
    offer(people["carlab"], volume=3)  # 2030-01-03 too

    def volumes(start, end):
        return [r["volume"] for r in found(results(people["carlab"], start_date=start, end_date=end))]

    assert volumes(DAY, DAY) == [1]
    assert volumes(DAY, NEXT_DAY) == [1, 2, 3]
    assert volumes(NEXT_DAY, NEXT_DAY) == [2, 3]
    assert volumes("2030-01-01", "2030-01-01") == []
    assert volumes("0001-01-01", "9999-12-31") == [1, 2, 3], "any range: only days that can hold offers are read"
    assert volumes("2030-01-04", "9999-12-31") == [] and volumes("2000-01-01", "2020-12-31") == []


def test_the_status_pages_request_gets_every_result(people, clock):
    """The front end's status page asks from 2021-01-01 to two days ahead, as a BEMS and as an aggregator."""
    offer(people["carlab"], volume=1)
    offer(people["ncku"], volume=2)
    today = clock.now.astimezone(ZONE).date()
    query = {"start_date": "2021-01-01", "end_date": (today + timedelta(days=2)).isoformat()}
    assert [r["volume"] for r in found(results(people["carlab"], **query))] == [1]
    assert sorted(r["volume"] for r in found(results(people["agg"], **query))) == [1, 2]


def test_bad_result_queries_get_error(people):
    offer(people["carlab"])
    failures = []
    for query in (
        {"start_date": NEXT_DAY, "end_date": DAY},
        {"start_date": "2030/01/02", "end_date": DAY},
        {"start_date": DAY, "end_date": "2030-1-3"},
        {"start_date": "2030-02-30", "end_date": "2030-03-01"},
        {"start_date": "", "end_date": DAY},
        {"start_date": "20300102", "end_date": "20300103"},
        {"start_date": "2030-01-02T00:00:00", "end_date": NEXT_DAY},
        {"start_date": "2030010299", "end_date": "2030010399"},
        {"start_date": DAY, "end_date": NEXT_DAY, "uuid": str(uuid.UUID(int=1))},
    ):
        for who in ("carlab", "agg"):
            answer = results(people[who], **query)
            if answer != (400, "error"):
                failures.append(f"{who} {query}: answered {answer}")
    assert not failures, "\n".join(failures)


def test_without_either_form_a_parameter_is_required(people):
    for query in ({}, {"start_date": DAY}, {"end_date": DAY}):
        assert results(people["carlab"], **query) == (400, "parameter is required"), query
    event = load_event("demand_response/results_by_date.json", bearer=people["agg"].token)
    event["queryStringParameters"] = event["multiValueQueryStringParameters"] = None
    assert call(dr_app, event) == (400, "parameter is required")


def test_malformed_dates_of_dr_bid_get_error(people):
    offer(people["carlab"])
    failures = []
    for day in (
        "2030/01/02",
        "2030-1-2",
        "",
        "2030-02-30",
        "20300102",
        "2030-01-02x",
        "2030-01-02 00:00:00",
        "2030010299",
        "2030-W01-3",
        "tomorrow",
    ):
        answer = bids(people["agg"], day)
        if answer != (400, "error"):
            failures.append(f"date={day!r}: answered {answer}")
    assert not failures, "\n".join(failures)
    event = load_event("demand_response/list_offers.json", bearer=people["agg"].token)
    event["queryStringParameters"] = event["multiValueQueryStringParameters"] = None
    assert call(dr_app, event) == (400, "error"), "date is required"


# --- the HTTP edge ---


def test_string_answers_are_json_strings(people):
    """The contract's `"ok"`, `"error"` and `"parameter is required"` are JSON strings (Content-Type JSON)."""

    def raw(event) -> tuple[int, str, str]:
        status, _, headers, text = answer(dr_app, event)
        return status, headers.get("Content-Type", ""), text

    bearer = people["carlab"].token
    assert raw(load_event("demand_response/post_offer.json", bearer=bearer)) == (200, "application/json", '"ok"')
    assert raw(load_event("demand_response/post_offer.json", bearer=bearer, raw_body="{")) == (
        400,
        "application/json",
        '"error"',
    )
    assert raw(load_event("demand_response/results_by_date.json", bearer=bearer, query={})) == (
        400,
        "application/json",
        '"parameter is required"',
    )


def test_without_a_valid_bearer_every_route_answers_401(people):
    unauthorized = (401, {"error": "Unauthorized access"})
    for bearer in (None, "not-a-token", people["carlab"].token + "x"):
        for name in ("list_offers", "post_offer", "accept_offers", "results_by_date", "results_by_uuid"):
            event = load_event(f"demand_response/{name}.json", bearer=bearer)
            assert call(dr_app, event) == unauthorized, (name, bearer)
    assert snapshot() == ([], [])


def test_preflights_are_answered_with_cors_headers(aws):
    for sample, resource in (("list_offers", "/DR_bid"), ("post_offer", "/DR_bid"), ("results_by_uuid", "/DR_result")):
        event = load_event(f"demand_response/{sample}.json")
        assert event["resource"] == resource
        event["httpMethod"] = event["requestContext"]["httpMethod"] = "OPTIONS"
        event["headers"]["Access-Control-Request-Method"] = "POST"
        status, _, headers, _ = answer(dr_app, event)
        assert status == 200, sample
        assert {k: headers.get(k) for k in web.CORS_HEADERS} == {
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": "GET,POST,PUT,DELETE,OPTIONS",
            "Access-Control-Allow-Headers": "X-Requested-With, Content-Type, Authorization, Idempotency-Key",
        }, sample
    assert snapshot() == ([], [])


def test_answers_carry_the_allow_origin_header(people):
    def allow_origin(event) -> str | None:
        return answer(dr_app, event).headers.get("Access-Control-Allow-Origin")

    assert allow_origin(load_event("demand_response/list_offers.json", bearer=people["carlab"].token)) == "*"
    assert (
        allow_origin(load_event("demand_response/post_offer.json", bearer=people["carlab"].token, raw_body="{")) == "*"
    )
    assert allow_origin(load_event("demand_response/results_by_date.json")) == "*"
