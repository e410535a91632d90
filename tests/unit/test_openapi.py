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


def test_every_answer_has_its_body_schema_and_none_is_a_422():
    document = openapi.document()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
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
