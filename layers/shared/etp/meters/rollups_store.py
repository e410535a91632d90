"""DynamoDB storage of the energy rollups (etp.meters.rollups). Imported on first use.

One item per user and local day: hash key `user_id`, range key `day` (`YYYY-MM-DD`, local), and one
attribute per hour-bucket that has ever been computed, `h00`..`h24`: a string of each type's kW x s
as an exact fraction `n/d` and its sample count (`Demand=n/d*4;PV=...`). A bucket is always written
whole (SET of its recomputed value), so a write is idempotent and an overlapping write of the same
bucket from the same readings is harmless.
A chart is one Query of seven days; a summary or a table page's counts, one GetItem.

The rollups of readings stored before rollups existed come from the migration
`0002_readings_rollups` (`etp-admin migrate`, run by `make run` and after every deployment).
"""

from datetime import date
from typing import Any

from pynamodb.attributes import UnicodeAttribute

from etp.dynamo import TableModel, table_meta
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


class DynamoRollups:
    def set_buckets(self, user_id: str, day: date, cells: rollups.Cells) -> None:
        """Write these buckets of a day (each whole); the day's other buckets stay as they are."""
        if not cells:
            return
        names = {f"#b{bucket}": _bucket_name(bucket) for bucket in cells}
        values = {f":b{bucket}": _encode(cell) for bucket, cell in cells.items()}
        _client().update_item(
            TableName=_name(),
            Key=_key(user_id, day.isoformat()),
            UpdateExpression="SET " + ", ".join(f"#b{bucket} = :b{bucket}" for bucket in sorted(cells)),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def put_day(self, user_id: str, day: date, cells: rollups.Cells) -> None:
        """Replace a whole day's rollup."""
        item = _key(user_id, day.isoformat()) | {_bucket_name(b): _encode(c) for b, c in cells.items()}
        _client().put_item(TableName=_name(), Item=item)

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
