"""Bids over HTTP on the deployed stack (through the proxy)."""

from datetime import UTC, datetime, time, timedelta

import requests
from stack_client import admin, bearer, events, eventually, receive_json, run_admin

from etp.clock import local_zone, utcnow
from etp.market import slots


def test_bids_are_submitted_listed_edited_and_withdrawn(deployment):
    api, zone = deployment.api, local_zone()
    start = slots.next_open_slot(utcnow(), zone) + timedelta(hours=3)
    offer: dict[str, str | float] = {
        "bid_type": "sell",
        "start_time": slots.format_dh(start, zone),
        "end_time": slots.format_dh(start + timedelta(hours=1), zone),
        "value": 5,
        "price": 2.5,
    }
    carlab = bearer(api, "Carlab_BEMS")
    created = requests.post(f"{api}/bidsubmit", json=offer, headers=carlab, timeout=30)
    assert created.status_code == 200 and created.json()["message"] == "Accept"
    bid_id = created.json()["id"]
    page: dict[str, str | int] = {"per_page": 10, "page": 1, "bid_type": "sell"}
    listed = requests.get(f"{api}/bidsubmit", params=page, headers=carlab, timeout=30).json()
    assert [(b["id"], b["volume"], b["price"]) for b in listed["data"]] == [(bid_id, 5.0, 2.5)]
    refused = requests.post(f"{api}/bidsubmit", json={**offer, "bid_type": "buy"}, headers=carlab, timeout=30)
    assert refused.status_code == 400 and refused.json()["message"] == "Reject"
    edited = requests.put(f"{api}/bidsubmit", json={**offer, "id": bid_id, "value": 7}, headers=carlab, timeout=30)
    assert edited.json() == {"message": "Accept"}
    stranger = requests.delete(f"{api}/bidsubmit", json={"id": bid_id}, headers=bearer(api, "NCKU_BEMS"), timeout=30)
    assert stranger.status_code == 400 and stranger.json()["description"] == "Invalid ID"
    withdrawn = requests.delete(f"{api}/bidsubmit", json={"id": bid_id}, headers=carlab, timeout=30)
    assert withdrawn.json() == {"message": "Accept"}
    status = requests.get(f"{api}/bidstatus", headers=carlab, timeout=30)
    assert status.status_code == 200 and set(status.json()) == {"average_price", "average_volume", "participants"}


def slot_event(websocket, start, step: str) -> dict:
    """The data of the next `transaction` event about the slot starting at `start` (the stack's own
    schedules may push events of other slots meanwhile), whose frame's `id` names the step and slot."""
    import json

    local = start.astimezone(local_zone())
    while True:
        message = receive_json(websocket)
        data = json.loads(message["data"])
        if message["event"] == "transaction" and (data["date"], data["time"]) == (
            local.strftime("%Y/%m/%d"),
            local.strftime("%H:%M"),
        ):
            assert message["id"] == f"{step}#{start.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
            return data


def publish_readings(deployment, account: str, slot_start, grid_kw: float) -> None:
    """The account's meter publishes Demand readings every 15 minutes over the slot, to its address of
    the slot's UTC day (computed from the seed as an operator can; GET /address serves today only)."""
    import json

    from etp.iota.node import NodeClient
    from etp.iota.send import send
    from etp.meters import envelope, meter_client, readings
    from etp.meters import registry as meters

    credentials = json.loads((deployment.meters / f"{account}.json").read_text())
    secrets = deployment.stack.client("secretsmanager")
    seed = secrets.get_secret_value(SecretId=deployment.stack.outputs["IotaSeedSecretArn"])["SecretString"]
    platform = json.loads(
        secrets.get_secret_value(SecretId=deployment.stack.outputs["PlatformKeySecretArn"])["SecretString"]
    )["public_key_pem"]
    address = meters.daily_address(seed, credentials["meter_id"], slot_start.astimezone(UTC).date())
    for quarter in range(5):
        taken_at = slot_start + timedelta(minutes=15 * quarter)
        payload = meter_client.payload_for("Demand", account, {"grid": grid_kw}, taken_at, local_zone())
        message = envelope.seal(payload, platform_public_pem=platform, meter_private_pem=credentials["private_key_pem"])
        send(NodeClient(deployment.node), address, readings.tag_for("Demand", taken_at), message)


def test_a_slot_is_bid_sealed_cleared_delivered_and_settled_from_metered_data(deployment):
    import json

    api, zone = deployment.api, local_zone()
    # three days ahead: beyond the next day, which the bid simulator (test_simulators_e2e, and the stack's
    # own schedule) fills with bids, so this test's early seal does not close a slot the simulator bids for
    start = datetime.combine(utcnow().astimezone(zone).date() + timedelta(days=3), time(5), tzinfo=zone)
    window = {"start_time": slots.format_dh(start, zone), "end_time": slots.format_dh(start + timedelta(hours=1), zone)}
    offers = {"SGESC_C_BEMS": ("sell", 10, 2.0), "NCKU_BEMS": ("buy", 6, 4.0), "ABRI_BEMS": ("buy", 6, 3.0)}
    for account, (side, kwh, price) in offers.items():
        answer = requests.post(
            f"{api}/bidsubmit",
            json={"bid_type": side, **window, "value": kwh, "price": price},
            headers=bearer(api, account),
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
    slot_arg = start.replace(tzinfo=None).isoformat(timespec="minutes")
    # hours before the slot's gate: the operator says so explicitly, and why
    refused = run_admin(deployment, "jobs", "run", "seal", "--slot", slot_arg, "--early")
    assert refused.returncode == 1 and "--early needs --reason" in refused.stderr, "no early seal without a reason"
    reason = "e2e: the market's tour, days ahead"
    admin(deployment, "jobs", "run", "seal", "--slot", slot_arg, "--early", "--reason", reason)
    cleared = json.loads(admin(deployment, "jobs", "run", "clear", "--slot", slot_arg, "--early", "--reason", reason))
    assert cleared["results"][0]["volume_wh"] == 10_000 and cleared["results"][0]["price_milli"] == 2_500
    assert "Q* = 10 kWh   p* = 2.5 NT$/kWh" in admin(deployment, "market", "show", "--slot", slot_arg)

    rows = requests.get(f"{api}/matchresult", headers=bearer(api, "SGESC_C_BEMS"), timeout=30).json()
    mine = sorted(
        (r["counterpart"]["name"], r["wins"]["value"], r["wins"]["price"], r["status"])
        for r in rows
        if r["time"].startswith(f"{start:%H}:00")
    )
    assert mine == [("ABRI_BEMS", 4.0, 2.5, "已得標"), ("NCKU_BEMS", 6.0, 2.5, "已得標")]
    admin(deployment, "jobs", "run", "audit")  # the sealed and cleared slot go on the tangle

    def slot_hashes():  # a scheduled run may be the one publishing: wait for it
        rows = requests.get(f"{api}/matchresult", headers=bearer(api, "SGESC_C_BEMS"), timeout=30).json()
        found = {r["transaction_hash"] for r in rows if r["time"].startswith(f"{start:%H}:00")}
        return found if None not in found else None

    (cleared_tx,) = eventually(slot_hashes)
    entry = requests.get(f"{deployment.node}/explorer/transaction/{cleared_tx}", timeout=30).json()
    assert entry["tag"].startswith("ETP9CLEARING9RESULT") and json.loads(entry["message"])["volume_wh"] == 10_000
    for kind in ("sealed-bids", "clearing"):
        shown = json.loads(admin(deployment, "audit", "show", kind, slot_arg, "--node", deployment.node))
        assert shown["verified"], shown
        on_tangle = json.loads(shown["on_tangle"]["message"])  # names who sealed and cleared early, and why
        assert on_tangle["early"] is True and on_tangle["reason"] == reason and on_tangle["operator"].startswith("arn:")
    buys: dict[str, str | int] = {"per_page": 10, "page": 1, "bid_type": "buy"}
    assert (
        requests.get(
            f"{api}/bidsubmit",
            params=buys,
            headers=bearer(api, "ABRI_BEMS"),
            timeout=30,
        ).json()["totalCount"]
        >= 1
    )

    listener = bearer(api, "NCKU_BEMS")["Authorization"].removeprefix("Bearer ")
    with events(deployment, listener) as websocket:  # a browser listening for the slot's events
        admin(deployment, "jobs", "run", "deliver", "--slot", slot_arg)
        delivering = slot_event(websocket, start, "deliver")
        assert sorted((t["seller"], t["buyer"], t["achievement"]) for t in delivering["transactions"]) == [
            ("SGESC_C_BEMS", "ABRI_BEMS", 0),
            ("SGESC_C_BEMS", "NCKU_BEMS", 0),
        ]
        admin(deployment, "jobs", "run", "addresses", "--now", start.astimezone(UTC).isoformat())  # the slot's UTC day
        publish_readings(deployment, "SGESC_C_BEMS", start, -20.0)  # exports 20 kWh of its 10
        publish_readings(deployment, "NCKU_BEMS", start, 6.0)  # imports 6 kWh of its 6
        publish_readings(deployment, "ABRI_BEMS", start, 2.0)  # imports 2 kWh of its 4
        after = (start + timedelta(hours=1, minutes=5)).astimezone(UTC).isoformat()
        tracked = json.loads(admin(deployment, "jobs", "run", "tracker", "--now", after))
        assert tracked["stored"] == 15, tracked
        settled = json.loads(admin(deployment, "jobs", "run", "settle", "--slot", slot_arg, "--now", after))
        assert settled["results"][0]["changed"] == 6
        settlement = slot_event(websocket, start, "settle")
    assert sorted((t["seller"], t["buyer"], t["achievement"]) for t in settlement["transactions"]) == [
        ("SGESC_C_BEMS", "ABRI_BEMS", 0.5),
        ("SGESC_C_BEMS", "NCKU_BEMS", 1.0),
    ]
    rows = requests.get(f"{api}/matchresult", headers=bearer(api, "ABRI_BEMS"), timeout=30).json()
    row = next(r for r in rows if r["time"].startswith(f"{start:%H}:00"))
    assert (row["status"], row["achievement"], row["settlement"]) == ("已結算", 0.5, 5.0)
    home = requests.get(f"{api}/homepage", headers=bearer(api, "ABRI_BEMS"), timeout=30).json()
    assert {"price": 2.5, "volume": 4.0, "settlement": 5.0}.items() <= home["results"][0].items()

    # ABRI's :15 reading was wrong: quarantined, the settled slot is settled again for ABRI and SGESC_C
    day = start.date().isoformat()
    listed = json.loads(admin(deployment, "readings", "list", "--account", "ABRI_BEMS", "--day", day, "--json"))
    wrong = next(r for r in listed if r["local_time"].endswith(f"{start:%H}:15:00"))
    done = run_admin(deployment, "readings", "quarantine", wrong["id"], "--reason", "CT fault")
    assert done.returncode == 0 and "corrected: 2 pairs re-settled, NT$ 10 -> NT$ 7.5" in done.stderr, done.stderr
    assert json.loads(done.stdout)["settlement_corrections"][0]["audit_record"].endswith(f"#{wrong['id']}#1")
    rows = requests.get(f"{api}/matchresult", headers=bearer(api, "ABRI_BEMS"), timeout=30).json()
    row = next(r for r in rows if r["time"].startswith(f"{start:%H}:00"))
    assert (row["achievement"], row["settlement"]) == (0.375, 3.75), "1.5 of its 4 kWh"
