"""Start and stop a MiniStack process bound to loopback."""

import os
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


def healthy(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}/_ministack/health", timeout=1) as answer:  # noqa: S310 (loopback)
            return answer.status == 200
    except OSError:
        return False


class MiniStack:
    """A MiniStack child process. `state_dir` persists its state across restarts (None: in memory)."""

    def __init__(self, port: int, *, state_dir: Path | None = None, log_path: Path | None = None):
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self.state_dir = state_dir
        self.log_path = log_path
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
        }
        if self.state_dir is not None:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            env.update(PERSIST_STATE="1", STATE_DIR=str(self.state_dir))
        out = open(self.log_path, "ab") if self.log_path else None  # noqa: SIM115 (lives as long as the process)
        executable = Path(sys.executable).with_name("ministack")
        self.process = subprocess.Popen(
            [str(executable)], env=env, stdout=out, stderr=subprocess.STDOUT if out else None
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

    def stop(self, timeout: float = 20) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # MiniStack saves its state on SIGTERM
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
