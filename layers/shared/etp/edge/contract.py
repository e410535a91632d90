"""The API's answers as the contract writes them: the error bodies and their models, the OpenAPI
`responses` of a route, JSON responses and the 400's description of a validation error."""

import json
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from aws_lambda_powertools.event_handler import Response, content_types
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict

JSON_MEDIA_TYPE = "application/json"
UNAUTHORIZED = {"error": "Unauthorized access"}
FORBIDDEN = {"error": "Forbidden"}
TOO_MANY_ATTEMPTS = {"error": "Too many attempts"}
# A write's Idempotency-Key (etp.edge.retries): held by a request still running, or given another body.
KEY_IN_FLIGHT = {"error": "A request with this Idempotency-Key is in progress"}
KEY_REUSED = {"error": "This Idempotency-Key was used with another request body"}


class Answer(BaseModel):
    """A response body as the OpenAPI document declares it: these fields and no others."""

    model_config = ConfigDict(extra="forbid")


class BadRequest(Answer):
    error: Literal["Bad request"]
    description: str = Field(description="names each bad field")


class Unauthorized(Answer):
    error: Literal["Unauthorized access"]


class Forbidden(Answer):
    error: Literal["Forbidden"]


class Conflict(Answer):
    error: Literal["Account already exists"]


class TooManyAttempts(Answer):
    error: Literal["Too many attempts"]


class KeyInFlight(Answer):
    error: Literal["A request with this Idempotency-Key is in progress"]


class KeyReused(Answer):
    error: Literal["This Idempotency-Key was used with another request body"]


# The contract's error answers, for the generated OpenAPI document (400's body differs per API).
ERROR_ANSWERS: dict[int, tuple[str, Any]] = {
    401: ("Missing, malformed, expired or revoked bearer", Unauthorized),
    403: ("The caller lacks the right (aggregators only)", Forbidden),
    409: ("The account exists already", Conflict),
    429: ("Too many failed attempts: try again after the `Retry-After` header's seconds", TooManyAttempts),
}
# The headers an error answer carries beside its body, for the same document.
ERROR_HEADERS: dict[int, dict] = {
    429: {
        "Retry-After": {
            "description": "whole seconds (at least 1) to wait before the next attempt is weighed",
            "schema": {"type": "integer"},
        }
    },
}


# The answers of a route that takes an Idempotency-Key (etp.edge.retries), besides its own.
IDEMPOTENCY_ANSWERS: dict[int, tuple[str, Any]] = {
    409: ("A request with the same Idempotency-Key is still in progress: retry later", KeyInFlight),
    422: ("The Idempotency-Key was used with another body (by the same caller, on this route)", KeyReused),
}


def answers(ok: tuple[int, str, Any], *errors: int, bad_request: Any = BadRequest, idempotent: bool = False) -> dict:
    """OpenAPI `responses` of a route: its success, with the model of its body, and the contract's
    error answers; `bad_request` is the model of the API's 400 body. `idempotent`: the route takes an
    Idempotency-Key, so it may also answer 409 (merged with its own 409, if any) and 422."""
    described = ERROR_ANSWERS | {400: ("Bad request: a field, the body or the query is not acceptable", bad_request)}
    if idempotent:
        for status, (description, model) in IDEMPOTENCY_ANSWERS.items():
            if status in errors:
                own_description, own_model = described[status]
                description, model = (
                    f"{own_description}; or {description[0].lower()}{description[1:]}",
                    own_model | model,
                )
            described[status] = (description, model)
        errors = tuple(sorted({*errors, *IDEMPOTENCY_ANSWERS}))
    return {
        status: {"description": description, "content": {JSON_MEDIA_TYPE: {"model": model}}}
        | ({"headers": ERROR_HEADERS[status]} if status in ERROR_HEADERS else {})
        for status, description, model in [ok, *((e, *described[e]) for e in errors)]
    }


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Response:
    """`body` as JSON; a str too (Powertools would send a str as it is, and the contract has `"ok"`)."""
    if isinstance(body, str):
        body = json.dumps(body)
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=body,
        headers=dict(headers) if headers else None,
    )


def describe_validation_errors(errors: Iterable[dict]) -> str:
    """One line naming each bad field, e.g. `account: String should have at most 80 characters`."""
    parts = []
    for error in errors:
        if error.get("type") == "json_invalid":
            parts.append("body: malformed JSON")
            continue
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "header")]
        parts.append(f"{'.'.join(loc) or 'body'}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def amount_schema(maximum: int) -> JsonDict:
    """The document's form of an amount that the domain checks itself (with the contract's refusal):
    a number above 0, at most `maximum`."""
    return {"type": "number", "exclusiveMinimum": 0, "maximum": maximum}


def default_bad_request(description: str) -> dict:
    return {"error": "Bad request", "description": description}
