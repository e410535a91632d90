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
