"""The simulator functions in-process against moto: configuration from the secret, and clean rejections."""

import json

import boto3
import pytest
from helpers import FakeLambdaContext, load_function

power = load_function("power_simulator")
bidding = load_function("bid_simulator")


@pytest.fixture
def configured(aws):
    def write(document):
        secrets = boto3.client("secretsmanager")
        try:
            secrets.create_secret(Name="etp-test-simulators", SecretString=json.dumps(document))
        except secrets.exceptions.ResourceExistsException:
            secrets.put_secret_value(SecretId="etp-test-simulators", SecretString=json.dumps(document))

    return write


@pytest.mark.parametrize("function", [power, bidding])
def test_a_bad_explicit_time_or_configuration_is_rejected_cleanly(configured, function):
    configured({"buildings": []})
    assert function.lambda_handler({"now": "noon"}, FakeLambdaContext())["status"] == "rejected"
    configured({"buildings": [{"account": "A", "bid": {"type": "hold", "volume": 1, "price": 1}}]})
    result = function.lambda_handler({}, FakeLambdaContext())
    assert result["status"] == "rejected" and "buy|sell" in result["error"]


def test_an_unreachable_api_fails_each_building_without_stopping_the_run(configured):
    configured(
        {
            "api_url": "http://127.0.0.1:9",
            "node_url": "http://127.0.0.1:9",
            "buildings": [
                {"account": "Carlab_BEMS", "meter_token": "t", "meter_private_key_pem": "k"},
                {"account": "NCKU_BEMS", "csv": "/no/such/file.csv", "meter_token": "t", "meter_private_key_pem": "k"},
            ],
        }
    )
    result = power.lambda_handler({"now": "2026-11-28T00:07:00"}, FakeLambdaContext())
    assert result["status"] == "ok" and result["published"] == {}
    assert "GET /address failed" in result["failed"]["Carlab_BEMS"]
    assert "No such file" in result["failed"]["NCKU_BEMS"]


def test_only_the_named_building_runs(configured):
    configured(
        {
            "api_url": "http://127.0.0.1:9",
            "buildings": [
                {"account": "A_BEMS", "password": "x", "bid": {"type": "buy", "volume": 1, "price": 1}},
                {"account": "B_BEMS", "password": "x", "bid": {"type": "buy", "volume": 1, "price": 1}},
            ],
        }
    )
    result = bidding.lambda_handler({"building": "B_BEMS"}, FakeLambdaContext())
    assert list(result["failed"]) == ["B_BEMS"] and "POST /login failed" in result["failed"]["B_BEMS"]
