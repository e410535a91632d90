"""Opening a run's envelopes (RSA-2048 decrypt + verify, etp.meters.envelope) on every core the
function has.

Lambda gives a function vCPUs in proportion to its memory, and no /dev/shm: multiprocessing.Pool,
Queue, Lock and concurrent.futures.ProcessPoolExecutor all make a SemLock, which fails there
(`OSError: [Errno 38] Function not implemented`). What works is what this uses: plain
`multiprocessing.Process`es (forked: no start-up imports, no resource tracker) each talking to
this process over its own `Pipe` (a socket pair). The jobs are split in as many contiguous shares
as there are cores; this process opens the first share itself while the workers open theirs,
then collects their answers in order. One core (or a handful of jobs) opens everything here.
"""

import multiprocessing
import os
from collections.abc import Sequence
from multiprocessing.connection import Connection

from etp.meters import envelope

Job = tuple[bytes, str]  # (the envelope as sent, the meter's public key PEM)
Opened = tuple[bool, bytes | str]  # (True, payload) or (False, the EnvelopeError's reason)
MIN_SHARE = 32  # fewer jobs a worker than this are not worth a fork


def cores() -> int:
    """The cores this process may run on (a Lambda function: its vCPUs)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def open_one(job: Job, platform_private_pem: str) -> Opened:
    raw, meter_public_pem = job
    try:
        return True, envelope.open_envelope(
            raw, platform_private_pem=platform_private_pem, meter_public_pem=meter_public_pem
        )
    except envelope.EnvelopeError as reason:
        return False, str(reason)


def _serve(connection: Connection, platform_private_pem: str) -> None:
    """A worker: open one share of jobs, send back what each came to, exit."""
    try:
        jobs = connection.recv()
        connection.send([open_one(job, platform_private_pem) for job in jobs])
    finally:
        connection.close()


def open_all(jobs: Sequence[Job], platform_private_pem: str, processes: int | None = None) -> list[Opened]:
    """What each envelope opens to, in order, on `processes` cores (default: all of them)."""
    count = max(1, min(processes or cores(), len(jobs) // MIN_SHARE))
    if count == 1:
        return [open_one(job, platform_private_pem) for job in jobs]
    size = -(-len(jobs) // count)
    shares = [list(jobs[i : i + size]) for i in range(0, len(jobs), size)]
    context = multiprocessing.get_context("fork")
    workers = []
    for share in shares[1:]:
        mine, theirs = context.Pipe()
        worker = context.Process(target=_serve, args=(theirs, platform_private_pem), daemon=True)
        worker.start()
        theirs.close()
        mine.send(share)
        workers.append((worker, mine))
    opened = [open_one(job, platform_private_pem) for job in shares[0]]
    for worker, connection in workers:
        opened += connection.recv()
        connection.close()
        worker.join()
    return opened
