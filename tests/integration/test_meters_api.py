"""GET /amis, GET /address and the daily address job, in-process against moto."""

import json
from datetime import UTC, date, datetime

import pytest
from aws_fixtures import IOTA_SEED, platform_key_pair
from botocore.exceptions import ClientError
from helpers import ROOT, FakeLambdaContext, call, load_event, load_function, login_bearer, present

from etp.accounts import service as accounts
from etp.accounts.store import DynamoUserStore
from etp.clock import utcnow
from etp.meters import registry as meters
from etp.meters import store
from etp.meters.store import AddressModel, AddressRecord, DynamoAddressBook, DynamoMeterStore, MeterModel

meters_function = load_function("meters")
# a meter's address is of the UTC day: the wall clock stands still (conftest's FROZEN_AT)
pytestmark = pytest.mark.usefixtures("frozen_clock")
addresses_function = load_function("addresses")
PASSWORD = "energy-demo"


@pytest.fixture
def fleet(aws):
    """Carlab with two meters, NCKU with one; returns {name: (meter, token)}."""
    users = DynamoUserStore()
    for account, aggregator in (("Carlab_BEMS", False), ("NCKU_BEMS", False), ("Aggregator", True)):
        accounts.create_account(users, None, accounts.NewAccount(account, account, PASSWORD, aggregator), utcnow())
    public_pem = platform_key_pair()[1]  # any RSA-2048 public key will do for registration
    made = {}
    for name, account in (("carlab-1", "Carlab_BEMS"), ("carlab-2", "Carlab_BEMS"), ("ncku-1", "NCKU_BEMS")):
        user = present(users.get(account))
        made[name] = meters.register(
            DynamoMeterStore(),
            user_id=user.id,
            account=account,
            name=name,
            description=f"{name} meter",
            public_key_pem=public_pem,
            now_iso="2026-11-25T00:00:00Z",
        )
    return made


def test_amis_lists_only_the_callers_meters(fleet):
    status, body = call(meters_function, load_event("meters/amis.json", bearer=login_bearer("Carlab_BEMS")))
    assert status == 200
    assert sorted(m["name"] for m in body) == ["carlab-1", "carlab-2"]
    assert set(body[0]) == {"id", "name", "description"}
    status, body = call(meters_function, load_event("meters/amis.json", bearer=login_bearer("Aggregator")))
    assert (status, body) == (200, [])


def test_amis_needs_a_user_bearer_not_a_meter_token(fleet):
    _, token = fleet["carlab-1"]
    for credential in (None, token, "garbage"):
        assert call(meters_function, load_event("meters/amis.json", bearer=credential))[0] == 401


def test_address_answers_the_meters_address_of_today_and_records_it(fleet):
    meter, token = fleet["ncku-1"]
    status, body = call(meters_function, load_event("meters/address.json", bearer=token))
    today = utcnow().date()
    assert status == 200
    assert body == {"address": meters.daily_address(IOTA_SEED, meter.id, today)}
    assert call(meters_function, load_event("meters/address.json", bearer=token)) == (200, body)
    recorded = DynamoAddressBook().of_day(today.isoformat())
    assert [(r.address, r.meter_id, r.account) for r in recorded] == [(body["address"], meter.id, "NCKU_BEMS")]


def test_every_meter_has_its_own_address(fleet):
    answers = {
        call(meters_function, load_event("meters/address.json", bearer=t))[1]["address"] for _, t in fleet.values()
    }
    assert len(answers) == 3


def test_address_refuses_unknown_forged_user_and_inactive_credentials(fleet):
    meter, token = fleet["carlab-1"]
    forged = f"{meter.id}.{'A' * 43}"
    user_bearer = login_bearer("Carlab_BEMS")
    for credential in (None, "", "garbage", forged, "00000000-0000-0000-0000-000000000000.x", user_bearer):
        assert call(meters_function, load_event("meters/address.json", bearer=credential)) == (
            401,
            {"error": "Unauthorized access"},
        )
    MeterModel(meter.id).update(actions=[MeterModel.active.set(False)])
    assert call(meters_function, load_event("meters/address.json", bearer=token))[0] == 401
    assert DynamoAddressBook().of_day(utcnow().date().isoformat()) == []


def test_the_daily_job_records_every_active_meters_address_idempotently(fleet):
    event = json.loads((ROOT / "events/addresses/explicit_day.json").read_text())
    result = addresses_function.lambda_handler(event, FakeLambdaContext())
    assert result == {"status": "ok", "day": "2026-11-26", "meters": 3}
    assert addresses_function.lambda_handler(event, FakeLambdaContext()) == result
    recorded = DynamoAddressBook().of_day("2026-11-26")
    assert sorted(r.address for r in recorded) == sorted(
        meters.daily_address(IOTA_SEED, m.id, date(2026, 11, 26)) for m, _ in fleet.values()
    )
    assert DynamoAddressBook().of_day("2026-11-25") == []


def test_the_daily_job_records_only_the_active_meters_with_their_owners(fleet):
    (off, _), (carlab, _), (ncku, _) = fleet["carlab-2"], fleet["carlab-1"], fleet["ncku-1"]
    MeterModel(off.id).update(actions=[MeterModel.active.set(False)])
    result = addresses_function.lambda_handler({"now": "2026-11-26T00:00:00Z"}, FakeLambdaContext())
    assert result["meters"] == 2
    recorded = DynamoAddressBook().of_day("2026-11-26")
    assert sorted((r.meter_id, r.user_id, r.account, r.address) for r in recorded) == sorted(
        (m.id, m.user_id, m.account, meters.daily_address(IOTA_SEED, m.id, date(2026, 11, 26))) for m in (carlab, ncku)
    )


def test_a_meter_stored_without_the_active_flag_counts_as_active(fleet):
    meter, _ = fleet["ncku-1"]
    MeterModel(meter.id).update(actions=[MeterModel.active.remove()])
    assert "active" not in MeterModel._get_connection().get_item(meter.id)["Item"]
    owners = DynamoMeterStore().active_owners()
    assert sorted(o.meter_id for o in owners) == sorted(m.id for m, _ in fleet.values())


def requests_sent(model, action) -> list[tuple[str, dict]]:
    """(operation, parameters) of each request `model`'s client sends while `action` runs."""
    sent: list[tuple[str, dict]] = []

    def note(params, model, **_):
        sent.append((model.name, params))

    events = model._get_connection().connection.client.meta.events
    events.register("provide-client-params.dynamodb", note)
    try:
        action()
    finally:
        events.unregister("provide-client-params.dynamodb", note)
    return sent


def queried_indexes(action) -> list[str | None]:
    """The IndexName of each Query the meters table's client sends while `action` runs."""
    return [params.get("IndexName") for name, params in requests_sent(MeterModel, action) if name == "Query"]


def test_the_daily_job_reads_the_meters_from_the_narrow_owners_index(fleet):
    owners = []
    assert queried_indexes(lambda: owners.extend(DynamoMeterStore().active_owners())) == ["owners"]
    assert sorted((o.meter_id, o.user_id, o.account) for o in owners) == sorted(
        (m.id, m.user_id, m.account) for m, _ in fleet.values()
    )


def test_the_daily_job_reads_by_kind_while_a_deploy_has_not_built_the_owners_index(fleet, monkeypatch, caplog):
    monkeypatch.setattr(store, "OWNERS_INDEX", "owners-not-built")  # DynamoDB: "does not have the index"
    owners = []
    assert queried_indexes(lambda: owners.extend(DynamoMeterStore().active_owners())) == [
        "owners-not-built",
        "by-kind",
    ]
    assert sorted(o.meter_id for o in owners) == sorted(m.id for m, _ in fleet.values())
    assert "owners-not-built not readable yet" in caplog.text


def test_another_error_of_the_owners_query_is_not_taken_for_a_missing_index(fleet, monkeypatch):
    monkeypatch.setattr(MeterModel.Meta, "table_name", "no-such-table")
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        DynamoMeterStore().active_owners()


def test_the_address_book_records_many_in_batches_and_again_alike(aws):
    book = DynamoAddressBook()
    entries = [
        AddressRecord(f"{n:081d}".replace("0", "A"), f"m-{n:02d}", "2026-11-26", f"u-{n % 7}", f"BEMS-{n % 7}")
        for n in range(60)  # more than two BatchWriteItems of 25
    ]
    recorded = []
    calls = [name for name, _ in requests_sent(AddressModel, lambda: recorded.append(book.record_many(entries)))]
    assert recorded == [60]
    assert calls == ["BatchWriteItem"] * 3, "25 addresses a request, none alone"
    assert book.record_many(entries) == 60
    assert sorted(book.of_day("2026-11-26"), key=lambda r: r.meter_id) == entries
    assert book.record_many([]) == 0


def test_the_daily_job_uses_the_utc_day_of_an_explicit_local_time(fleet):
    # 07:30 in Taipei on the 26th is 23:30 UTC on the 25th
    result = addresses_function.lambda_handler({"now": "2026-11-26T07:30:00"}, FakeLambdaContext())
    assert result["day"] == "2026-11-25"


@pytest.mark.parametrize("bad", [{"now": "tomorrow"}, {"now": 5}, {"now": "2026-13-01T00:00:00Z"}])
def test_the_daily_job_rejects_a_bad_explicit_time_and_writes_nothing(fleet, bad):
    result = addresses_function.lambda_handler(bad, FakeLambdaContext())
    assert result["status"] == "rejected" and "now" in result["error"]
    assert DynamoAddressBook().of_day(datetime.now(UTC).date().isoformat()) == []
