"""etp.io_pool: requests in parts from a bounded pool of I/O threads."""

import threading
import time

import pytest

from etp import io_pool
from etp.io_pool import alongside, io_map, parts


def test_parts_are_consecutive_and_at_most_the_size():
    assert parts(list(range(7)), 3) == [[0, 1, 2], [3, 4, 5], [6]]
    assert parts([], 3) == [] and parts("abcd", 2) == [["a", "b"], ["c", "d"]]


def test_answers_come_in_order_with_at_most_the_bound_in_flight():
    lock, in_flight, most = threading.Lock(), [0], [0]

    def request(n: int) -> int:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.01)  # a wait on the network, so the threads overlap
        with lock:
            in_flight[0] -= 1
        return n * n

    assert io_map(request, range(12), threads=3) == [n * n for n in range(12)]
    assert most[0] == 3


def test_one_request_runs_in_the_calling_thread():
    caller = threading.get_ident()
    assert io_map(lambda _: threading.get_ident(), ["only"]) == [caller]
    assert io_map(lambda _: 1, []) == []


def test_alongside_overlaps_the_two_calls_and_returns_both(monkeypatch):
    monkeypatch.setattr(io_pool, "IO_THREADS", 4)
    background_started = threading.Event()

    def background() -> str:
        background_started.set()
        return "hints"

    def foreground() -> str:
        # Returns only once the other call has started: they run at the same time, not in turn.
        assert background_started.wait(timeout=5)
        return "addresses"

    assert alongside(background, foreground) == ("addresses", "hints")


def test_alongside_runs_in_turn_in_the_calling_thread_with_one_io_thread(monkeypatch):
    monkeypatch.setattr(io_pool, "IO_THREADS", 1)
    calls: list[tuple[str, int]] = []
    caller = threading.get_ident()
    assert alongside(
        lambda: calls.append(("background", threading.get_ident())),
        lambda: calls.append(("foreground", threading.get_ident())),
    ) == (None, None)
    assert calls == [("foreground", caller), ("background", caller)]


def test_alongside_raises_the_foreground_error_after_the_background_call_ends(monkeypatch):
    monkeypatch.setattr(io_pool, "IO_THREADS", 4)
    finished = threading.Event()

    def background() -> None:
        time.sleep(0.01)
        finished.set()

    def foreground() -> None:
        raise RuntimeError("the address book is unreachable")

    with pytest.raises(RuntimeError, match="unreachable"):
        alongside(background, foreground)
    assert finished.is_set()
