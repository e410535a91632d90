"""Follow the functions' CloudWatch logs on the local stack and print them (what `sam logs` does on AWS)."""

import threading
import time

NOISE = ("START RequestId", "END RequestId")


class LogTail:
    def __init__(self, stack, prefix: str, interval: float = 2.0):
        self.logs = stack.client("logs")
        self.prefix = prefix
        self.interval = interval
        self.since = int(time.time() * 1000)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="logtail", daemon=True)

    def start(self) -> "LogTail":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._poll()
            except Exception as error:  # a log hiccup must never stop the stack
                print(f"(log tail: {error})", flush=True)

    def _poll(self) -> None:
        groups = self.logs.describe_log_groups(logGroupNamePrefix=self.prefix).get("logGroups", [])
        newest = self.since
        for group in groups:
            name = group["logGroupName"]
            events = self.logs.filter_log_events(logGroupName=name, startTime=self.since + 1).get("events", [])
            short = name.rsplit("/", 1)[-1].removeprefix("etp-local-").split("-")[0]
            for event in events:
                newest = max(newest, event["timestamp"])
                message = event["message"].rstrip()
                if message and not message.startswith(NOISE):
                    print(f"[{short}] {message}", flush=True)
        self.since = newest
