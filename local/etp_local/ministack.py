"""Start and stop a MiniStack process bound to loopback.

It runs in a process group (a session) of its own, with the Lambda worker processes it starts, so
that a stop ends them all and a terminal's Ctrl-C reaches the runner, which stops it in order.
"""

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

LOCAL_AWS_ENV = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


LAMBDA_CONCURRENCY_ENV = "ETP_LAMBDA_CONCURRENCY"


def default_lambda_concurrency() -> int:
    """How many Lambda invocations may run at once: ETP_LAMBDA_CONCURRENCY, else twice the cores (at least 4).

    MiniStack runs each concurrent invocation in a Python worker process of its own, and by default
    lets as many run as half the memory allows at 21 MiB each (hundreds here). On a small machine a
    burst of requests then thrashes it: about 100 workers on 2 cores, one call taking 968 s. With a
    cap, an invocation past it is refused at once (MiniStack answers 429 TooManyRequestsException;
    the proxy queues the API's requests before they get there)."""
    raw = os.environ.get(LAMBDA_CONCURRENCY_ENV, "").strip()
    if raw:
        value = int(raw)
        if value < 1:
            raise ValueError(f"{LAMBDA_CONCURRENCY_ENV} must be at least 1, not {raw}")
        return value
    return max(4, 2 * (os.cpu_count() or 1))


def healthy(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/_ministack/health", timeout=1) as answer:  # noqa: S310 (loopback)
            return answer.status == 200
    except OSError:
        return False


class MiniStack:
    """A MiniStack child process (etp_local.ministack_server).

    `state_dir` persists its state across restarts (None: in memory), saved every `save_every` seconds
    and when it stops; `lambda_concurrency` caps the Lambda invocations running at once (None: the
    default of default_lambda_concurrency())."""

    def __init__(
        self,
        port: int,
        *,
        state_dir: Path | None = None,
        log_path: Path | None = None,
        save_every: float = 60,
        lambda_concurrency: int | None = None,
    ):
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self.state_dir = state_dir
        self.log_path = log_path
        self.save_every = save_every
        self.lambda_concurrency = lambda_concurrency or default_lambda_concurrency()
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> "MiniStack":
        if port_open(self.port):
            raise RuntimeError(f"127.0.0.1:{self.port} is already in use (another `make run`?)")
        env = {
            **os.environ,
            **LOCAL_AWS_ENV,
            "BIND_HOST": "127.0.0.1",
            "GATEWAY_PORT": str(self.port),
            "MINISTACK_HOST": "localhost",
            "IOT_MTLS_ENABLED": "0",  # it would listen on 0.0.0.0:8883, and nothing here uses IoT
            "LAMBDA_ACCOUNT_CONCURRENCY": str(self.lambda_concurrency),
            "ETP_STATE_SAVE_SECONDS": str(self.save_every),
        }
        if self.state_dir is not None:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            env.update(PERSIST_STATE="1", STATE_DIR=str(self.state_dir))
        out = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115 (lives as long as the process)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "etp_local.ministack_server"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,  # its own process group: the Lambda workers it starts are in it too
            preexec_fn=_stop_with_parent,
        )
        deadline = time.monotonic() + timeout
        while not healthy(self.endpoint):
            if self.process.poll() is not None:
                raise RuntimeError(f"MiniStack exited with {self.process.returncode} (see {self.log_path})")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"MiniStack did not answer on {self.endpoint} within {timeout:.0f} s")
            time.sleep(0.2)
        return self

    def stop(self, timeout: float = 6) -> None:
        """SIGTERM (it saves its state at once, then shuts down), at most `timeout` s for it to exit, then
        SIGKILL; then the rest of its process group (the Lambda workers) is ended too, within 2 s."""
        if self.process is None:
            return
        group = self.process.pid  # the session leader's pid is its process group's id
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _signal_group(group, signal.SIGKILL)
                self.process.wait()
        end_group(group)


# prctl looked up here, not in the forked child, where only async-signal-safe work belongs.
_PRCTL = ctypes.CDLL(None).prctl if sys.platform == "linux" else None
_PR_SET_PDEATHSIG = 1


def _stop_with_parent() -> None:
    """In the child (Linux): SIGTERM when the process that started it dies, even by SIGKILL, so that
    MiniStack saves its state and ends instead of living on unowned."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _signal_group(group: int, sig: signal.Signals) -> bool:
    """Sends `sig` to the process group; False when no process of it is left."""
    try:
        os.killpg(group, sig)
    except ProcessLookupError:
        return False
    return True


def end_group(group: int, grace: float = 2) -> None:
    """Ends what is left of a process group: SIGTERM, `grace` s, then SIGKILL."""
    if not _signal_group(group, signal.SIGTERM):
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not group_alive(group):
            return
        time.sleep(0.05)
    _signal_group(group, signal.SIGKILL)


def group_alive(group: int) -> bool:
    """Whether a process of the group still runs (zombies, which only wait to be reaped, do not count)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group and fields[0] != "Z":
                return True
    return False
