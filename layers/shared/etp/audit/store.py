"""The audit trail's outbox in DynamoDB (PynamoDB), and where published hashes go. Imported on first use.

Table `AUDIT_TABLE`, hash key `key` (`<kind>#<subject>`, see etp.audit.trail). A record is put once
(conditional on its key being new) with its exact message, and `pending` set; sparse GSI
`pending` (`pending`, `created_at`) lists what is still to publish, oldest first. Publishing
claims a record for LEASE, writes the hash onto the records it covers (a DR offer's `tx_hash`,
or every bid of the slot's `seal_tx` / `clear_tx`), then notes `tx_hash` and drops `pending`.
"""

from datetime import datetime, timedelta

from pynamodb.attributes import UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.transactions import TransactWrite

from etp.audit import trail as audit
from etp.clock import from_utc_iso, to_utc_iso
from etp.dynamo import TableModel, conditional, table_meta

PENDING = "pending"
LEASE = timedelta(minutes=2)


class _Pending(GlobalSecondaryIndex["AuditModel"]):
    class Meta:
        index_name = "pending"
        projection = AllProjection()

    pending = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class AuditModel(TableModel):
    Meta = table_meta("audit_table")

    key = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    subject = UnicodeAttribute()
    tag = UnicodeAttribute()
    message = UnicodeAttribute()
    created_at = UnicodeAttribute()
    pending = UnicodeAttribute(null=True)
    claimed_until = UnicodeAttribute(null=True)
    tx_hash = UnicodeAttribute(null=True)
    published_at = UnicodeAttribute(null=True)

    pending_index = _Pending()


def _item(record: audit.Record, now: datetime) -> AuditModel:
    return AuditModel(
        key=record.key,
        kind=record.kind,
        subject=record.subject,
        tag=record.tag,
        message=record.message().decode(),
        created_at=to_utc_iso(now),
        pending=PENDING,
    )


def add_to_outbox(transaction: TransactWrite, record: audit.Record, now: datetime) -> None:
    transaction.save(_item(record, now), condition=AuditModel.key.does_not_exist())


class DynamoOutbox:
    def put(self, record: audit.Record, now: datetime) -> bool:
        """Put a record once; False when it is there already (a re-run)."""
        return conditional(lambda: _item(record, now).save(condition=AuditModel.key.does_not_exist()))

    def get(self, key: str) -> AuditModel | None:
        try:
            return AuditModel.get(key, consistent_read=True)
        except DoesNotExist:
            return None

    def pending(self, limit: int) -> list[audit.Pending]:
        return [
            audit.Pending(key=i.key, tag=i.tag, message=i.message.encode(), created_at=from_utc_iso(i.created_at))
            for i in AuditModel.pending_index.query(PENDING, limit=limit)
        ]

    def backlog(self) -> tuple[int, str | None]:
        """How many records wait to be published, and when the oldest was put (None: none waits); from
        the eventually consistent `pending` index, so a record just put or published may show late."""
        oldest = next(iter(AuditModel.pending_index.query(PENDING, limit=1)), None)
        return AuditModel.pending_index.count(PENDING), None if oldest is None else oldest.created_at

    def claim(self, key: str, now: datetime) -> bool:
        return conditional(
            lambda: AuditModel(key).update(
                actions=[AuditModel.claimed_until.set(to_utc_iso(now + LEASE))],
                condition=(AuditModel.pending == PENDING)
                & (AuditModel.claimed_until.does_not_exist() | (AuditModel.claimed_until < to_utc_iso(now))),
            )
        )

    def release(self, key: str) -> None:
        AuditModel(key).update(actions=[AuditModel.claimed_until.remove()], condition=AuditModel.key.exists())

    def mark_published(self, key: str, tx_hash: str, now: datetime) -> None:
        AuditModel(key).update(
            actions=[
                AuditModel.tx_hash.set(tx_hash),
                AuditModel.published_at.set(to_utc_iso(now)),
                AuditModel.pending.remove(),
                AuditModel.claimed_until.remove(),
            ],
            condition=AuditModel.key.exists(),
        )
