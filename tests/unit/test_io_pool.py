"""etp.io_pool: requests in parts from a bounded pool of I/O threads."""

import threading
import time

from etp.io_pool import io_map, parts


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
