"""What the end-to-end tests do to the deployed stack: log in over HTTP, open the events WebSocket, run
etp-admin, wait for a job.

Every e2e module uses these, and only these, to log in and to run the operator CLI.
"""

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import requests
from websockets.sync.client import ClientConnection, connect

from etp_admin import demo

PASSWORD = demo.DEFAULT_DEMO_PASSWORD


def login(api: str, account: str, password: str = PASSWORD) -> requests.Response:
    """POST /login's answer, whatever it is."""
    return requests.post(f"{api}/login", json={"account": account, "password": password}, timeout=30)


def bearer(api: str, account: str, password: str = PASSWORD) -> dict[str, str]:
    """The Authorization header of a logged-in account; the login must succeed."""
    answer = login(api, account, password)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['bearer']}"}


def events(deployment, token: str, timeout: float = 30) -> ClientConnection:
    """A WebSocket to the deployment's /events with `token` as ?token=, through the proxy as a browser
    opens it (a context manager; close it when done). A refused handshake raises
    websockets.exceptions.InvalidStatus, its `.response.status_code` the answer's."""
    return connect(f"{deployment.events}?token={quote(token, safe='')}", open_timeout=timeout)


def receive_json(websocket: ClientConnection, timeout: float = 60) -> dict:
    """The next message of an events WebSocket, parsed (`{"event": ..., "data": "<json string>"}`)."""
    return json.loads(websocket.recv(timeout=timeout))


def run_admin(deployment, *argv: str, stdin: str = "", timeout: float = 300) -> subprocess.CompletedProcess:
    """etp-admin run against the deployment, with `stdin` as its standard input; the caller checks the outcome."""
    command = [
        str(Path(sys.executable).with_name("etp-admin")),
        "--env",
        "local",
        "--stack",
        deployment.stack.name,
        "--endpoint-url",
        deployment.endpoint,
        *argv,
    ]
    return subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=timeout)


def admin(deployment, *argv: str, stdin: str = "", timeout: float = 300) -> str:
    """etp-admin's output against the deployment; the command must succeed."""
    done = run_admin(deployment, *argv, stdin=stdin, timeout=timeout)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def eventually[T](probe: Callable[[], T | None], timeout: float = 90) -> T:
    """The first non-None answer of `probe`, polled every second (scheduled jobs run on their own)."""
    deadline = time.monotonic() + timeout
    while (answer := probe()) is None:
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(1)
    return answer


def power_rows(deployment, headers: dict[str, str], day: str, link: str) -> list[dict]:
    """The /power_info rows of a local day (YYYY/MM/DD) whose address is `link` (a transaction's explorer
    link), as the account logged in with `headers` (bearer()) sees them."""
    whole_day: dict[str, str | int] = {"per_page": 1000, "page": 1, "time": day}
    answer = requests.get(f"{deployment.api}/power_info", headers=headers, timeout=30, params=whole_day)
    assert answer.status_code == 200, answer.text
    return [row for row in answer.json()["data"] if row["address"] == link]
