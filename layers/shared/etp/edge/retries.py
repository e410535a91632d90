"""Safe retries of the API's writes: the optional `Idempotency-Key` request header (the IETF httpapi
draft "The Idempotency-Key HTTP Header Field"), kept by Powertools' idempotency utility in DynamoDB.

A route opts in with `middlewares=[retries.idempotent]`, declaring the header (`IdempotencyKey`) and
its answers (`contract.answers(..., idempotent=True)`). The middleware runs after Powertools has validated
the request (a bad body or key is the area's 400 and never reaches the table) and the bearer is
checked (`web.handle`), so every record belongs to an authenticated caller:

- The record's key is (the caller's user id, the route, e.g. `POST /bidsubmit`, the key), hashed
  (SHA-256): one user's key never answers another user's request, nor another route's.
- The payload is the body (as JSON: key order and spacing do not matter), as an HMAC under the
  bearers' signing key, so the table holds nothing a password in a body could be guessed from.
- Within RETENTION_SECONDS (24 h) of the first answer, the same key and body get that answer again
  (status, headers, body) and the route does not run: nothing is written again. Another body with
  the key gets 422; while the first request runs, the key gets 409 (the body is compared first, so a
  different body gets 422 even then).
- Only a 2xx answer is stored. A refusal (4xx: a rule or a conflict; the contract writes nothing on
  one) or a failure (an error escaping the route) deletes the record, so the client may retry with
  the same key and gets a fresh answer, as the draft allows for a request that failed.
- A run that dies without an answer (the Lambda timed out) holds its key only until the function's
  own timeout (Powertools' in-progress expiry, from the Lambda context); a retry after that runs
  the route again.

Without the header nothing of this runs: no record, no table access.
"""

import functools
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.params import Header

from etp.edge import callers, contract, secrets
from etp.settings import settings

logger = Logger()

HEADER = "Idempotency-Key"
RETENTION_SECONDS = 24 * 60 * 60
# A UUID (what the draft suggests), a ULID, base64 or any token of these characters; the draft's
# quoted form ("...", a Structured Field string) is taken too and means the same key.
KEY_PATTERN = r'^("[A-Za-z0-9._~:+/=-]{1,255}"|[A-Za-z0-9._~:+/=-]{1,255})$'
KEY_PREFIX = "api"

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=HEADER,
        pattern=KEY_PATTERN,
        description=(
            "Optional. A key unique to this request (a UUID): a retry with the same key and body within "
            "24 h gets the first 2xx answer again and changes nothing; the same key with another body "
            "gets 422, and while the first request runs, 409"
        ),
    ),
]


class _NotStored(Exception):
    """A non-2xx answer of the route: the record goes, the answer is given as it is."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _stored(response: Response) -> dict[str, Any]:
    """An answer as the record keeps it (after Powertools' response validation: a JSON-ready body)."""
    return {"status": response.status_code, "headers": response.headers, "body": response.body}


def _restored(record: dict[str, Any]) -> Response:
    return Response(status_code=record["status"], headers=record["headers"], body=record["body"])


@functools.cache
def _idempotent_call() -> tuple[Callable[..., dict[str, Any]], Any]:
    """The route runner under Powertools' idempotency and its config, made on first use (never at
    import: the persistence layer makes its DynamoDB client when built)."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    config = IdempotencyConfig(
        event_key_jmespath="[caller, route, key]",
        payload_validation_jmespath="payload",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=RETENTION_SECONDS,
        hash_function="sha256",
        response_hook=_replayed,
    )
    store = DynamoDBPersistenceLayer(table_name=settings().idempotency_table)

    @idempotent_function(data_keyword_argument="request", persistence_store=store, config=config, key_prefix=KEY_PREFIX)
    def run(*, request: dict[str, str], proceed: Callable[[], Response]) -> dict[str, Any]:
        response = proceed()
        if not 200 <= response.status_code < 300:
            raise _NotStored(response)
        return _stored(response)

    return run, config


def _replayed(response: Any, idempotent_data: Any) -> Any:
    """Powertools' hook on an answer read back from the table (a retry): logged, given as it is."""
    logger.info("idempotent replay", extra={"status": response["status"]})
    return response


reset = _idempotent_call.cache_clear  # tests: a new table client, as in a new Lambda


def payload_digest(body: Any) -> str:
    """What a record compares bodies by: an HMAC of the body's canonical JSON."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    key = hashlib.sha256(b"etp idempotency payload\0" + secrets.jwt_secret().encode()).digest()
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


def request_of(app: APIGatewayRestResolver, key: str) -> dict[str, str]:
    """The record's identity (caller, route, key) and payload of the current request."""
    event = app.current_event
    return {
        "caller": callers.caller(app).id,
        "route": f"{event.http_method} {event.resource}",
        "key": key.strip('"'),
        "payload": payload_digest(event.json_body),
    }


def idempotent(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response:
    """Powertools route middleware: the route's answer under the request's Idempotency-Key, if any."""
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    key = app.current_event.headers.get(HEADER)  # case-insensitive
    if not key:
        return next_middleware(app)
    request = request_of(app, key)
    run, config = _idempotent_call()
    config.register_lambda_context(app.lambda_context)  # a dead run's key is held until the timeout only
    try:
        answer = run(request=request, proceed=lambda: next_middleware(app))
    except _NotStored as not_stored:
        return not_stored.response
    except IdempotencyValidationError:
        logger.info("idempotency key reused with another body", extra={"route": request["route"]})
        return contract.json_response(422, contract.KEY_REUSED)
    except IdempotencyAlreadyInProgressError:
        logger.info("idempotency key in flight", extra={"route": request["route"]})
        return contract.json_response(409, contract.KEY_IN_FLIGHT)
    return _restored(answer)
