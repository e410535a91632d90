"""What the end-to-end tests do to the deployed stack: log in over HTTP, run etp-admin, wait for a job."""

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

from etp_admin import demo


def bearer(api: str, account: str) -> dict[str, str]:
    answer = requests.post(f"{api}/login", json={"account": account, "password": demo.DEFAULT_DEMO_PASSWORD},
                           timeout=30)
    return {"Authorization": f"Bearer {answer.json()['bearer']}"}


def admin(deployment, *argv: str) -> str:
    """etp-admin's output against the deployment; the command must succeed."""
    command = [str(Path(sys.executable).with_name("etp-admin")), "--env", "local", "--stack", deployment.stack.name,
               "--endpoint-url", deployment.endpoint, *argv]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def eventually[T](probe: Callable[[], T | None], timeout: float = 90) -> T:
    """The first non-None answer of `probe`, polled every second (scheduled jobs run on their own)."""
    deadline = time.monotonic() + timeout
    while (answer := probe()) is None:
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(1)
    return answer
