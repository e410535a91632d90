"""The contract fuzzer: schemathesis generates requests for every operation of docs/openapi.json (valid
ones and, from the same schemas, invalid ones) and sends them to the deployed stack through the proxy,
as a BEMS and as an aggregator. Every answer must be documented: no 5xx, a declared status, a body that
fits the declared schema (the document closes every body: no undeclared field passes), and invalid
input refused with a 4xx.

The budget is fixed and derandomised (the same requests on every run): FUZZ_EXAMPLES per operation and
role, 6 in `make test`; `make fuzz` runs a longer budget. The fuzzer writes bids, offers and accounts
at random, so conftest.py runs this module after every other e2e test.
"""

import json
import os
import uuid

import pytest
import requests
import schemathesis
from helpers import ROOT
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from stack_client import bearer

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


schema = schemathesis.openapi.from_dict(json.loads((ROOT / "docs" / "openapi.json").read_text()))
# the bearer is the test's own (below); a generated Authorization header would only test the 401
schema.config.generation.update(
    max_examples=EXAMPLES, deterministic=True, with_security_parameters=False, database="none"
)


@pytest.fixture(scope="module")
def fuzz_accounts(deployment) -> dict[str, dict[str, str]]:
    """A BEMS and an aggregator of the fuzzer's own, so its random writes touch no demo account."""
    aggregator = bearer(deployment.api, "Aggregator")
    headers = {}
    for role, is_aggregator in (("bems", False), ("aggregator", True)):
        account, password = f"fuzz_{role}_{uuid.uuid4().hex[:8]}", "fuzzing-passphrase"
        created = requests.post(
            f"{deployment.api}/user",
            headers=aggregator,
            json={"account": account, "username": account, "password": password, "is_aggregator": is_aggregator},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        headers[role] = bearer(deployment.api, account, password)
    return headers


@schema.parametrize()
def test_a_bems_gets_only_documented_answers(case, deployment, fuzz_accounts):
    case.call_and_validate(base_url=deployment.api, headers=fuzz_accounts["bems"], checks=CHECKS, timeout=60)


@schema.parametrize()
def test_an_aggregator_gets_only_documented_answers(case, deployment, fuzz_accounts):
    case.call_and_validate(base_url=deployment.api, headers=fuzz_accounts["aggregator"], checks=CHECKS, timeout=60)
