"""The local stack's Lambda concurrency cap (ETP_LAMBDA_CONCURRENCY, else twice the cores, at least 4) and
the proxy's upstream limit, one below it (the slot left for the scheduled jobs and WebSocket handshakes)."""

import pytest

from etp_local import ministack
from etp_local.ministack import MiniStack, default_lambda_concurrency
from etp_local.run import upstream_limit


def test_the_cap_is_twice_the_cores_and_at_least_4(monkeypatch):
    monkeypatch.delenv("ETP_LAMBDA_CONCURRENCY", raising=False)
    monkeypatch.setattr(ministack.os, "cpu_count", lambda: 1)
    assert default_lambda_concurrency() == 4
    monkeypatch.setattr(ministack.os, "cpu_count", lambda: 8)
    assert default_lambda_concurrency() == 16


def test_the_setting_wins_and_must_be_at_least_1(monkeypatch):
    monkeypatch.setenv("ETP_LAMBDA_CONCURRENCY", "7")
    assert default_lambda_concurrency() == 7
    assert MiniStack(0).lambda_concurrency == 7
    assert MiniStack(0, lambda_concurrency=2).lambda_concurrency == 2
    monkeypatch.setenv("ETP_LAMBDA_CONCURRENCY", "0")
    with pytest.raises(ValueError, match="at least 1"):
        default_lambda_concurrency()


@pytest.mark.parametrize(("cap", "limit"), [(1, 1), (2, 1), (4, 3), (16, 15)])
def test_the_proxy_lets_one_request_fewer_than_the_cap_upstream(cap, limit):
    assert upstream_limit(cap) == limit
