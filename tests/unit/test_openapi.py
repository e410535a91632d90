import json

from helpers import ROOT

from etp_admin import openapi


def test_the_committed_openapi_document_is_current():
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text())
    assert committed == openapi.document(), "run `make openapi` and commit docs/openapi.json"


def test_it_covers_every_route_of_the_template():
    paths = openapi.document()["paths"]
    routes = {(path, method) for path, ops in paths.items() for method in ops}
    template = (ROOT / "template.yaml").read_text()
    for path, method in routes:
        assert f"Path: {path}, Method: {method}" in template, f"{method.upper()} {path} is not deployed"
        assert f"Path: {path}, Method: options" in template, f"{path} has no preflight route"


def takes_an_idempotency_key(operation: dict) -> bool:
    return any(p["in"] == "header" and p["name"].lower() == "idempotency-key" for p in operation.get("parameters", []))


def test_every_answer_has_its_body_schema_and_a_422_is_only_a_reused_idempotency_key():
    document = openapi.document()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            if takes_an_idempotency_key(operation):
                schema = operation["responses"]["422"]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/KeyReused"}, f"{method.upper()} {path}"
            else:
                assert "422" not in statuses, f"{method.upper()} {path}: the API answers 400, never 422"
            assert statuses & {"200", "201"}, f"{method.upper()} {path} declares no success"
            assert "401" in statuses or operation.get("security") == [], f"{method.upper()} {path}: no 401"
            for status, answer in operation["responses"].items():
                assert answer["content"]["application/json"]["schema"], f"{method.upper()} {path} {status}"
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_answer_bodies_are_closed_so_a_new_field_must_be_documented():
    schemas = openapi.document()["components"]["schemas"]
    for name in ("BidView", "MatchRow", "ResultRow", "ReadingRow", "UserProfile", "Homepage", "BadRequest"):
        assert schemas[name]["additionalProperties"] is False, name


def test_the_writes_a_client_may_retry_take_an_idempotency_key_and_declare_its_answers():
    paths = openapi.document()["paths"]
    keyed = {(m.upper(), p) for p, ops in paths.items() for m, op in ops.items() if takes_an_idempotency_key(op)}
    assert keyed == {
        ("POST", "/bidsubmit"),
        ("PUT", "/bidsubmit"),
        ("DELETE", "/bidsubmit"),
        ("POST", "/DR_bid"),
        ("POST", "/user"),
    }
    for method, path in keyed:
        assert {"409", "422"} <= set(paths[path][method.lower()]["responses"]), f"{method} {path}"
