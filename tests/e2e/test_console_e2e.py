"""The operator's console against the deployed stack: etp-admin status, market show --plot, readings chart.

The pictures' lines come back in the commands' --json (`plot.lines`), so the test holds them against
the book (in merit.merit_order's order, Q* and p* as cleared) and the stored readings."""

import json
from datetime import datetime, time, timedelta

import requests
from stack_client import PASSWORD, admin, bearer

from etp.clock import local_zone, utcnow
from etp.market import slots
from etp_admin import plots

PNG = b"\x89PNG\r\n\x1a\n"


def test_status_shows_one_screen(deployment):
    admin(deployment, "jobs", "run", "tracker")  # a run completes: status shows it
    stack = deployment.stack
    alarm = stack.client("cloudformation").describe_stack_resource(
        StackName=stack.name, LogicalResourceId="SlotIndexLagAlarm"
    )["StackResourceDetail"]["PhysicalResourceId"]
    cloudwatch = stack.client("cloudwatch")
    cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="e2e: the console")
    try:
        shown = json.loads(admin(deployment, "status", "--json"))
    finally:
        cloudwatch.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="e2e: done")
    assert shown["tracker"] is not None and "error" not in shown["tracker"], shown["tracker"]
    assert {"started_at", "duration_ms", "stored", "rejected"} <= set(shown["tracker"])
    assert [(a["alarm"], a["reason"]) for a in shown["alarms"]] == [("SlotIndexLagAlarm", "e2e: the console")]
    queues = shown["dead_letter_queues"]
    assert [q["queue"] for q in queues] == ["JobsDeadLetterQueue"] and queues[0]["messages"] >= 0, queues
    assert shown["audit_outbox"]["pending"] >= 0, shown["audit_outbox"]
    assert [s["which"] for s in shown["slots"]] == ["last", "current", "next"], shown["slots"]
    text = admin(deployment, "status")
    assert "tracker: last run" in text and "dead-letter queues: 1" in text and "audit outbox:" in text


def new_account(api: str, account: str) -> dict[str, str]:
    """A BEMS account the demo Aggregator creates for this test alone, logged in."""
    body = {"account": account, "username": account, "password": PASSWORD}
    created = requests.post(f"{api}/user", json=body, headers=bearer(api, "Aggregator"), timeout=30)
    assert created.status_code == 201, created.text
    return bearer(api, account)


def test_market_show_plot_draws_a_slot_with_bids(deployment, tmp_path):
    api, zone = deployment.api, local_zone()
    # four days ahead at 06:00 local: no other test's slot, and the simulator bids for the next day only
    start = datetime.combine(utcnow().astimezone(zone).date() + timedelta(days=4), time(6), tzinfo=zone)
    window = {"start_time": slots.format_dh(start, zone), "end_time": slots.format_dh(start + timedelta(hours=1), zone)}
    # accounts of its own: the demo accounts' lists and homepages belong to the other tests
    offers = {"Plot_S1_BEMS": ("sell", 8, 2.0), "Plot_S2_BEMS": ("sell", 4, 3.5), "Plot_B1_BEMS": ("buy", 6, 4.0)}
    offers |= {"Plot_B2_BEMS": ("buy", 5, 3.0)}
    for account, (side, kwh, price) in offers.items():
        answer = requests.post(
            f"{api}/bidsubmit",
            json={"bid_type": side, **window, "value": kwh, "price": price},
            headers=new_account(api, account),
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
    slot_arg = start.replace(tzinfo=None).isoformat(timespec="minutes")
    picture = tmp_path / "open.png"
    shown = json.loads(admin(deployment, "market", "show", "--slot", slot_arg, "--plot", str(picture), "--json"))
    assert picture.read_bytes().startswith(PNG)
    lines = shown["plot"]["lines"]
    assert lines["demand"] == {"x": [0.0, 6.0, 11.0], "y": [4.0, 3.0, 3.0]}, lines["demand"]
    assert lines["supply"] == {"x": [0.0, 8.0, 12.0], "y": [2.0, 3.5, 3.5]}, lines["supply"]
    assert lines["Q*"]["x"] == [8.0, 8.0] and lines["p*"]["y"] == [2.5, 2.5], "the auction as it would clear now"

    reason = "e2e: the console's picture"
    admin(deployment, "jobs", "run", "clear", "--slot", slot_arg, "--early", "--reason", reason)
    picture = tmp_path / "cleared.png"
    shown = json.loads(admin(deployment, "market", "show", "--slot", slot_arg, "--plot", str(picture), "--json"))
    assert picture.read_bytes().startswith(PNG)
    lines, cleared = shown["plot"]["lines"], shown["cleared"]
    assert (cleared["volume_kwh"], cleared["price"]) == (8, 2.5)
    assert lines["Q*"]["x"] == [cleared["volume_kwh"]] * 2 and lines["p*"]["y"] == [cleared["price"]] * 2
    buys = [b for b in shown["bids"] if b["side"] == "buy"]  # the book in merit order, as show lists it
    sells = [b for b in shown["bids"] if b["side"] == "sell"]
    for side, book in (("demand", buys), ("supply", sells)):
        x, y = plots.steps([plots.Step(b["volume_kwh"], b["price"]) for b in book])
        assert lines[side] == {"x": list(x), "y": list(y)}, side
    assert [name for name in lines if name.startswith("pair")] == [
        "pair 1: Plot_B1_BEMS <- Plot_S1_BEMS",
        "pair 2: Plot_B2_BEMS <- Plot_S1_BEMS",
    ]


def test_readings_chart_draws_the_days_power_by_type(deployment, tmp_path):
    credentials = deployment.meters / "NCKU_BEMS.json"
    admin(
        deployment,
        *("meters", "publish", "--credentials", str(credentials), "--api", deployment.api, "--node", deployment.node),
        *("--value", "grid=12.5", "--value", "pv=-3.25"),
    )
    admin(deployment, "jobs", "run", "tracker")
    day = utcnow().astimezone(local_zone()).date().isoformat()
    picture = tmp_path / "day.png"
    argv = ("--account", "NCKU_BEMS", "--day", day)
    shown = json.loads(admin(deployment, "readings", "chart", *argv, "--plot", str(picture), "--json"))
    assert picture.read_bytes().startswith(PNG)
    rows = json.loads(admin(deployment, "readings", "list", *argv, "--json"))
    expected: dict[str, list[tuple[float, float]]] = {}
    midnight = datetime.fromisoformat(day).replace(tzinfo=local_zone())
    for row in rows:
        if row["quarantined_at"]:
            continue
        hour = (datetime.fromisoformat(row["taken_at"].replace("Z", "+00:00")) - midnight).total_seconds() / 3600
        values = (
            row["values"] if row["data_type"] == "NetLoad" and row["values"] else {row["data_type"]: row["power_kw"]}
        )
        for label, kw in values.items():
            expected.setdefault(label, []).append((hour, kw))
    drawn = {label: list(zip(line["x"], line["y"], strict=True)) for label, line in shown["plot"]["lines"].items()}
    assert drawn == {label: sorted(points) for label, points in expected.items()}
    assert 12.5 in [kw for _, kw in drawn["grid"]] and -3.25 in [kw for _, kw in drawn["pv"]], drawn
