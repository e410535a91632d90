"""WebSocket API ($connect, $disconnect) of the real-time `transaction` events (see etp.market.events).

A browser cannot set headers on a WebSocket, so the bearer comes as `?token=`; it is checked exactly
as an HTTP bearer is (expired or revoked: the connection is refused with 401). The market jobs push
the events; this function only keeps the list of who is connected.
"""

import functools

from aws_lambda_powertools import Logger

from etp.clock import utcnow
from etp.edge import callers

logger = Logger()


@functools.cache
def connections():
    from etp.edge.push import DynamoConnections

    return DynamoConnections()


@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict, context) -> dict:
    request = event.get("requestContext") or {}
    route, connection_id = request.get("routeKey"), request.get("connectionId")
    if not connection_id:
        return {"statusCode": 400, "body": "not a WebSocket event"}
    if route == "$connect":
        token = (event.get("queryStringParameters") or {}).get("token") or ""
        bearer = callers.verify_bearer(token) if token else None
        if bearer is None:
            logger.info("WebSocket refused", extra={"reason": "no valid bearer"})
            return {"statusCode": 401, "body": "Unauthorized access"}
        connections().add(connection_id, bearer.user, utcnow())
        logger.info("WebSocket connected", extra={"user_id": bearer.user.id})
        return {"statusCode": 200}
    if route == "$disconnect":
        connections().remove(connection_id)
        return {"statusCode": 200}
    return {"statusCode": 400, "body": "this API only pushes events"}
