"""DynamoDB storage of the energy rollups (etp.meters.rollups). Imported on first use.

One item per user and local day: hash key `user_id`, range key `day` (`YYYY-MM-DD`, local), and one
attribute per hour-bucket that has ever been computed, `h00`..`h24`: a string of each type's kW x s
as an exact fraction `n/d` and its sample count (`Demand=n/d*4;PV=...`). An item is always written
whole, each bucket its recomputed value, so a write is idempotent.
A chart is one Query of seven days; a summary or a table page's counts, one GetItem.

The tracker's side (etp.meters.rollups.refresh): each series' tail is an attribute `s:<meter>:<type>`
(`<epoch seconds>,<power>`; no power for a horizon), and `rv` a token every write replaces and is
conditional on, so a concurrent writer's update is never lost. A run's user-days are read with
BatchGetItem (100 keys a request, consistent) and put whole again, conditional on the token, 100 a
TransactWriteItems (BatchWriteItem takes no conditions), from a bounded pool of I/O threads. A
rollup kept before tails (no `rv`) is rebuilt whole from its day's readings when its day next changes.

The rollups of readings stored before rollups existed come from the migration
`0002_readings_rollups` (`etp-admin migrate`, run by `make run` and after every deployment).
"""

import uuid
from datetime import UTC, date, datetime
from typing import Any

from botocore.exceptions import ClientError
from pynamodb.attributes import UnicodeAttribute

from etp.dynamo import TableModel, table_meta
from etp.io_pool import io_map, parts
from etp.meters import rollups


class RollupModel(TableModel):
    """The keys only: the bucket attributes are dynamic and written through the low-level client."""

    Meta = table_meta("rollups_table")

    user_id = UnicodeAttribute(hash_key=True)
    day = UnicodeAttribute(range_key=True)


def _client() -> Any:
    return RollupModel._get_connection().connection.client


def _name() -> str:
    return RollupModel.Meta.table_name


def _bucket_name(bucket: int) -> str:
    return f"h{bucket:02d}"


def _encode(cell: rollups.Cell) -> dict:
    """One string a bucket, `<type>=<kW x s, n/d>*<count>;...`: a chart decodes 7 x 25 strings, not
    the ~3,500 nested values that maps of lists would make (most of a chart's cost was decoding)."""
    return {
        "S": ";".join(f"{kind}={rollups.encode_energy(kws)}*{count}" for kind, (kws, count) in sorted(cell.items()))
    }


def _decode_cell(text: str) -> rollups.Cell:
    cell: rollups.Cell = {}
    for part in filter(None, text.split(";")):
        kind, _, rest = part.partition("=")
        energy, _, count = rest.rpartition("*")
        cell[kind] = (rollups.decode_energy(energy), int(count))
    return cell


def _decode(item: dict) -> rollups.Cells:
    return {
        int(name[1:]): _decode_cell(value["S"])
        for name, value in item.items()
        if len(name) == 3 and name[0] == "h" and name[1:].isdigit()
    }


def _key(user_id: str, day: str) -> dict:
    return {"user_id": {"S": user_id}, "day": {"S": day}}


TAIL = "s:"


def _tail_name(series: rollups.Series) -> str:
    return f"{TAIL}{series[0]}:{series[1]}"


def _encode_tail(tail: rollups.Tail) -> dict:
    power = "" if tail.power_kw is None else repr(tail.power_kw)
    return {"S": f"{int(tail.at.timestamp())},{power}"}


def _decode_tails(item: dict) -> rollups.Tails:
    tails: rollups.Tails = {}
    for name, value in item.items():
        if name.startswith(TAIL):
            meter_id, _, kind = name[len(TAIL) :].rpartition(":")
            at, _, power = value["S"].partition(",")
            tails[(meter_id, kind)] = rollups.Tail(
                datetime.fromtimestamp(int(at), UTC), float(power) if power else None
            )
    return tails


def _kept(item: dict) -> rollups.Kept:
    return rollups.Kept(_decode(item), _decode_tails(item), item.get("rv", {}).get("S", ""))


def _item(user_id: str, day: date, cells: rollups.Cells, tails: rollups.Tails) -> dict:
    """A user-day's whole rollup item, with a new token."""
    item = _key(user_id, day.isoformat()) | {_bucket_name(bucket): _encode(cell) for bucket, cell in cells.items()}
    item |= {_tail_name(series): _encode_tail(tail) for series, tail in tails.items()}
    item["rv"] = {"S": uuid.uuid4().hex}
    return item


def _put(user_id: str, day: date, kept: rollups.Kept, cells: rollups.Cells, tails: rollups.Tails) -> dict:
    """The day's item as `kept` with these buckets and tails set, put whole, conditional on the token
    `kept` was read with (None: no item then; empty: an item without one). Whole rather than an
    UpdateItem of the changed attributes: DynamoDB bills a write by the whole item either way, and
    the emulator answers a put faster than an update expression (docs/testing.md)."""
    values: dict = {}
    if kept.token is None:
        condition = "attribute_not_exists(#rv) AND attribute_not_exists(user_id)"
    elif kept.token:
        condition, values[":rv"] = "#rv = :rv", {"S": kept.token}
    else:
        condition = "attribute_not_exists(#rv)"
    return {
        "TableName": _name(),
        "Item": _item(user_id, day, kept.cells | cells, kept.tails | tails),
        "ConditionExpression": condition,
        "ExpressionAttributeNames": {"#rv": "rv"},
        **({"ExpressionAttributeValues": values} if values else {}),
    }


def _batch_get(client: Any, keys: list[tuple[str, date]]) -> dict[tuple[str, date], rollups.Kept]:
    found: dict[tuple[str, date], rollups.Kept] = {}
    pending: dict[str, Any] = {_name(): {"Keys": [_key(u, d.isoformat()) for u, d in keys], "ConsistentRead": True}}
    while pending:
        answer = client.batch_get_item(RequestItems=pending)
        for item in answer["Responses"].get(_name(), []):
            found[(item["user_id"]["S"], date.fromisoformat(item["day"]["S"]))] = _kept(item)
        pending = answer.get("UnprocessedKeys") or {}
    return found


TRANSACTION = 100  # TransactWriteItems' limit of actions (and no two on one item: one user-day each)


def _saved(client: Any, puts: list[dict]) -> bool:
    """Write these conditional puts in one TransactWriteItems; False when it was cancelled (a
    condition failed, or a concurrent transaction): nothing of it was written."""
    try:
        client.transact_write_items(TransactItems=[{"Put": put} for put in puts])
    except ClientError as error:
        if error.response["Error"]["Code"] == "TransactionCanceledException":
            return False
        raise
    return True


class DynamoRollups:
    def load_many(self, keys: list[tuple[str, date]]) -> dict[tuple[str, date], rollups.Kept]:
        """These user-days' rollups as kept (consistent reads, 100 keys a BatchGetItem, from the bounded
        pool of I/O threads); absent: no item."""
        client = _client()
        answers = io_map(lambda chunk: _batch_get(client, chunk), parts(list(dict.fromkeys(keys)), 100))
        return {key: kept for answer in answers for key, kept in answer.items()}

    def save_many(self, writes: list[tuple[str, date, rollups.Kept, rollups.Cells, rollups.Tails]]) -> list:
        """Each user-day's buckets and tails set on its kept rollup, put whole and conditional on its token,
        100 a TransactWriteItems (BatchWriteItem takes no conditions), the transactions sent by a bounded
        pool of I/O threads; the (user, day)s of a cancelled transaction (a concurrent writer's change to
        one of them) are returned to be redone."""
        changing = [write for write in writes if write[3] or write[4]]
        chunks = parts(changing, TRANSACTION)
        client = _client()
        saved = io_map(lambda chunk: _saved(client, [_put(*write) for write in chunk]), chunks)
        return [(write[0], write[1]) for chunk, ok in zip(chunks, saved, strict=True) if not ok for write in chunk]

    def put_day(self, user_id: str, day: date, cells: rollups.Cells, tails: rollups.Tails) -> None:
        """Replace a whole day's rollup."""
        _client().put_item(TableName=_name(), Item=_item(user_id, day, cells, tails))

    def day(self, user_id: str, day: date) -> rollups.Cells | None:
        found = _client().get_item(TableName=_name(), Key=_key(user_id, day.isoformat()), ConsistentRead=False)
        return _decode(found["Item"]) if "Item" in found else None

    def days(self, user_id: str, first: date, last: date) -> dict[date, rollups.Cells]:
        """The rollups of the days first..last that have one."""
        found: dict[date, rollups.Cells] = {}
        request: dict[str, Any] = {
            "TableName": _name(),
            "KeyConditionExpression": "user_id = :u AND #d BETWEEN :first AND :last",
            "ExpressionAttributeNames": {"#d": "day"},
            "ExpressionAttributeValues": {
                ":u": {"S": user_id},
                ":first": {"S": first.isoformat()},
                ":last": {"S": last.isoformat()},
            },
        }
        while True:
            answer = _client().query(**request)
            for item in answer["Items"]:
                found[date.fromisoformat(item["day"]["S"])] = _decode(item)
            if "LastEvaluatedKey" not in answer:
                return found
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
