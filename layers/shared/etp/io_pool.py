"""Requests sent in parts from a bounded pool of I/O threads (DynamoDB batches, the node's lists).

The threads wait on the network, so they overlap even under the GIL; the bound keeps them within
botocore's pool of 10 connections a client.
"""

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

IO_THREADS = 4  # requests in flight at once (read at each call: the moto tests set 1)


def parts[T](items: Sequence[T], size: int) -> list[list[T]]:
    """`items` in consecutive lists of at most `size`."""
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


def io_map[T, R](request: Callable[[T], R], items: Iterable[T], threads: int | None = None) -> list[R]:
    """`request` of each item, in order, at most `threads` (IO_THREADS) at once; one item: no thread."""
    items = list(items)
    if len(items) <= 1:
        return [request(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(threads or IO_THREADS, len(items))) as pool:
        return list(pool.map(request, items))
