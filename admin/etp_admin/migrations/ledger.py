"""The migrations' ledger: an item `migration#<id>` in the ledger table (beside the tracker's `tx#`
markers and hints) for each migration run: when, by whom, and what it did (its result, as JSON)."""

import json

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from etp.dynamo import TableModel, conditional, table_meta

PREFIX = "migration#"


class MigrationModel(TableModel):
    Meta = table_meta("ledger_table")

    key = UnicodeAttribute(hash_key=True)
    at = UnicodeAttribute()
    by = UnicodeAttribute(null=True)
    description = UnicodeAttribute(null=True)
    result = UnicodeAttribute(null=True)  # JSON
    seconds = NumberAttribute(null=True)


def records(ids: list[str]) -> dict[str, dict]:
    """The ledger's record of each of these migrations that has run (consistent reads)."""
    found = {}
    for item in MigrationModel.batch_get([PREFIX + i for i in ids], consistent_read=True):
        found[item.key.removeprefix(PREFIX)] = {
            "at": item.at,
            "by": item.by,
            "result": json.loads(item.result or "{}"),
            "seconds": None if item.seconds is None else float(item.seconds),
        }
    return found


def record(migration_id: str, *, at: str, by: str, description: str, result: dict, seconds: float) -> bool:
    """Record a migration as run; False when another run recorded it first (that record stays)."""
    item = MigrationModel(
        PREFIX + migration_id,
        at=at,
        by=by or None,
        description=description,
        result=json.dumps(result, sort_keys=True),
        seconds=seconds,
    )
    return conditional(lambda: item.save(condition=MigrationModel.key.does_not_exist()))
