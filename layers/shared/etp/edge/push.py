"""WebSocket clients: their connections in DynamoDB, and pushing a message to all of them.

Table `CONNECTIONS_TABLE`, hash key `id`: `conn#<connection id>` for a connected client (who, since
when), `sent#<event id>` for an event's sending (see etp.market.events): `kind` `claimed` (with the
frame, the lease `claimed_until` and the attempts so far), then `sent` once it went out, or
`abandoned` when its last allowed attempt is under way. Both expire through the table's TTL
(`expires_at`): a connection after API Gateway's two-hour limit, a sending after a week. GSI `by-kind`
lists the connections, and the claimed sendings to re-send, with a Query. A connection that is gone
(410) when a message is posted is removed.
"""

import json
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from etp.accounts.users import User
from etp.clock import to_utc_iso, utcnow
from etp.dynamo import TableModel, aws_region, conditional, table_meta
from etp.settings import settings

CONNECTION_LIFETIME = timedelta(hours=2)  # API Gateway closes a WebSocket after two hours
SENT_MEMORY = timedelta(days=7)
SEND_LEASE = timedelta(minutes=5)  # a claimed frame is another run's to re-send after this (jobs time out at 120 s)
MAX_ATTEMPTS = 3  # sendings of one frame, the first included
CLAIMED, SENT, ABANDONED = "claimed", "sent", "abandoned"


class _ByKind(GlobalSecondaryIndex["ConnectionModel"]):
    class Meta:
        index_name = "by-kind"
        projection = AllProjection()

    kind = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)


class ConnectionModel(TableModel):
    Meta = table_meta("connections_table")

    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    user_id = UnicodeAttribute(null=True)
    account = UnicodeAttribute(null=True)
    at = UnicodeAttribute()
    expires_at = NumberAttribute()
    frame = UnicodeAttribute(null=True)  # a claimed event's frame (JSON), the same on every attempt
    claimed_until = UnicodeAttribute(null=True)
    attempts = NumberAttribute(null=True)

    by_kind = _ByKind()


class DynamoConnections:
    def add(self, connection_id: str, user: User, now: datetime) -> None:
        ConnectionModel(
            id=f"conn#{connection_id}",
            kind="connection",
            user_id=user.id,
            account=user.account,
            at=to_utc_iso(now),
            expires_at=int((now + CONNECTION_LIFETIME).timestamp()),
        ).save()

    def remove(self, connection_id: str) -> None:
        ConnectionModel(f"conn#{connection_id}").delete()  # a connection already gone is no error

    def connection_ids(self, now: datetime) -> list[str]:
        """The connections still open (the TTL removes expired items only eventually)."""
        return [
            item.id.removeprefix("conn#")
            for item in ConnectionModel.by_kind.query("connection")
            if item.expires_at > now.timestamp()
        ]

    def claim(self, key: str, frame: dict, now: datetime) -> dict | None:
        """Claim the sending of event `key` for SEND_LEASE: the frame to send (the first claim's), or None
        when it was sent, is held by another run, or had its MAX_ATTEMPTS (marked `abandoned` on the last)."""
        item = _sending(key)
        if item is not None and _held(item, now):
            return None
        attempts, kept = _earlier_claim(item, frame)
        claimed = ConnectionModel(
            id=f"sent#{key}",
            kind=CLAIMED if attempts + 1 < MAX_ATTEMPTS else ABANDONED,
            at=to_utc_iso(now),
            expires_at=int((now + SENT_MEMORY).timestamp()),
            frame=json.dumps(kept, ensure_ascii=False),
            claimed_until=to_utc_iso(now + SEND_LEASE),
            attempts=attempts + 1,
        )
        condition = (
            ConnectionModel.id.does_not_exist()
            if item is None
            else (ConnectionModel.kind == CLAIMED) & (ConnectionModel.attempts == attempts)
        )
        return kept if conditional(lambda: claimed.save(condition=condition)) else None

    def mark_sent(self, key: str) -> None:
        ConnectionModel(f"sent#{key}").update(
            actions=[
                ConnectionModel.kind.set(SENT),
                ConnectionModel.frame.remove(),
                ConnectionModel.claimed_until.remove(),
            ],
            condition=ConnectionModel.id.exists(),
        )

    def unsent(self, limit: int, now: datetime) -> list[tuple[str, dict]]:
        """(event id, frame) of up to `limit` claimed sendings whose lease is over: their run died."""
        query = ConnectionModel.by_kind.query(
            CLAIMED, filter_condition=ConnectionModel.claimed_until < to_utc_iso(now), limit=limit
        )
        return [(item.id.removeprefix("sent#"), json.loads(item.frame or "{}")) for item in query]


def _sending(key: str) -> ConnectionModel | None:
    """The record of event `key`'s sending, if it has one."""
    try:
        return ConnectionModel.get(f"sent#{key}", consistent_read=True)
    except DoesNotExist:
        return None


def _held(item: ConnectionModel, now: datetime) -> bool:
    """Whether a sending cannot be claimed now: sent, abandoned, or claimed by a run whose lease holds."""
    return item.kind != CLAIMED or (item.claimed_until or "") > to_utc_iso(now)


def _earlier_claim(item: ConnectionModel | None, frame: dict) -> tuple[int, dict]:
    """(attempts so far, the frame to send): the first claim's frame, else `frame`."""
    if item is None:
        return 0, frame
    return int(item.attempts or 0), (json.loads(item.frame) if item.frame else frame)


class WebSocketPush:
    """Pushes through API Gateway's @connections API (`EVENTS_ENDPOINT`); implements etp.market.events.Push."""

    def __init__(self, connections: DynamoConnections | None = None, client: Any = None) -> None:
        self.connections = connections or DynamoConnections()
        self._client = client

    def client(self) -> Any:
        """The @connections API client (None without a configured endpoint)."""
        if self._client is None and settings().events_endpoint:
            import boto3

            self._client = boto3.client(
                "apigatewaymanagementapi", endpoint_url=settings().events_endpoint, region_name=aws_region()
            )
        return self._client

    def claim(self, key: str, frame: dict) -> dict | None:
        return self.connections.claim(key, frame, utcnow())

    def mark_sent(self, key: str) -> None:
        self.connections.mark_sent(key)

    def unsent(self, limit: int) -> list[tuple[str, dict]]:
        return self.connections.unsent(limit, utcnow())

    def broadcast(self, message: dict) -> int:
        client = self.client()
        if client is None:
            return 0  # no WebSocket API configured
        data = json.dumps(message, ensure_ascii=False).encode()
        sent = 0
        for connection_id in self.connections.connection_ids(utcnow()):
            try:
                client.post_to_connection(ConnectionId=connection_id, Data=data)
                sent += 1
            except client.exceptions.GoneException:
                self.connections.remove(connection_id)
        return sent
