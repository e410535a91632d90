"""The tracker function in-process: moto storage, a real dev node on loopback, events/tracker/*.json."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from aws_fixtures import IOTA_SEED, platform_key_pair
from helpers import ROOT, FakeLambdaContext, load_function, present
from tangle import demand_payload

from etp.accounts import service as accounts
from etp.accounts.store import DynamoUserStore
from etp.clock import utcnow
from etp.iota.node import NodeClient, NodeUnavailable
from etp.iota.send import send
from etp.meters import envelope, readings
from etp.meters import registry as meters
from etp.meters.readings_items import LedgerModel, ReadingModel
from etp.meters.readings_store import DynamoReadingStore
from etp.meters.store import AddressRecord, DynamoAddressBook, DynamoMeterStore

# the scheduled event runs as of now: the wall clock stands still (conftest's FROZEN_AT)
pytestmark = pytest.mark.usefixtures("frozen_clock")
tracker_function = load_function("tracker")
EXPLICIT = json.loads((ROOT / "events/tracker/explicit_time.json").read_text())  # 2026-11-25T10:05:00Z
TAKEN = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.fixture
def meter(aws, node):
    users = DynamoUserStore()
    accounts.create_account(users, None, accounts.NewAccount("Carlab_BEMS", "Carlab", "energy-demo"), utcnow())
    user = present(users.get("Carlab_BEMS"))
    private_pem, public_pem = envelope.new_key_pair()
    registered, _ = meters.register(
        DynamoMeterStore(),
        user_id=user.id,
        account=user.account,
        name="main",
        description="",
        public_key_pem=public_pem,
        now_iso="2026-11-25T00:00:00Z",
    )
    address = meters.daily_address(IOTA_SEED, registered.id, date(2026, 11, 25))
    DynamoAddressBook().record(
        AddressRecord(address=address, meter_id=registered.id, day="2026-11-25", user_id=user.id, account=user.account)
    )
    return {"user": user, "private": private_pem, "address": address, "id": registered.id}


def publish(node, meter, payload: bytes) -> str:
    message = envelope.seal(payload, platform_public_pem=platform_key_pair()[1], meter_private_pem=meter["private"])
    return send(NodeClient(node.url), meter["address"], readings.tag_for("Demand", TAKEN), message)


def test_the_job_stores_new_readings_once(node, meter):
    good = publish(node, meter, demand_payload(TAKEN))
    bad = publish(node, meter, demand_payload(TAKEN, account="NCKU_BEMS"))
    first = tracker_function.lambda_handler(EXPLICIT, FakeLambdaContext())
    assert first["status"] == "ok" and first["now"] == "2026-11-25T10:05:00Z"
    assert (first["stored"], first["rejected"]) == (1, {"field is not the meter owner's account": 1})
    second = tracker_function.lambda_handler(EXPLICIT, FakeLambdaContext())
    assert (second["stored"], second["fetched"], second["discovered"]) == (0, 0, 2)
    stored = DynamoReadingStore().between(
        meter["user"].id, datetime(2026, 11, 25, tzinfo=UTC), datetime(2026, 11, 26, tzinfo=UTC)
    )
    assert [r.tx_hash for r in stored] == [good]
    assert LedgerModel.get(f"tx#{bad}").reason == "field is not the meter owner's account"


def test_a_completed_run_notes_itself_for_the_status_and_a_failed_one_does_not(node, meter, environment):
    from etp.meters import last_run

    assert last_run.last() is None
    publish(node, meter, demand_payload(TAKEN))
    answer = tracker_function.lambda_handler(EXPLICIT, FakeLambdaContext())
    noted = present(last_run.last())
    assert noted["started_at"] == "2030-01-01T01:10:00Z" and noted["duration_ms"] >= 0, (
        "the wall clock, not the run as of"
    )
    assert {k: noted[k] for k in ("now", "stored", "rejected", "fetched")} == {
        k: answer[k] for k in ("now", "stored", "rejected", "fetched")
    }
    environment(IOTA_NODE_URL="http://127.0.0.1:9")
    with pytest.raises(NodeUnavailable):
        tracker_function.lambda_handler({"now": "2026-11-25T10:10:00Z"}, FakeLambdaContext())
    assert last_run.last() == noted, "a failed run leaves the last completed one"


def test_a_node_that_is_down_fails_the_run_and_writes_nothing(meter, node, environment):
    publish(node, meter, demand_payload(TAKEN))
    environment(IOTA_NODE_URL="http://127.0.0.1:9")
    with pytest.raises(NodeUnavailable):
        tracker_function.lambda_handler(EXPLICIT, FakeLambdaContext())
    assert list(LedgerModel.scan()) == []
    environment(IOTA_NODE_URL=node.url)
    assert tracker_function.lambda_handler(EXPLICIT, FakeLambdaContext())["stored"] == 1, "the next run catches up"


@pytest.mark.parametrize("event", [{"now": "soon"}, {"now": 12}])
def test_a_bad_explicit_time_is_rejected_cleanly(meter, event):
    result = tracker_function.lambda_handler(event, FakeLambdaContext())
    assert result["status"] == "rejected" and "now" in result["error"]


def test_the_scheduled_event_runs_as_of_now(meter):
    event = json.loads((ROOT / "events/tracker/scheduled.json").read_text())
    result = tracker_function.lambda_handler(event, FakeLambdaContext())
    ran_at = datetime.strptime(result["now"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert result["status"] == "ok" and abs((utcnow() - ran_at).total_seconds()) < 60


# --- plausibility (issue #12): each reproduction is rejected, counted, ledgered, and nothing is stored ---
SCHEDULED = json.loads((ROOT / "events/tracker/scheduled.json").read_text())  # as of now: conftest's FROZEN_AT


def publish_today(node, meter, at: datetime, payload: bytes | None = None) -> str:
    """A Demand reading taken `at`, sent to the meter's address of the frozen clock's UTC day."""
    day = utcnow().date()
    address = meters.daily_address(IOTA_SEED, meter["id"], day)
    DynamoAddressBook().record(
        AddressRecord(
            address=address, meter_id=meter["id"], day=day.isoformat(), user_id=meter["user"].id, account="Carlab_BEMS"
        )
    )
    payload = payload or demand_payload(at)
    message = envelope.seal(payload, platform_public_pem=platform_key_pair()[1], meter_private_pem=meter["private"])
    return send(NodeClient(node.url), address, readings.tag_for("Demand", at), message)


def test_a_reading_dated_16_hours_ahead_is_rejected_and_nothing_is_stored(node, meter):
    tx_hash = publish_today(node, meter, utcnow() + timedelta(hours=16))
    result = tracker_function.lambda_handler(SCHEDULED, FakeLambdaContext())
    assert (result["stored"], result["rejected"]) == (0, {"from the future": 1})
    assert list(ReadingModel.scan()) == [], "nothing stored, so nothing for /power_info or settlement"
    assert LedgerModel.get(f"tx#{tx_hash}").reason == "from the future"


def test_a_99999_kw_reading_on_a_building_meter_is_rejected_and_nothing_is_stored(node, meter):
    earlier = utcnow() - timedelta(minutes=5)
    tx_hash = publish_today(node, meter, earlier, demand_payload(earlier, grid=99_999.0))
    result = tracker_function.lambda_handler(SCHEDULED, FakeLambdaContext())
    assert (result["stored"], result["rejected"]) == (0, {"above rated capacity": 1})
    assert list(ReadingModel.scan()) == []
    assert LedgerModel.get(f"tx#{tx_hash}").reason == "above rated capacity"


def test_the_meters_registered_rating_and_the_configured_allowance_apply(node, meter, environment):
    DynamoMeterStore().set_rated_kw(meter["id"], 20.0)
    earlier, later = utcnow() - timedelta(minutes=5), utcnow() + timedelta(minutes=2)
    within = publish_today(node, meter, earlier, demand_payload(earlier, grid=20.0, building=20.0))
    above = publish_today(node, meter, earlier, demand_payload(earlier, grid=20.5))
    ahead = publish_today(node, meter, later)
    environment(READING_CLOCK_SKEW_SECONDS="60")
    result = tracker_function.lambda_handler(SCHEDULED, FakeLambdaContext())
    assert (result["stored"], result["rejected"]) == (1, {"above rated capacity": 1, "from the future": 1})
    assert [r.tx_hash for r in ReadingModel.scan()] == [within]
    assert (LedgerModel.get(f"tx#{above}").reason, LedgerModel.get(f"tx#{ahead}").reason) == (
        "above rated capacity",
        "from the future",
    )


def test_the_runs_hints_let_an_idle_run_skip_the_ledger(node, meter):
    from etp.meters.discovery_store import DynamoHints, HintModel, _shard

    tx_hash = publish(node, meter, demand_payload(TAKEN))
    assert tracker_function.lambda_handler(EXPLICIT, FakeLambdaContext())["stored"] == 1
    hints = DynamoHints()
    assert hints.seen_hashes([("2026-11-25", 10)]) == {("2026-11-25", 10): {tx_hash[:27]}}
    assert hints.seen_hours(["2026-11-25"]) == {"2026-11-25": {meter["address"][:12] + "K"}}
    assert HintModel.get(f"seen#2026-11-25#10#{_shard(tx_hash)}").items == {tx_hash[:27]}
    assert HintModel.get(f"hours#2026-11-25#10#{meter['address'][0]}").items == {meter["address"][:12] + "K"}
    LedgerModel.get(f"tx#{tx_hash}").delete()  # the hints alone now say it was processed
    second = tracker_function.lambda_handler(EXPLICIT, FakeLambdaContext())
    assert (second["discovered"], second["fetched"], second["stored"]) == (1, 0, 0)
    # ADD to a set: a second run adding the same elements changes nothing
    hints.add_hashes("2026-11-25", 10, [tx_hash])
    assert HintModel.get(f"seen#2026-11-25#10#{_shard(tx_hash)}").items == {tx_hash[:27]}


def test_the_hours_hints_are_one_item_per_hour_and_tryte_and_the_day_items_of_old_are_migrated(aws):
    from etp.meters.discovery import address_hour
    from etp.meters.discovery_store import DynamoHints, HintModel
    from etp_admin.migrations import m0005_hints_hour_shards

    hints, first, second = DynamoHints(), "A" * 81, "B" * 81
    hints.add_hours("2026-11-25", [address_hour(first, 0), address_hour(first, 23), address_hour(second, 23)])
    assert HintModel.get("hours#2026-11-25#00#A").items == {address_hour(first, 0)}
    assert HintModel.get("hours#2026-11-25#23#A").items == {address_hour(first, 23)}
    assert HintModel.get("hours#2026-11-25#23#B").items == {address_hour(second, 23)}
    old = {address_hour("C" * 81, 5), address_hour(first, 23)}
    HintModel("hours#2026-11-25#C", items=old).save()  # as an older version wrote it: a day's item
    ours = {address_hour(first, 0), address_hour(first, 23), address_hour(second, 23)}
    assert hints.seen_hours(["2026-11-25"]) == {"2026-11-25": ours}, "the day items are not read any more"

    assert m0005_hints_hour_shards.run(True, lambda: None) == {"day_items_moved": 1, "hours": 2}
    assert HintModel.get("hours#2026-11-25#C").items == old, "a dry run writes nothing"
    assert m0005_hints_hour_shards.run(False, lambda: None) == {"day_items_moved": 1, "hours": 2}
    assert hints.seen_hours(["2026-11-25", "2026-11-26"]) == {
        "2026-11-25": ours | {address_hour("C" * 81, 5)},
        "2026-11-26": set(),
    }
    assert HintModel.count("hours#2026-11-25#C") == 0, "the day item goes"
    assert HintModel.get("hours#2026-11-25#05#C").expires_at is not None, "the hour item expires as the others"
    assert m0005_hints_hour_shards.run(False, lambda: None) == {"day_items_moved": 0, "hours": 0}, "idempotent"


def test_a_run_beyond_its_share_invokes_one_shard_each_and_a_shard_stores_its_users(node, meter, monkeypatch):
    from dataclasses import replace

    good = publish(node, meter, demand_payload(TAKEN))
    built = tracker_function.build_tracker
    monkeypatch.setattr(tracker_function, "build_tracker", lambda: replace(built(), addresses_per_invocation=0))
    invoked: list[tuple[str, int]] = []
    monkeypatch.setattr(tracker_function, "fan_out", lambda now, n: invoked.append((now, n)))
    planned = tracker_function.lambda_handler(EXPLICIT, FakeLambdaContext())
    assert (planned["status"], planned["shards"], planned["stored"]) == ("ok", 1, 0)
    assert invoked == [("2026-11-25T10:05:00Z", 1)]
    shard = tracker_function.lambda_handler({"now": invoked[0][0], "shard": 0, "shards": 1}, FakeLambdaContext())
    assert (shard["addresses"], shard["stored"]) == (1, 1)
    assert LedgerModel.get(f"tx#{good}").status == "stored"


@pytest.mark.parametrize("event", [{"shard": 2, "shards": 2}, {"shard": "0", "shards": 1}, {"shard": 0}])
def test_a_bad_shard_is_rejected_cleanly(meter, event):
    result = tracker_function.lambda_handler(event, FakeLambdaContext())
    assert result["status"] == "rejected" and "shard" in result["error"]


def test_the_fan_out_invokes_this_function_asynchronously_once_per_shard(monkeypatch):
    sent: list[dict] = []

    class Client:
        def invoke(self, **request):
            sent.append(request)

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "stack-TrackerFunction-x")
    monkeypatch.setattr("boto3.client", lambda service: Client())
    tracker_function.fan_out("2026-11-25T10:05:00Z", 2)
    assert [(r["FunctionName"], r["InvocationType"], json.loads(r["Payload"])) for r in sent] == [
        ("stack-TrackerFunction-x", "Event", {"now": "2026-11-25T10:05:00Z", "shard": i, "shards": 2}) for i in range(2)
    ]


def test_the_meters_of_a_run_are_read_in_batches_and_the_unknown_left_out(meter):
    found = DynamoMeterStore().get_many([meter["id"], "no-such-meter", meter["id"]])
    assert list(found) == [meter["id"]] and found[meter["id"]].public_key_pem.startswith("-----BEGIN PUBLIC KEY")
    assert DynamoMeterStore().get_many([]) == {}
