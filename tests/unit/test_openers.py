"""Opening envelopes on every core (etp.meters.openers): worker processes over pipes, which work
where Lambda has no /dev/shm (no SemLock: multiprocessing.Pool and ProcessPoolExecutor fail)."""

import _multiprocessing
import errno
import functools
import json
import multiprocessing
import multiprocessing.synchronize
from concurrent.futures import ProcessPoolExecutor

import pytest
from aws_fixtures import platform_key_pair

from etp.meters import envelope, openers


@functools.cache
def meter_key_pair() -> tuple[str, str]:
    return envelope.new_key_pair()


def jobs(count: int) -> list[openers.Job]:
    platform_public = platform_key_pair()[1]
    meter_private, meter_public = meter_key_pair()
    found: list[openers.Job] = []
    for index in range(count):
        payload = json.dumps({"n": index}).encode()
        sealed = envelope.seal(payload, platform_public_pem=platform_public, meter_private_pem=meter_private)
        found.append((sealed if index % 7 else b"not an envelope", meter_public))
    return found


def expected(count: int) -> list[openers.Opened]:
    return [
        (True, json.dumps({"n": index}).encode()) if index % 7 else (False, "envelope is not JSON")
        for index in range(count)
    ]


@pytest.fixture
def forks(monkeypatch) -> list[int]:
    """Counts the worker processes started."""
    started: list[int] = []
    original = multiprocessing.get_context("fork").Process.start

    def start(self):
        started.append(1)
        return original(self)

    monkeypatch.setattr(multiprocessing.get_context("fork").Process, "start", start)
    return started


@pytest.fixture
def no_shared_memory(monkeypatch):
    """As on Lambda: no /dev/shm, so no semaphore can be made."""

    def refuse(*args, **kwargs):
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setattr(_multiprocessing, "SemLock", refuse)


def test_workers_open_each_share_in_order_without_shared_memory(no_shared_memory, forks):
    with pytest.raises(OSError, match="not implemented"):
        multiprocessing.get_context("fork").Pool(2)  # what Lambda refuses
    with pytest.raises(OSError, match="not implemented"):
        ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork"))
    count = 3 * openers.MIN_SHARE
    assert openers.open_all(jobs(count), platform_key_pair()[0], processes=3) == expected(count)
    assert len(forks) == 2  # this process opens the first share itself


def test_one_core_opens_everything_in_process(monkeypatch, forks):
    monkeypatch.setattr(openers, "cores", lambda: 1)
    count = 2 * openers.MIN_SHARE
    assert openers.open_all(jobs(count), platform_key_pair()[0]) == expected(count)
    assert forks == []


def test_a_handful_of_envelopes_is_not_worth_a_fork(forks):
    assert openers.open_all(jobs(5), platform_key_pair()[0], processes=4) == expected(5)
    assert openers.open_all([], platform_key_pair()[0], processes=4) == []
    assert forks == []
