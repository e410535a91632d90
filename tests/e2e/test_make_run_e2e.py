"""`make run` (etp-local) as a user runs it, in a state folder of its own on free ports: Ctrl-C under load
stops it within 10 s and leaves no process of it behind, and the next run has the data of the first."""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from processes import alive, descendants
from stack_client import PASSWORD

from etp_local.ministack import free_port

READY = "==> ready in"


class Runner:
    """etp-local in a process group of its own, as a terminal runs it: Ctrl-C goes to the whole group."""

    def __init__(self, state: Path):
        self.api_port, self.ministack_port, self.node_port = free_port(), free_port(), free_port()
        command = [
            str(Path(sys.executable).with_name("etp-local")),
            *("--port", str(self.api_port), "--ministack-port", str(self.ministack_port)),
            *("--node-port", str(self.node_port), "--state-dir", str(state), "--save-every", "3600"),
        ]
        self.output: list[str] = []
        self.ready = threading.Event()
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
        threading.Thread(target=self._read, daemon=True).start()

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def upstream(self) -> str:
        """MiniStack's execute-api URL of the API, which the proxy forwards to (the summary names it)."""
        summary = next(line for line in self.output if line.strip().startswith("API "))
        return summary.split("(proxy to ", 1)[1].split(")", 1)[0]

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if line.startswith(READY):
                self.ready.set()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 900  # the first `sam build` of a fresh clone takes minutes
        while not self.ready.wait(1):
            assert self.process.poll() is None, "".join(self.output)
            assert time.monotonic() < deadline, "".join(self.output)

    def ctrl_c(self) -> float:
        """SIGINT to the group, as a terminal sends it; the seconds until the runner has exited."""
        started = time.monotonic()
        os.killpg(self.process.pid, signal.SIGINT)
        self.process.wait(timeout=60)
        return time.monotonic() - started


def login(api: str, account: str, password: str = PASSWORD) -> requests.Response:
    return requests.post(f"{api}/login", json={"account": account, "password": password}, timeout=60)


def keep_busy(api: str, bearer: str, until: threading.Event) -> None:
    while not until.is_set():
        with contextlib.suppress(requests.RequestException):  # the stack stopping under it
            requests.get(f"{api}/bidsubmit?bid_type=buy", headers={"Authorization": f"Bearer {bearer}"}, timeout=60)


def test_ctrl_c_under_load_stops_make_run_within_10_s_without_leftovers_and_the_data_stays(tmp_path):
    runner = Runner(tmp_path / "local")
    try:
        runner.wait_ready()
        bearer = login(runner.api, "Aggregator").json()["bearer"]
        created = requests.post(
            f"{runner.api}/user",
            json={"account": "Kept_BEMS", "username": "Kept", "password": "kept-passphrase"},
            headers={"Authorization": f"Bearer {bearer}"},
            timeout=60,
        )
        assert created.status_code == 201, created.text
        done = threading.Event()
        # through the proxy, and straight to MiniStack as the scheduled jobs come, past the proxy's limit
        load = [
            threading.Thread(target=keep_busy, args=(api, bearer, done), daemon=True)
            for api in (runner.api, runner.upstream)
            for _ in range(20)
        ]
        for thread in load:
            thread.start()
        time.sleep(5)
        processes = descendants(runner.process.pid)
        assert len(processes) >= 2  # MiniStack and Lambda workers

        assert runner.ctrl_c() < 10
        done.set()
        assert alive(processes) == set()
    finally:
        if runner.process.poll() is None:
            runner.ctrl_c()

    again = Runner(tmp_path / "local")
    try:
        again.wait_ready()
        assert login(again.api, "Kept_BEMS", "kept-passphrase").status_code == 200
    finally:
        again.ctrl_c()
