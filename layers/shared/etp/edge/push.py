"""WebSocket clients: their connections in DynamoDB, and pushing a message to all of them.

Table `CONNECTIONS_TABLE`, hash key `id`: `conn#<connection id>` for a connected client (who, since
when), `sent#<key>` for an event already pushed (see etp.market.events). Both expire through the
table's TTL (`expires_at`): a connection after API Gateway's two-hour limit, a sent marker after a
week. GSI `by-kind` lists the connections with a Query. A connection that is gone (410) when a
message is posted is removed.
"""

import json
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from etp.accounts.users import User
from etp.clock import to_utc_iso, utcnow
from etp.dynamo import aws_region, conditional
from etp.settings import settings

CONNECTION_LIFETIME = timedelta(hours=2)  # API Gateway closes a WebSocket after two hours
SENT_MEMORY = timedelta(days=7)


class _ByKind(GlobalSecondaryIndex["ConnectionModel"]):
    class Meta:
        index_name = "by-kind"
        projection = AllProjection()

    kind = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)


class ConnectionModel(Model):
    class Meta:
        table_name = settings().connections_table
        region = aws_region()
        host: str | None = None

    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    user_id = UnicodeAttribute(null=True)
    account = UnicodeAttribute(null=True)
    at = UnicodeAttribute()
    expires_at = NumberAttribute()

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

    def claim(self, key: str, now: datetime) -> bool:
        item = ConnectionModel(
            id=f"sent#{key}", kind="sent", at=to_utc_iso(now), expires_at=int((now + SENT_MEMORY).timestamp())
        )
        return conditional(lambda: item.save(condition=ConnectionModel.id.does_not_exist()))


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

    def once(self, key: str) -> bool:
        return self.connections.claim(key, utcnow())

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
