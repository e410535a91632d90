"""The HTTP edge: preflights, body limit, authentication before routing, CORS on every answer."""

import json

import pytest

from etp.accounts.users import User
from etp.edge import bodies, callers, contract, web

ROUTES = web.make_resolver()


@ROUTES.get("/echo")
def echo():
    return {"account": callers.caller(ROUTES).account}


@ROUTES.post("/open")
def open_route():
    return {"ok": True}


ALICE = User(id="u-1", account="alice", username="Alice", password_hash="x")


def authenticator(headers):
    return ALICE if (headers or {}).get("Authorization") == "Bearer good" else None


def call(method, path, headers=None, body=None):
    event = {
        "httpMethod": method,
        "resource": path,
        "path": path,
        "headers": headers or {},
        "body": body,
        "requestContext": {"stage": "Prod", "resourcePath": path, "httpMethod": method},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "isBase64Encoded": False,
    }
    return web.handle(ROUTES, event, None, public=frozenset({("POST", "/open")}), authenticator=authenticator)


def headers_of(response):
    if "multiValueHeaders" in response:
        return {k: v[0] for k, v in response["multiValueHeaders"].items()}
    return response["headers"]


def assert_cors(response):
    headers = headers_of(response)
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Access-Control-Allow-Methods"] == "GET,POST,PUT,DELETE,OPTIONS"
    assert headers["Access-Control-Allow-Headers"] == "X-Requested-With, Content-Type, Authorization, Idempotency-Key"


def test_preflight_is_answered_without_a_token_on_any_path():
    for path in ("/echo", "/open", "/anything"):
        response = call("OPTIONS", path)
        assert response["statusCode"] == 200
        assert_cors(response)


def test_routes_refuse_missing_or_bad_tokens_with_the_contract_body():
    for headers in ({}, {"Authorization": "Bearer bad"}, {"Authorization": "Basic good"}):
        response = call("GET", "/echo", headers)
        assert response["statusCode"] == 401
        assert json.loads(response["body"]) == {"error": "Unauthorized access"}
        assert_cors(response)


def test_an_authenticated_route_sees_its_caller_and_answers_with_cors():
    response = call("GET", "/echo", {"Authorization": "Bearer good"})
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"account": "alice"}
    assert_cors(response)


def test_the_caller_does_not_leak_into_the_next_request():
    call("GET", "/echo", {"Authorization": "Bearer good"})
    assert "principal" not in ROUTES.context


def test_public_routes_need_no_token():
    assert call("POST", "/open", body="{}")["statusCode"] == 200


@pytest.mark.parametrize("size", [web.MAX_BODY_BYTES + 1, 1_000_000])
def test_bodies_over_64_kb_are_refused_before_anything_else(size):
    response = call("POST", "/open", body="x" * size)
    assert response["statusCode"] == 400
    assert "body" in json.loads(response["body"])["description"]
    assert_cors(response)


def test_validation_errors_name_each_field():
    errors = [
        {"type": "string_too_long", "loc": ("body", "account"), "msg": "String should have at most 80 characters"},
        {"type": "missing", "loc": ("body", "password"), "msg": "Field required"},
    ]
    assert contract.describe_validation_errors(errors) == (
        "account: String should have at most 80 characters; password: Field required"
    )
    assert contract.describe_validation_errors([{"type": "json_invalid", "loc": ("body", 1), "msg": "x"}]) == (
        "body: malformed JSON"
    )


def test_a_string_answer_is_sent_as_a_json_string():
    assert contract.json_response(200, "ok").body == '"ok"'
    assert contract.json_response(400, {"error": "x"}).body == {"error": "x"}


def test_a_body_that_is_not_a_json_object_is_refused_before_validation():
    # Powertools would validate the first element of a list against an object model
    for body in ('[{"ok": true}]', '"text"', "3"):
        response = call("POST", "/open", body=body)
        assert response["statusCode"] == 400
        assert json.loads(response["body"])["description"] == "body: must be a JSON object"
        assert_cors(response)
    assert call("POST", "/open", body="{}")["statusCode"] == 200


# --- bodies the parser cannot safely take (issue 12) ---


def refusal(response) -> str:
    assert response["statusCode"] == 400, response
    assert_cors(response)
    return json.loads(response["body"])["description"]


@pytest.mark.parametrize("body", ["[" * 30000 + "]" * 30000, "{" * 30000, '{"a":' * 33 + "1" + "}" * 33])
def test_deeply_nested_json_is_refused_without_parsing_it(body):
    assert refusal(call("POST", "/open", body=body)) == "body: nested deeper than 32 levels"


def test_nesting_up_to_the_limit_and_brackets_inside_strings_are_fine():
    assert bodies.json_depth('{"a": "[[[[{{{{", "b": ["\\"]]]]"]}') == 2
    assert bodies.json_depth("[" * 30000 + "]" * 30000) == 30000
    nested = '{"a":' * 31 + "1" + "}" * 31  # 31 objects, plus one list below: 32
    assert bodies.json_depth('{"x": [' + nested + "]}") == 33
    assert bodies.json_depth(nested) == 31
    assert call("POST", "/open", body=nested)["statusCode"] == 200
    assert call("POST", "/open", body='{"a": "' + "[" * 60000 + '"}')["statusCode"] == 200


def test_an_integer_longer_than_the_limit_is_refused_before_conversion():
    assert refusal(call("POST", "/open", body='{"value": ' + "9" * 5000 + "}")) == (
        "value: a number of more than 32 digits"
    )
    assert refusal(call("POST", "/open", body='{"uuid": [1, -' + "9" * 33 + "]}")) == (
        "uuid: a number of more than 32 digits"
    )
    assert refusal(call("POST", "/open", body='{"a": [[' + "9" * 5000 + "]]}")) == (
        "body: a number of more than 32 digits"
    )
    assert call("POST", "/open", body='{"value": ' + "9" * 32 + "}")["statusCode"] == 200
    assert call("POST", "/open", body='{"value": 1' + "0" * 5000 + ".5}")["statusCode"] == 200  # a float: no limit


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",
        "multipart/form-data; boundary=x",
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
        "application/jsonp",
    ],
)
def test_a_body_that_is_not_json_in_utf8_is_refused_by_its_content_type(content_type):
    for body in ('{"ok": true}', None):
        response = call("POST", "/open", headers={"Content-Type": content_type}, body=body)
        assert refusal(response) == (f"body: Content-Type must be application/json (UTF-8), not {content_type!r}")


@pytest.mark.parametrize(
    "content_type", [None, "application/json", "Application/JSON", "application/json; charset=utf-8"]
)
def test_json_in_utf8_is_taken(content_type):
    headers = {"content-type": content_type} if content_type else {}
    assert call("POST", "/open", headers=headers, body='{"ok": true}')["statusCode"] == 200


def test_a_get_without_a_body_is_not_judged_by_its_content_type():
    response = call("GET", "/echo", headers={"Authorization": "Bearer good", "Content-Type": "text/plain"})
    assert response["statusCode"] == 200


@pytest.mark.parametrize("body", ["[" * 30_000, "[1]", "x" * (70 * 1024)])
def test_a_get_body_is_ignored_so_a_get_answers_as_documented(body):
    response = call("GET", "/echo", headers={"Authorization": "Bearer good", "Content-Type": "text/plain"}, body=body)
    assert response["statusCode"] == 200


def test_a_base64_body_is_judged_decoded():
    import base64

    def encoded(text: bytes) -> dict:
        event = {
            "httpMethod": "POST",
            "resource": "/open",
            "path": "/open",
            "headers": {},
            "body": base64.b64encode(text).decode(),
            "isBase64Encoded": True,
        }
        return web.handle(ROUTES, event, None, public=frozenset({("POST", "/open")}), authenticator=authenticator)

    assert refusal(encoded(b"[" * 30000)) == "body: nested deeper than 32 levels"
    assert refusal(encoded(b'{"a": "\xff"}')) == "body: not base64 of UTF-8 text"
