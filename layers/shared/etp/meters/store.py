"""DynamoDB storage of meters and of their daily addresses (PynamoDB). Imported on first use.

Meters: hash key `id`; GSI `by-user` (a user's meters, for GET /amis); GSI `by-kind` (every
meter, for the operator CLI); GSI `owners` (every meter's id, owner and state, for the daily address
job: an entry of ~90 bytes where a meter with its key's PEM is ~700, so a 1 MB page of the Query
holds 8 times the meters) — Queries, never Scans. A meter stored before meters had a rated
capacity reads as DEFAULT_RATED_KW (the attribute's default).
Addresses: hash key `address` (the tracker maps an address back to its meter); GSI `by-day`
(every meter's address of a UTC day, for the tracker's one discovery call).
"""

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from botocore.exceptions import ClientError
from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from etp.dynamo import TableModel, conditional, table_meta
from etp.io_pool import io_map, parts
from etp.meters.registry import DEFAULT_RATED_KW, Meter

OWNERS_INDEX = "owners"  # kind -> id, projecting only user_id, account and active
logger = logging.getLogger(__name__)


class MeterExists(Exception):
    pass


class _ByUser(GlobalSecondaryIndex["MeterModel"]):
    class Meta:
        index_name = "by-user"
        projection = AllProjection()

    user_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)


class _ByKind(GlobalSecondaryIndex["MeterModel"]):
    class Meta:
        index_name = "by-kind"
        projection = AllProjection()

    kind = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)


class MeterModel(TableModel):
    Meta = table_meta("meters_table")

    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="meter")
    user_id = UnicodeAttribute()
    account = UnicodeAttribute()
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    public_key_pem = UnicodeAttribute()
    token_hash = UnicodeAttribute()
    created_at = UnicodeAttribute()
    active = BooleanAttribute(default=True)
    rated_kw = NumberAttribute(default=DEFAULT_RATED_KW)  # also filled in when an item lacks it

    by_user = _ByUser()
    by_kind = _ByKind()


@dataclass(frozen=True)
class MeterOwner:
    meter_id: str
    user_id: str
    account: str


def _to_meter(item: MeterModel) -> Meter:
    return Meter(
        id=item.id,
        user_id=item.user_id,
        account=item.account,
        name=item.name,
        description=item.description or "",
        public_key_pem=item.public_key_pem,
        token_hash=item.token_hash,
        created_at=item.created_at,
        active=bool(item.active),
        rated_kw=float(item.rated_kw),
    )


class DynamoMeterStore:
    def get(self, meter_id: str) -> Meter | None:
        try:
            return _to_meter(MeterModel.get(meter_id, consistent_read=True))
        except DoesNotExist:
            return None

    def get_many(self, meter_ids: list[str]) -> dict[str, Meter]:
        """The meters of these ids that exist (consistent BatchGetItems of 100 keys): the tracker looks up
        every meter with something new in a run, so one request per 100, not one each."""
        return {item.id: _to_meter(item) for item in MeterModel.batch_get(meter_ids, consistent_read=True)}

    def create(self, meter: Meter) -> None:
        item = MeterModel(
            id=meter.id,
            user_id=meter.user_id,
            account=meter.account,
            name=meter.name,
            description=meter.description,
            public_key_pem=meter.public_key_pem,
            token_hash=meter.token_hash,
            created_at=meter.created_at,
            active=meter.active,
            rated_kw=meter.rated_kw,
        )
        if not conditional(lambda: item.save(condition=MeterModel.id.does_not_exist())):
            raise MeterExists(meter.id)

    def set_rated_kw(self, meter_id: str, rated_kw: float) -> bool:
        """Change a meter's rated capacity (checked by the caller); False when there is no such meter."""
        item = MeterModel(meter_id)
        return conditional(
            lambda: item.update(actions=[MeterModel.rated_kw.set(rated_kw)], condition=MeterModel.id.exists())
        )

    def of_user(self, user_id: str) -> list[Meter]:
        return [_to_meter(item) for item in MeterModel.by_user.query(user_id)]

    def all_active(self) -> list[Meter]:
        return [m for m in (_to_meter(item) for item in MeterModel.by_kind.query("meter")) if m.active]

    def active_owners(self) -> list[MeterOwner]:
        """Every active meter's id and owner: a Query of the narrow index `owners` (`by-kind` while a
        deploy still builds that index), through the low-level client as DynamoAddressBook.of_day."""
        try:
            return _active_owners(OWNERS_INDEX)
        except ClientError as error:
            if not _index_unreadable(error, OWNERS_INDEX):
                raise
        logger.warning("index %s not readable yet: reading the meters from by-kind", OWNERS_INDEX)
        return _active_owners("by-kind")


def _active_owners(index: str) -> list[MeterOwner]:
    request: dict = {
        "TableName": MeterModel.Meta.table_name,
        "IndexName": index,
        "KeyConditionExpression": "#kind = :meter",
        "ProjectionExpression": "#id, #user, #account, #active",
        "ExpressionAttributeNames": {
            "#kind": "kind",
            "#id": "id",
            "#user": "user_id",
            "#account": "account",
            "#active": "active",
        },
        "ExpressionAttributeValues": {":meter": {"S": "meter"}},
    }
    return [
        MeterOwner(item["id"]["S"], item["user_id"]["S"], item["account"]["S"])
        for item in _queried(MeterModel, request)
        if item.get("active", {"BOOL": True})["BOOL"]  # an item without it is active (the default)
    ]


def _index_unreadable(error: ClientError, index: str) -> bool:
    """The answer to a Query of an index that a deploy has not created yet ("The table does not have the
    specified index", moto: ResourceNotFoundException "Invalid index") or is still filling ("Cannot
    read from backfilling global secondary index"): an error naming the index."""
    answer = error.response["Error"]
    unreadable = answer.get("Code") in ("ValidationException", "ResourceNotFoundException")
    return unreadable and index in answer.get("Message", "")


def _queried(model: type[TableModel], request: dict) -> Iterator[dict]:
    """The raw items of a Query, page after page."""
    client = model._get_connection().connection.client
    while True:
        answer = client.query(**request)
        yield from answer["Items"]
        if "LastEvaluatedKey" not in answer:
            return
        request = {**request, "ExclusiveStartKey": answer["LastEvaluatedKey"]}


@dataclass(frozen=True)
class AddressRecord:
    address: str
    meter_id: str
    day: str  # UTC date, YYYY-MM-DD
    user_id: str
    account: str


class _ByDay(GlobalSecondaryIndex["AddressModel"]):
    class Meta:
        index_name = "by-day"
        projection = AllProjection()

    day = UnicodeAttribute(hash_key=True)
    meter_id = UnicodeAttribute(range_key=True)


class AddressModel(TableModel):
    Meta = table_meta("addresses_table")

    address = UnicodeAttribute(hash_key=True)
    meter_id = UnicodeAttribute()
    day = UnicodeAttribute()
    user_id = UnicodeAttribute()
    account = UnicodeAttribute()

    by_day = _ByDay()


ADDRESS_BATCH = 25  # BatchWriteItem's limit of items a request


def _address_item(entry: AddressRecord) -> AddressModel:
    return AddressModel(
        address=entry.address, meter_id=entry.meter_id, day=entry.day, user_id=entry.user_id, account=entry.account
    )


class DynamoAddressBook:
    def record(self, entry: AddressRecord) -> None:
        """Idempotent: an address is derived deterministically, so re-recording writes the same item."""
        _address_item(entry).save()

    def record_many(self, entries: list[AddressRecord]) -> int:
        """Record them all (the daily job's fleet), idempotently like record(): BatchWriteItem, 25 items a
        request, the requests sent from the bounded I/O pool; PynamoDB resends what DynamoDB leaves
        unprocessed and raises when it keeps doing so. How many were recorded."""

        def write(part: list[AddressRecord]) -> int:
            with AddressModel.batch_write() as batch:
                for entry in part:
                    batch.save(_address_item(entry))
            return len(part)

        return sum(io_map(write, parts(entries, ADDRESS_BATCH)))

    def of_day(self, day: str) -> list[AddressRecord]:
        """The day's addresses: a Query of `by-day` through the low-level client (every run reads the
        whole fleet's; building a model per item cost more than the requests)."""
        request: dict = {
            "TableName": AddressModel.Meta.table_name,
            "IndexName": "by-day",
            "KeyConditionExpression": "#d = :d",
            "ExpressionAttributeNames": {"#d": "day"},
            "ExpressionAttributeValues": {":d": {"S": day}},
        }
        return [
            AddressRecord(**{name: item[name]["S"] for name in ("address", "meter_id", "day", "user_id", "account")})
            for item in _queried(AddressModel, request)
        ]
