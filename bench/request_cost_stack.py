"""Request cost against history on a deployed stack, as a client meets it: every read route over HTTP
for an account with no history beside one with ten times the demo's week (request_cost.py's data),
side by side in one run.

    make bench        (goal: <= 1.2x the empty account's time for every route)

template.yaml built and deployed with the SAM CLI to a MiniStack of its own (as `make run` does), the
history written through the platform's stores, then each route called through the :3000-style proxy,
the accounts alternately, ROUNDS times each; the figure is the median. On the bid routes a third
account, holding only History_BEMS's bids from /matchresult's window start on (so the same answers
there), shows what the older history adds at an equal answer; /matchresult, whose answer is every
bid of its window, is judged against it.

MiniStack is not DynamoDB either: a Query costs it time for every item of the index partition it reads
(it sorts the whole partition and evaluates the key condition on each item, where DynamoDB seeks the
key), so partitions that hold what one answer needs (an hour of a user's readings, a week of a
user's bids) keep these figures near 1.
"""

import json
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import request_cost

ROUNDS = int(os.environ.get("BENCH_HTTP_ROUNDS", "30"))
STACK_NAME = "etp-bench"
# The routes on which Window_BEMS answers exactly what History_BEMS does.
SAME_ANSWER = {"GET /homepage", "GET /bidsubmit (list) p1/5", "GET /matchresult *"}


def call(url: str, bearer: str | None = None, body: dict | None = None) -> bytes:
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {bearer}"} if bearer else {})
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")  # noqa: S310
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 (the loopback proxy)
        return answer.read()


def route_url(api: str, event_file: str, query: dict | None) -> str:
    path = json.loads((request_cost.ROOT / "events" / event_file).read_text())["path"]
    return f"{api}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")


def medians(url: str, *bearers: str) -> list[float]:
    """The median ms of ROUNDS calls of `url` for each bearer, called alternately after a warm-up each."""
    times: list[list[float]] = [[] for _ in bearers]
    for bearer in bearers:
        call(url, bearer)  # a warm container for each, as the rounds will meet
    for _ in range(ROUNDS):
        for spent, bearer in zip(times, bearers, strict=True):
            started = time.perf_counter()
            call(url, bearer)
            spent.append(time.perf_counter() - started)
    return [statistics.median(spent) * 1000 for spent in times]


def main() -> int:
    from etp_admin import stack as stacks
    from etp_devnode.server import DevNode
    from etp_local import deploy
    from etp_local.ministack import MiniStack, free_port
    from etp_local.proxy import Proxy

    with tempfile.TemporaryDirectory() as state:
        ministack = MiniStack(free_port(), log_path=Path(state) / "ministack.log").start()
        node = DevNode("127.0.0.1", 0).start()
        proxy = None
        try:
            started = time.perf_counter()
            deploy.build(ministack.endpoint)
            parameters = deploy.local_parameters(node.url, ministack.endpoint)
            deploy.deploy(ministack.endpoint, stack_name=STACK_NAME, parameter_overrides=parameters)
            stack = stacks.resolve("local", stack_name=STACK_NAME, endpoint_url=ministack.endpoint)
            stack.bind_data_layer()
            print(f"stack deployed to MiniStack in {time.perf_counter() - started:.0f} s", flush=True)
            outputs, base = stack.outputs, deploy.execute_api_base(ministack.endpoint)
            proxy = Proxy(free_port(), f"{base}/{outputs['ApiId']}/{outputs['ApiStage']}").start()
            return run(proxy.url)
        finally:
            if proxy is not None:
                proxy.stop()
            node.stop()
            ministack.stop()


def run(api: str) -> int:
    from etp.clock import local_zone, utcnow
    from etp.market.views import match_window_start

    now = utcnow()
    ids = request_cost.create_accounts(now)
    readings = request_cost.store_readings(ids["History_BEMS"], now)
    placed = request_cost.store_bids(ids["History_BEMS"], ids["Counterpart_BEMS"], now)
    # the same bids as History_BEMS from /matchresult's window start on, and nothing older
    since = match_window_start(now, local_zone())
    window = request_cost.store_bids(ids["Window_BEMS"], ids["Counterpart_BEMS"], now, since, "Window_BEMS")
    print(f"request cost vs history (over HTTP, MiniStack): {readings} readings and {placed} bids vs none")
    bearers = {
        account: json.loads(call(f"{api}/login", body={"account": account, "password": request_cost.PASSWORD}))[
            "bearer"
        ]
        for account in ("Empty_BEMS", "History_BEMS", "Window_BEMS")
    }
    today = now.astimezone(local_zone()).strftime("%Y/%m/%d")
    print(f"{'':28} {'':>10} {'':>12} {'':>6} {'window only':>12}")
    print(f"{'route':28} {'empty (ms)':>10} {'history (ms)':>12} {'ratio':>6} {'(ms)':>12} {'ratio':>6}")
    worst = 0.0
    for label, _, event_file, query in request_cost.routes(today):
        url = route_url(api, event_file, query)
        accounts = ["Empty_BEMS", "History_BEMS"] + (["Window_BEMS"] if label in SAME_ANSWER else [])
        empty, history, *alone = medians(url, *(bearers[account] for account in accounts))
        # /matchresult's answer is every bid of its window: its cost against the empty account grows
        # with them, so the goal holds it against the account with those bids alone
        worst = max(worst, history / alone[0] if label.endswith("*") else history / empty)
        window_only = f"{alone[0]:12.1f} {history / alone[0]:6.2f}" if alone else ""
        print(f"{label:28} {empty:10.1f} {history:12.1f} {history / empty:6.2f} {window_only}".rstrip(), flush=True)
    print(
        f"window only: an account holding History_BEMS's {window} bids from /matchresult's window start on"
        " and nothing older (the same answer on these routes)"
    )
    print("* its answer is every bid of its window (3 days and the open ones): judged against window only")
    verdict = "OK" if worst <= request_cost.GOAL else "NOT MET"
    print(f"worst ratio {worst:.2f} (goal <= {request_cost.GOAL}): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
