"""Helpers for the tests: load a function's handler, load and vary a sample event."""

import copy
import functools
import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parents[1]


def load_function(name: str):
    """Import functions/<name>/app.py under a unique module name (every function has an app.py)."""
    module_name = f"function_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "functions" / name / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def present[T](value: T | None) -> T:
    """`value`, which the test needs to exist: a missing one fails as an assertion, not an AttributeError."""
    assert value is not None, "expected a value, got None"
    return value


def load_event(relative: str, *, body=None, bearer: str | None = None, query=None, raw_body: str | None = None):
    """An events/*.json API Gateway event, optionally with another body, bearer or query."""
    event = copy.deepcopy(json.loads((ROOT / "events" / relative).read_text()))
    if raw_body is not None:
        event["body"] = raw_body
    elif body is not None:
        event["body"] = json.dumps(body)
    headers = event["headers"]
    if bearer is None:
        headers.pop("Authorization", None)
    else:
        headers["Authorization"] = f"Bearer {bearer}"
    event["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
    if query is not None:
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    return event


class FakeLambdaContext:
    function_name = "test-function"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id = "00000000-0000-0000-0000-000000000000"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 10_000


class Answer(NamedTuple):
    """A handler's answer to an API Gateway event: the status, the body parsed (None if empty), the
    headers (one value each: a multi-valued header's last) and the body as sent."""

    status: int
    body: Any
    headers: dict[str, str]
    text: str


def answer(function, event) -> Answer:
    """The handler's answer to an API Gateway event, which must be one that docs/openapi.json declares
    for the route and must carry the contract's CORS headers: every API test also checks both."""
    response = function.lambda_handler(event, FakeLambdaContext())
    text = response["body"]
    status, body = response["statusCode"], (json.loads(text) if text else None)
    headers = {
        **(response.get("headers") or {}),
        **{name: values[-1] for name, values in (response.get("multiValueHeaders") or {}).items()},
    }
    assert headers.get("Access-Control-Allow-Origin") == "*", "every answer carries CORS"
    check_documented(event, status, body)
    return Answer(status, body, headers, text)


def call(function, event) -> tuple[int, Any]:
    """(status, parsed body) of the handler's `answer` to an API Gateway event (checked as it says)."""
    status, body, _, _ = answer(function, event)
    return status, body


@functools.cache
def openapi_document() -> dict:
    return json.loads((ROOT / "docs" / "openapi.json").read_text())


def check_documented(event: dict, status: int, body: object) -> None:
    """Fail unless docs/openapi.json declares `status` for the event's route and `body` fits its schema
    (a preflight and the WebSocket routes are not in the document)."""
    import jsonschema

    method = (event.get("httpMethod") or "").lower()
    operation = openapi_document()["paths"].get(event.get("resource", ""), {}).get(method)
    if operation is None:
        return
    answer = operation["responses"].get(str(status))
    assert answer is not None, (
        f"{method.upper()} {event['resource']} answered {status}, which the document does not declare"
    )
    schema = answer["content"]["application/json"]["schema"]
    jsonschema.validate(body, {**schema, "components": openapi_document()["components"]})


def login_bearer(account: str, password: str = "energy-demo") -> str:
    """A bearer for `account`, from the accounts function's POST /login."""
    status, body = call(
        load_function("accounts"), load_event("accounts/login.json", body={"account": account, "password": password})
    )
    assert status == 200, body
    return body["bearer"]  # type: ignore[index]


def items_in(operation: str, answer: dict) -> int:
    """The DynamoDB items an answer read: Query/Scan's scanned items, a GetItem hit, BatchGetItem's
    and TransactGetItems' responses (the cost model's unit)."""
    if operation in ("Query", "Scan"):
        return answer.get("ScannedCount", len(answer.get("Items", [])))
    if operation == "GetItem":
        return int("Item" in answer)
    if operation == "BatchGetItem":
        return sum(len(items) for items in answer.get("Responses", {}).values())
    if operation == "TransactGetItems":
        return sum(1 for r in answer.get("Responses", []) if r.get("Item"))
    return 0


class ItemsRead:
    """Counts the DynamoDB items every API call of this process reads, from its creation on. `patch`
    installs the counting call: a test's `monkeypatch.setattr` (undone after the test), or `setattr`."""

    def __init__(self, patch: Callable[[Any, str, Any], None]) -> None:
        import botocore.client

        self.count = 0
        original = botocore.client.BaseClient._make_api_call

        def counted(client, operation, params):
            answer = original(client, operation, params)
            if client.meta.service_model.service_name == "dynamodb":
                self.count += items_in(operation, answer)
            return answer

        patch(botocore.client.BaseClient, "_make_api_call", counted)


def hashed_passwords(monkeypatch) -> list[str]:
    """The stored hashes every password check is made against from now on (checks still run)."""
    from etp.accounts import passwords

    checked: list[str] = []
    real = passwords.verify_password

    def spy(password: str, stored: str) -> bool:
        checked.append(stored)
        return real(password, stored)

    monkeypatch.setattr(passwords, "verify_password", spy)
    return checked
