"""The HTTP edge shared by every API function.

`handle()` runs before Powertools routing so that, whatever the route and body, a request is
(1) answered directly when it is a CORS preflight, (2) refused when its body is over 64 KB,
(3) refused with 401 unless it carries a valid bearer or its route is explicitly public and
(4) refused with the API's 400 when its body is not one the parser can safely take: a Content-Type
other than JSON in UTF-8, nesting too deep, an over-long integer or JSON that is not an object
(etp.edge.bodies). Answers and their models are etp.edge.contract; bearers and callers, etp.edge.callers.
Authentication therefore cannot be forgotten on a new route. CORS headers are the contract's
fixed ones (Powertools' CORSConfig echoes the Origin instead of `*`, and only when one is sent).
"""

import json
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.logging import correlation_paths

from etp.edge.bodies import body_problem
from etp.edge.callers import Authenticator, Bearer, authenticate
from etp.edge.contract import UNAUTHORIZED, default_bad_request, describe_validation_errors, json_response
from etp.edge.observability import make_tracer

logger = Logger()
# A request that records no metric is normal (a GET); Powertools would warn on every one.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

MAX_BODY_BYTES = 64 * 1024
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET,POST,PUT,DELETE,OPTIONS",
    "Access-Control-Allow-Headers": "X-Requested-With, Content-Type, Authorization, Idempotency-Key",
}


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


def _authenticated(app: APIGatewayRestResolver, event: dict, authenticator: Authenticator | None) -> bool:
    """Whether the request's headers authenticate someone; if so, they are the request's principal
    (and a bearer's session, the request's session)."""
    principal = (authenticator or authenticate)(event.get("headers"))
    if isinstance(principal, Bearer):
        app.append_context(session=principal.session)
        principal = principal.user
    if principal is None:
        return False
    app.append_context(principal=principal)
    return True


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
    if (method, event.get("resource", "")) not in public and not _authenticated(app, event, authenticator):
        return _raw(401, UNAUTHORIZED)
    if problem := body_problem(event, method):
        return _raw(400, bad_request(problem))
    return _with_cors(app.resolve(event, context))
