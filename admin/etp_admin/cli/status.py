"""etp-admin status: the platform on one screen.

- the tracker's last completed run (etp.meters.last_run, which the tracker function notes): when, as
  of when, readings stored and rejected, how long it took;
- the stack's CloudWatch alarms in ALARM (the alarms of its CloudFormation resources);
- the depth of the stack's dead-letter queues (its SQS queues named *DeadLetter*: the scheduled jobs'
  invocations that failed after their retries), ApproximateNumberOfMessages;
- the audit outbox's backlog (records put and not yet published to the tangle, and the oldest);
- the last, current and next market slots: their state as the slot's marker (sealed, cleared) and its
  bids' statuses (delivering, settling, settled) hold it, with the bids by status.

A part the stack cannot answer (an emulator without CloudWatch, say) shows its error; the rest stands.
"""

import argparse
from collections import Counter
from collections.abc import Callable
from datetime import datetime

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import PynamoDBException

from etp.clock import from_utc_iso, local_zone, to_utc_iso, utcnow
from etp.market import bids, slots
from etp.market.slots import SLOT, SlotState
from etp_admin.cli.common import JSON, Command, print_json
from etp_admin.stack import Stack

ALARM_BATCH = 100  # alarm names per DescribeAlarms


def status(stack: Stack, args: argparse.Namespace) -> None:
    """The tracker's last run, alarms in ALARM, dead-letter queues, the audit backlog and the slots."""
    now = utcnow()
    resources = _guarded(lambda: _resources(stack))
    document = {
        "at": to_utc_iso(now),
        "tracker": _guarded(lambda: _tracker(now)),
        "alarms": _guarded(lambda: _alarms(stack, _of_type(resources, "AWS::CloudWatch::Alarm"))),
        "dead_letter_queues": _guarded(lambda: _queues(stack, _of_type(resources, "AWS::SQS::Queue"))),
        "audit_outbox": _guarded(_outbox),
        "slots": _guarded(lambda: _slots(now)),
    }
    if args.json:
        print_json(document)
        return
    for line in render(document):
        print(line)


class _Failed(Exception):
    """A part of the status that could not be read: it shows as {"error": ...}."""


def _guarded(part: Callable[[], object]) -> object:
    try:
        return part()
    except (BotoCoreError, ClientError, PynamoDBException, _Failed) as error:  # the rest still shows
        return {"error": f"{type(error).__name__}: {error}"}


# --- the parts --------------------------------------------------------------------------------------


def _resources(stack: Stack) -> list[dict]:
    pages = stack.client("cloudformation").get_paginator("list_stack_resources").paginate(StackName=stack.name)
    return [resource for page in pages for resource in page["StackResourceSummaries"]]


def _of_type(resources: object, kind: str) -> dict[str, str]:
    """Logical id -> physical id of the stack's resources of one type."""
    if not isinstance(resources, list):
        raise _Failed(f"the stack's resources: {resources}")
    return {r["LogicalResourceId"]: r.get("PhysicalResourceId", "") for r in resources if r["ResourceType"] == kind}


def _tracker(now: datetime) -> dict | None:
    from etp.meters import last_run

    run = last_run.last()
    if run is None:
        return None
    return {**run, "ago_seconds": int((now - from_utc_iso(run["started_at"])).total_seconds())}


def _alarms(stack: Stack, alarms: dict[str, str]) -> list[dict]:
    """The stack's alarms in ALARM: logical id, name, since when and why."""
    logical = {name: resource for resource, name in alarms.items()}
    names, found = sorted(logical), []
    cloudwatch = stack.client("cloudwatch")
    for start in range(0, len(names), ALARM_BATCH):
        answer = cloudwatch.describe_alarms(AlarmNames=names[start : start + ALARM_BATCH], StateValue="ALARM")
        found += answer.get("MetricAlarms", []) + answer.get("CompositeAlarms", [])
    return [
        {
            "alarm": logical.get(alarm["AlarmName"], alarm["AlarmName"]),
            "name": alarm["AlarmName"],
            "since": to_utc_iso(alarm["StateUpdatedTimestamp"]) if "StateUpdatedTimestamp" in alarm else None,
            "reason": alarm.get("StateReason", ""),
        }
        for alarm in found
        if alarm.get("StateValue") == "ALARM"  # AWS filters by both; some emulators by the names only
    ]


def _queues(stack: Stack, queues: dict[str, str]) -> list[dict]:
    """Each dead-letter queue's messages (its logical id has `DeadLetter`); the physical id is its URL."""
    sqs = stack.client("sqs")
    depths = []
    for resource, physical in sorted(queues.items()):
        if "DeadLetter" not in resource:
            continue
        url = physical if physical.startswith("http") else sqs.get_queue_url(QueueName=physical)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        depths.append({"queue": resource, "url": url, "messages": int(attributes["Attributes"][_DEPTH])})
    return depths


_DEPTH = "ApproximateNumberOfMessages"


def _outbox() -> dict:
    from etp.audit.store import DynamoOutbox

    pending, oldest = DynamoOutbox().backlog()
    return {"pending": pending, "oldest": oldest}


def _slots(now: datetime) -> list[dict]:
    from etp.market.store import DynamoBidStore

    store, hour = DynamoBidStore(), now.replace(minute=0, second=0, microsecond=0)
    chosen = (("last", hour - SLOT), ("current", hour), ("next", hour + SLOT))
    return [_slot(which, slot, store.slot_state(slot), store.of_slot(slot), now) for which, slot in chosen]


def _slot(which: str, slot: datetime, state: SlotState, book: list, now: datetime) -> dict:
    statuses = Counter(bid.status for bid in book)
    return {
        "which": which,
        "slot": to_utc_iso(slot),
        "local_slot": f"{slot.astimezone(local_zone()):%Y/%m/%d %H:00}",
        "state": slot_state(state, set(statuses), open_now=slots.is_open(slot, now)),
        "gate_closure": to_utc_iso(slots.gate_closure(slot)),
        "bids": len(book),
        "bids_counted": state.bids,
        "by_status": {status: statuses[status] for status in bids.STATUSES if statuses[status]},
        "sealed_at": to_utc_iso(state.sealed_at) if state.sealed_at else None,
        "early": state.early,
        "cleared_at": to_utc_iso(state.cleared_at) if state.cleared_at else None,
    }


def slot_state(state: SlotState, statuses: set[str], *, open_now: bool) -> str:
    """open | not sealed (its gate passed, no seal yet) | sealed | cleared | delivering | settling |
    settled: sealed and cleared from the slot's marker, the rest from its won bids' statuses."""
    if state.cleared_at is None:
        if state.sealed_at is not None:
            return "sealed"
        return "open" if open_now else "not sealed"
    won = statuses & set(bids.WON_STATUSES)
    if won == {bids.SETTLED}:
        return "settled"
    for status, name in ((bids.SETTLING, "settling"), (bids.DELIVERING, "delivering")):
        if status in won:
            return name
    return "cleared"


# --- the screen -------------------------------------------------------------------------------------


def render(document: dict) -> list[str]:
    """The status as text, one part after the other."""
    return [
        f"status at {document['at']}",
        *_tracker_lines(document["tracker"]),
        *_list_lines(
            "alarms in ALARM", document["alarms"], lambda a: f"{a['alarm']} since {a['since']}: {a['reason']}"
        ),
        *_list_lines("dead-letter queues", document["dead_letter_queues"], lambda q: f"{q['queue']}: {q['messages']}"),
        *_outbox_lines(document["audit_outbox"]),
        *_list_lines("slots", document["slots"], _slot_line),
    ]


def _tracker_lines(run: dict | None) -> list[str]:
    if run is None:
        return ["tracker: no completed run recorded yet"]
    if "error" in run:
        return [f"tracker: {run['error']}"]
    rejected = sum(run.get("rejected", {}).values())
    return [
        f"tracker: last run {run['started_at']} ({run['ago_seconds']} s ago, as of {run.get('now')}): "
        f"stored {run.get('stored', 0)}, rejected {rejected}, {run['duration_ms'] / 1000:g} s"
    ]


def _list_lines(title: str, items: object, line: Callable[[dict], str]) -> list[str]:
    if not isinstance(items, list):  # {"error": ...}
        return [f"{title}: {items}"]
    return [f"{title}: {len(items) or 'none'}", *(f"  {line(item)}" for item in items)]


def _outbox_lines(outbox: dict) -> list[str]:
    if "error" in outbox:
        return [f"audit outbox: {outbox['error']}"]
    oldest = f", oldest put {outbox['oldest']}" if outbox["oldest"] else ""
    return [f"audit outbox: {outbox['pending']} records waiting{oldest}"]


def _slot_line(slot: dict) -> str:
    counts = ", ".join(f"{status} {n}" for status, n in slot["by_status"].items())
    return f"{slot['which']:<7} {slot['local_slot']} (local)  {slot['state']:<10} {slot['bids']} bids" + (
        f" ({counts})" if counts else ""
    )


COMMAND = Command(
    "status",
    status,
    "one screen: the tracker's last run, alarms in ALARM, dead-letter queues, audit backlog, last/next slots",
    (JSON,),
)
