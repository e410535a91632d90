"""The floor of a tracker run (bench/tracker_scale.py): what no run storing the same readings can go
below on the same machine and emulator. Two parts, measured in the same process as the run:

- RSA: the bare decrypt + verify of the run's envelopes, nothing else, on all the cores (the
  same worker processes over pipes the run uses, etp.meters.openers);
- batched writes: exactly the items the busy run wrote, read back from its tables after it (the
  readings, their `tx#` ledger markers, the user-days' rollups, the hint items it updated), put
  again into empty copies of those tables with BatchWriteItem (25 items a request, unprocessed
  items resent, no conditions, no transactions) from the same bounded pool of I/O threads (4).
"""

import os
import time
import uuid

from etp.io_pool import IO_THREADS, io_map, parts

BATCH = 25  # BatchWriteItem's limit


def bare_rsa(jobs, platform_private: str) -> float:
    from etp.meters import openers

    started = time.perf_counter()
    openers.open_all(jobs, platform_private)
    return time.perf_counter() - started


def _scan(client, table: str, keep=lambda item: True) -> list[dict]:
    items, request = [], {"TableName": table}
    while True:
        answer = client.scan(**request)
        items += [item for item in answer["Items"] if keep(item)]
        if "LastEvaluatedKey" not in answer:
            return items
        request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def run_items(client, hint_keys: set[str]) -> dict[str, list[dict]]:
    """What the busy run wrote, by table variable: its readings, markers, rollups and hint items."""
    ledger = os.environ["LEDGER_TABLE"]
    hints = [
        client.get_item(TableName=ledger, Key={"key": {"S": key}}, ConsistentRead=True)["Item"]
        for key in sorted(hint_keys)
    ]
    return {
        "READINGS_TABLE": _scan(client, os.environ["READINGS_TABLE"]),
        "LEDGER_TABLE": _scan(client, ledger, lambda item: item["key"]["S"].startswith("tx#")) + hints,
        "ROLLUPS_TABLE": _scan(client, os.environ["ROLLUPS_TABLE"]),
    }


def _copy_table(client, variable: str) -> str:
    name = os.environ[variable]
    table = client.describe_table(TableName=name)["Table"]
    copy = f"floor-{uuid.uuid4().hex[:6]}"
    spec = {
        "TableName": copy,
        "AttributeDefinitions": table["AttributeDefinitions"],
        "KeySchema": table["KeySchema"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    indexes = [
        {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
        for i in table.get("GlobalSecondaryIndexes", [])
    ]
    if indexes:
        spec["GlobalSecondaryIndexes"] = indexes
    client.create_table(**spec)
    return copy


def _put(client, table: str, items: list[dict]) -> None:
    pending = {table: [{"PutRequest": {"Item": item}} for item in items]}
    while pending:
        pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def batched_writes(client, items: dict[str, list[dict]]) -> tuple[float, int, int]:
    """(seconds, items, BatchWriteItem requests) to put these items into empty copies of their tables."""
    batches = []
    for variable, table_items in items.items():
        copy = _copy_table(client, variable)
        batches += [(copy, part) for part in parts(table_items, BATCH)]
    started = time.perf_counter()
    io_map(lambda batch: _put(client, *batch), batches)  # as the stores send theirs
    return time.perf_counter() - started, sum(len(v) for v in items.values()), len(batches)


def report(
    busy_wall: float, idle_wall: float, rsa: float, writes: tuple[float, int, int], items: dict[str, list[dict]]
) -> None:
    seconds, count, requests = writes
    counts = ", ".join(f"{variable.split('_')[0].lower()} {len(v):,}" for variable, v in items.items())
    print(
        f"the floor's parts: RSA-2048 decrypt + verify of the run's envelopes on {_cores()} cores {rsa:.2f} s; "
        f"the {count:,} items the run wrote ({counts}) in {requests:,} BatchWriteItem requests, "
        f"{IO_THREADS} at a time: {seconds:.2f} s"
    )
    floor = rsa + seconds
    # The idle run is what every run pays before it has anything new (the address book, discovery, the
    # hints); what the busy run takes beyond it is the work its new readings bring.
    print(
        f"the busy run beyond the idle run: {busy_wall - idle_wall:.2f} s = {(busy_wall - idle_wall) / floor:.2f}x"
        f" the floor; the idle run {idle_wall:.2f} s = {idle_wall / floor:.2f}x"
    )
    print(
        f"floor: busy run {busy_wall:.2f} s = {busy_wall / floor:.2f}x the floor "
        f"({floor:.2f} s: RSA {rsa:.2f} s + batched writes {seconds:.2f} s)"
    )


def _cores() -> int:
    from etp.meters import openers

    return openers.cores()
