"""The HTTP edge shared by every API function.

`handle()` runs before Powertools routing so that, whatever the route and body, a request is
(1) answered directly when it is a CORS preflight, (2) refused when its body is over 64 KB,
(3) refused with 401 unless it carries a valid bearer or its route is explicitly public and
(4) refused with the API's 400 when its body is not one the parser can safely take: a Content-Type
other than JSON in UTF-8, nesting deeper than MAX_JSON_DEPTH (checked without recursion, before any
parsing), an integer longer than MAX_NUMBER_DIGITS, or JSON that is not an object.
Authentication therefore cannot be forgotten on a new route. CORS headers are the contract's
fixed ones (Powertools' CORSConfig echoes the Origin instead of `*`, and only when one is sent).
"""

import base64
import binascii
import functools
import json
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict

from etp.accounts import tokens
from etp.accounts.service import bearer_accepted
from etp.accounts.users import User, UserStore
from etp.clock import utcnow
from etp.edge import secrets
from etp.edge.observability import make_tracer
from etp.settings import settings

logger = Logger()
# A request that records no metric is normal (a GET); Powertools would warn on every one.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

# Who a request's headers authenticate (a user's Bearer, or a Meter on /address), or None.
Authenticator = Callable[[dict[str, str] | None], Any]

MAX_BODY_BYTES = 64 * 1024
# Every body of the contract is an object of scalars or of one list: nesting deeper than this is an
# attack on the parser (json's C scanner recurses, so 30,000 brackets raise RecursionError).
MAX_JSON_DEPTH = 32
# Integers are converted before validation: bound their length first (Python refuses more than 4,300
# digits with a ValueError, and conversion is quadratic in the length).
MAX_NUMBER_DIGITS = 32
JSON_MEDIA_TYPE = "application/json"
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET,POST,PUT,DELETE,OPTIONS",
    "Access-Control-Allow-Headers": "X-Requested-With, Content-Type, Authorization, Idempotency-Key",
}
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


def make_resolver(
    bad_request: Callable[[str], Any] = default_bad_request,
    errors: Mapping[type[Exception], Callable[[Any], Response]] | None = None,
) -> APIGatewayRestResolver:
    """A resolver with request validation whose errors become the contract's 400 bodies, and the
    API's one map from domain errors to answers (routes raise; they do not catch)."""
    app = APIGatewayRestResolver(enable_validation=True)
    app.etp_bad_request = bad_request  # type: ignore[attr-defined]  # for handle()'s own refusals

    @app.exception_handler(RequestValidationError)
    def _invalid(error: RequestValidationError) -> Response:
        return json_response(400, bad_request(describe_validation_errors(error.errors())))

    for error_type, answer in (errors or {}).items():
        app.exception_handler(error_type)(answer)
    return app


def api_handler(
    app: APIGatewayRestResolver,
    *,
    public: frozenset[tuple[str, str]] = frozenset(),
    authenticators: Mapping[str, Authenticator] | None = None,
) -> Callable[[dict, Any], dict]:
    """The Lambda handler of an API function: Powertools' log context (API Gateway's request id as
    correlation id), tracing and metrics around `handle`. `authenticators` names another way to
    authenticate for a resource (the meters' own tokens on /address)."""
    tracer, metrics = make_tracer(), Metrics()

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def lambda_handler(event: dict, context: Any) -> dict:
        authenticator = (authenticators or {}).get(event.get("resource", ""), authenticate)
        return handle(app, event, context, public=public, authenticator=authenticator)

    return lambda_handler


# --- services, created on first use (never at import, so tests can start moto first) ---


@functools.cache
def user_store() -> UserStore:
    from etp.accounts.store import DynamoUserStore

    return DynamoUserStore()


def people() -> Callable[[str], tuple[str, str]]:
    """(username, address) of a user id, each user read once per request ("" for an unknown id)."""

    @functools.cache
    def lookup(user_id: str) -> tuple[str, str]:
        user = user_store().get_by_id(user_id)
        return (user.username, user.address) if user else ("", "")

    return lookup


def token_ttl() -> timedelta:
    return timedelta(hours=settings().token_ttl_hours)


def issue_token(user: User, session: str | None = None) -> str:
    """A bearer for `user`, of `session`, or of a new session (a login)."""
    return tokens.issue(
        user_id=user.id,
        account=user.account,
        version=user.token_version,
        session=session or tokens.new_session(),
        secret=secrets.jwt_secret(),
        now=utcnow(),
        ttl=token_ttl(),
    )


def bearer_token(headers: dict[str, str] | None) -> str | None:
    header = next((v for k, v in (headers or {}).items() if k.lower() == "authorization"), "") or ""
    scheme, _, token = header.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@dataclass(frozen=True)
class Bearer:
    """Who a user's bearer stands for, and which of their sessions (logins) it belongs to."""

    user: User
    session: str


def verify_bearer(token: str) -> Bearer | None:
    """The user and session of a bearer token (a header's, or a WebSocket's `?token=`), or None for
    any kind of bad, expired or revoked token."""
    try:
        claims = tokens.verify(token, secret=secrets.jwt_secret(), now=utcnow())
    except tokens.InvalidToken as reason:
        logger.info("token rejected", extra={"reason": str(reason)})
        return None
    user = user_store().get(claims.account)
    if user is None or not bearer_accepted(user, claims):
        logger.info("token rejected", extra={"reason": "revoked or unknown user"})
        return None
    return Bearer(user, claims.session)


def authenticate(headers: dict[str, str] | None) -> Bearer | None:
    """The user behind `Authorization: Bearer <jwt>`, or None."""
    token = bearer_token(headers)
    return None if token is None else verify_bearer(token)


def session(app: BaseRouter) -> str:
    """The session of the current request's bearer ("" for a bearer from before sessions)."""
    return app.context.get("session", "")


def caller(app: BaseRouter) -> Any:
    """Who the current request authenticated as (set by `handle`): a User, or a Meter on /address."""
    return app.context["principal"]


def _raw(status: int, body: Any) -> dict:
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON, **CORS_HEADERS},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def _with_cors(response: dict) -> dict:
    if "multiValueHeaders" in response:
        multi = response["multiValueHeaders"]
        for name, value in CORS_HEADERS.items():
            multi[name] = [value]
    else:
        response.setdefault("headers", {}).update(CORS_HEADERS)
    return response


class BodyRefused(ValueError):
    """Why a request's body cannot be read: the 400's description."""


# A JSON string (closed or not), unrolled so that matching it is linear and never recursive.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in `text` (JSON or not), without recursion:
    brackets inside strings do not count."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_JSON_STRING.sub("", text)):
        depth = depth + 1 if bracket in "[{" else max(depth - 1, 0)
        deepest = max(deepest, depth)
    return deepest


def media_type_problem(content_type: str | None) -> str | None:
    """Why a body's Content-Type is not the contract's (absent, or JSON in UTF-8), or None."""
    if content_type is None or not content_type.strip():
        return None
    media_type, *parameters = (part.strip().lower() for part in content_type.split(";"))
    charsets = {value.strip('"') for name, _, value in (p.partition("=") for p in parameters) if name == "charset"}
    if media_type != JSON_MEDIA_TYPE or not charsets <= {"utf-8", "utf8"}:
        return f"body: Content-Type must be {JSON_MEDIA_TYPE} (UTF-8), not {content_type.strip()[:80]!r}"
    return None


def _body_text(event: dict) -> str:
    body = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        return body
    try:
        return base64.b64decode(body.encode("ascii"), validate=True).decode("utf-8")
    except (UnicodeError, binascii.Error):
        raise BodyRefused("body: not base64 of UTF-8 text") from None


class _TooLong:
    """Stands in, while parsing, for an integer literal of more than MAX_NUMBER_DIGITS digits."""


def _object(pairs: list[tuple[str, Any]]) -> dict:
    """An object of the body, refused when one of its fields is (a list holding) an over-long integer."""
    for name, value in pairs:
        if isinstance(value, _TooLong) or (isinstance(value, list) and any(isinstance(v, _TooLong) for v in value)):
            raise BodyRefused(f"{name}: a number of more than {MAX_NUMBER_DIGITS} digits")
    return dict(pairs)


def check_body(text: str) -> None:
    """Refuse (BodyRefused) a body that is nested too deep, holds an over-long integer or is JSON but
    not an object. Malformed JSON passes: validation names it as the contract does."""
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and json_depth(text) > MAX_JSON_DEPTH:
        raise BodyRefused(f"body: nested deeper than {MAX_JSON_DEPTH} levels")
    too_long: list[str] = []

    def bounded_int(literal: str) -> int | _TooLong:
        if len(literal.lstrip("-")) <= MAX_NUMBER_DIGITS:
            return int(literal)
        too_long.append(literal[:8])
        return _TooLong()

    try:
        parsed = json.loads(text, parse_int=bounded_int, object_pairs_hook=_object)
    except BodyRefused:
        raise
    except ValueError:
        return
    if too_long:  # not directly a field's (a list's in a list, or the whole body): no field to name
        raise BodyRefused(f"body: a number of more than {MAX_NUMBER_DIGITS} digits")
    if not isinstance(parsed, dict):
        # Powertools' validation would take a list's first element for an object body
        raise BodyRefused("body: must be a JSON object")


def _header(event: dict, name: str) -> str | None:
    return next((v for k, v in (event.get("headers") or {}).items() if k.lower() == name), None)


def body_problem(event: dict, method: str) -> str | None:
    """Why the request's body cannot be handed to routing (the 400's description), or None. A GET's
    body has no meaning (RFC 9110) and no route reads one: it is ignored, so a GET answers as documented."""
    if method in ("GET", "HEAD"):
        return None
    try:
        text = _body_text(event)
        if wrong_type := media_type_problem(_header(event, "content-type")):
            return wrong_type
        if text:
            check_body(text)
    except BodyRefused as refused:
        return str(refused)
    return None


def handle(
    app: APIGatewayRestResolver,
    event: dict,
    context: Any,
    *,
    public: frozenset[tuple[str, str]] = frozenset(),
    authenticator: Authenticator | None = None,
) -> dict:
    # An early answer below returns before Powertools clears the context: start every request clean,
    # so a warm container never carries the previous caller's principal or session.
    app.clear_context()
    method = (event.get("httpMethod") or "").upper()
    if method == "OPTIONS":
        return {"statusCode": 200, "headers": dict(CORS_HEADERS), "body": "", "isBase64Encoded": False}
    body = event.get("body") or ""
    bad_request = getattr(app, "etp_bad_request", default_bad_request)
    if method not in ("GET", "HEAD") and len(body.encode("utf-8")) > MAX_BODY_BYTES:
        return _raw(400, bad_request(f"body: larger than {MAX_BODY_BYTES} bytes"))
    if (method, event.get("resource", "")) not in public:
        principal = (authenticator or authenticate)(event.get("headers"))
        if isinstance(principal, Bearer):
            app.append_context(session=principal.session)
            principal = principal.user
        if principal is None:
            return _raw(401, UNAUTHORIZED)
        app.append_context(principal=principal)
    if problem := body_problem(event, method):
        return _raw(400, bad_request(problem))
    return _with_cors(app.resolve(event, context))
