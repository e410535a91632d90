"""Load bench: N buildings at once bid, edit and withdraw on one slot through the local stack while their
readers poll their pages; then the slot is sealed and cleared early, and the sealed book is held
against what the clients were told.

    .venv/bin/python bench/load.py [--clients 100]

It starts a stack of its own, as `make run` runs one (MiniStack with its Lambda concurrency cap, the
IOTA dev node, template.yaml built and deployed with the SAM CLI, the demo data, the :3000-style proxy
with its upstream limit), so that a run neither needs nor disturbs a `make run` and always starts
from the same state. The demo Aggregator creates the buildings (Load_BEMS_001, ...) through POST /user;
that part is not measured. Then every building, each on a thread of its own, logs in and bids (half
buy, half sell) on one slot ten days ahead (away from the bid simulator's next day), edits its bid
twice (PUT), and every fourth withdraws it (DELETE), every eighth then bidding again; beside it a
reader polls GET /bidsubmit, /homepage and /matchresult. Every mutating request carries a fresh
`Idempotency-Key` (a UUID); a request that times out (or whose connection drops) is sent again with the
same key and body, up to RETRIES times. After the load, the slot is sealed and cleared early through
the operator CLI (`etp-admin jobs run seal|clear --early`, with `--reason` when the CLI has it).

It prints requests/s, p50/p95 latency, the count of 5xx, of 429, of resets and of timeouts, and
checks that the slot's sealed book holds exactly the bids each client believes exist (the last 2xx
answer of each: created, edited to its final values, not withdrawn), and that none is still open.
Exit status 0 when there are no resets, no 5xx and the book matches; 1 otherwise.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import requests

STACK_NAME = "etp-load"
PASSWORD = "load-bench-passphrase"  # noqa: S105 (the bench's own accounts, in its own throwaway stack)
TIMEOUT = 120.0  # seconds a request may take before it counts as timed out (the proxy queues for up to 60)
RETRIES = 2
READ_ROUNDS = 3
PAGES = ("/bidsubmit?bid_type={side}", "/homepage", "/matchresult")


@dataclass
class Outcome:
    kind: str  # "GET", "POST /bidsubmit", ...
    status: int | None  # None: no answer
    seconds: float
    error: str | None = None  # "reset", "timeout", "error"


@dataclass
class Tally:
    outcomes: list[Outcome] = field(default_factory=list)
    retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)


class Client:
    """One building's connection to the API: every request recorded in `tally`."""

    def __init__(self, api: str, tally: Tally):
        self.api = api
        self.tally = tally
        self.session = requests.Session()
        self.headers: dict[str, str] = {}

    def send(self, method: str, path: str, body: dict | None = None) -> requests.Response | None:
        """The answer, or None when none came (after the retries, for a mutating request)."""
        key = {"Idempotency-Key": str(uuid.uuid4())} if method in ("POST", "PUT", "DELETE") else {}
        for attempt in range(RETRIES + 1 if key else 1):
            if attempt:
                with self.tally.lock:
                    self.tally.retries += 1
            answer = self._once(method, path, body, key)
            if answer is not None:
                return answer
        return None

    def _once(self, method: str, path: str, body: dict | None, key: dict[str, str]) -> requests.Response | None:
        kind = method if method == "GET" else f"{method} {path}"
        started = time.perf_counter()
        try:
            answer = self.session.request(
                method, self.api + path, json=body, headers=self.headers | key, timeout=(10, TIMEOUT)
            )
        except requests.Timeout:
            self.tally.add(Outcome(kind, None, time.perf_counter() - started, "timeout"))
            return None
        except requests.ConnectionError as error:
            reset = "reset" in str(error).lower() or "aborted" in str(error).lower()
            self.tally.add(Outcome(kind, None, time.perf_counter() - started, "reset" if reset else "error"))
            return None
        self.tally.add(Outcome(kind, answer.status_code, time.perf_counter() - started))
        return answer


@dataclass
class Building:
    """A building's writer: what it believes it has in the slot, from the answers it got."""

    number: int
    client: Client
    slot: datetime
    bids: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # id -> (side, Wh, milli-NT$)
    unknown: int = 0  # mutations that got no answer at all

    @property
    def account(self) -> str:
        return f"Load_BEMS_{self.number:03d}"

    @property
    def side(self) -> str:
        return "buy" if self.number % 2 == 0 else "sell"

    def body(self, volume: float, price: float) -> dict:
        end = self.slot + timedelta(hours=1)
        return {
            "bid_type": self.side,
            "start_time": f"{self.slot:%Y/%m/%d %H}",
            "end_time": f"{end:%Y/%m/%d %H}",
            "value": volume,
            "price": price,
        }

    def login(self) -> bool:
        answer = self.client.send("POST", "/login", {"account": self.account, "password": PASSWORD})
        if answer is None or answer.status_code != 200:
            return False
        self.client.headers = {"Authorization": f"Bearer {answer.json()['bearer']}"}
        return True

    def place(self, volume: float, price: float) -> str | None:
        answer = self.client.send("POST", "/bidsubmit", self.body(volume, price))
        if answer is None:
            self.unknown += 1
        elif answer.status_code == 200:
            bid = answer.json()["id"]
            self.bids[bid] = (self.side, round(volume * 1000), round(price * 1000))
            return bid
        return None

    def edit(self, bid: str, volume: float, price: float) -> None:
        answer = self.client.send("PUT", "/bidsubmit", self.body(volume, price) | {"id": bid})
        if answer is None:
            self.unknown += 1
        elif answer.status_code == 200:
            self.bids[bid] = (self.side, round(volume * 1000), round(price * 1000))

    def withdraw(self, bid: str) -> None:
        answer = self.client.send("DELETE", "/bidsubmit", {"id": bid})
        if answer is None:
            self.unknown += 1
        elif answer.status_code == 200:
            self.bids.pop(bid, None)

    def run(self) -> None:
        if not self.login():
            self.unknown += 1
            return
        base = 2.0 + (self.number % 10) / 10  # buy 2.0-2.9 against sell 2.0-2.9 NT$/kWh: some cross
        bid = self.place(5 + self.number % 7, base)
        if bid is None:
            return
        self.edit(bid, 6 + self.number % 5, base + 0.1)
        self.edit(bid, 4 + self.number % 3, base + 0.05)
        if self.number % 4 == 0:
            self.withdraw(bid)
            if self.number % 8 == 0:
                self.place(3, base)


def read_pages(building: Building) -> None:
    """The building's reader: its pages, READ_ROUNDS times, once its writer has logged in."""
    deadline = time.monotonic() + TIMEOUT
    while not building.client.headers and time.monotonic() < deadline:
        time.sleep(0.05)
    for _ in range(READ_ROUNDS):
        for page in PAGES:
            building.client.send("GET", page.format(side=building.side))


def run_load(buildings: list[Building]) -> float:
    """Every building's writer and reader at once; the wall time in seconds."""
    threads = [threading.Thread(target=b.run) for b in buildings]
    threads += [threading.Thread(target=read_pages, args=(b,)) for b in buildings]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def create_accounts(api: str, count: int) -> None:
    from etp_admin import demo

    login = requests.post(f"{api}/login", json={"account": "Aggregator", "password": demo.demo_password()}, timeout=60)
    login.raise_for_status()
    headers = {"Authorization": f"Bearer {login.json()['bearer']}"}
    for number in range(count):
        account = f"Load_BEMS_{number:03d}"
        body = {"account": account, "username": f"Load building {number}", "password": PASSWORD}
        created = requests.post(f"{api}/user", json=body, headers=headers, timeout=60)
        if created.status_code not in (201, 409):
            raise RuntimeError(f"POST /user {account}: {created.status_code} {created.text}")


def operator(stack, endpoint: str, *argv: str) -> None:
    """etp-admin against the bench's stack; the command must succeed."""
    base = [str(Path(sys.executable).with_name("etp-admin")), "--env", "local", "--stack", stack.name]
    done = subprocess.run([*base, "--endpoint-url", endpoint, *argv], capture_output=True, text=True, timeout=600)
    if done.returncode:
        raise RuntimeError(f"etp-admin {' '.join(argv)}: {done.stderr or done.stdout}")


def early_seal_and_clear(stack, endpoint: str, slot: datetime) -> None:
    """Seal, then clear, the slot before its gate, as an operator would (with a reason when the CLI takes one)."""
    base = [str(Path(sys.executable).with_name("etp-admin")), "jobs", "run", "--help"]
    takes_reason = "--reason" in subprocess.run(base, capture_output=True, text=True, timeout=120).stdout
    reason = ["--reason", "load bench: sealing its slot after the load"] if takes_reason else []
    for job in ("seal", "clear"):
        operator(stack, endpoint, "jobs", "run", job, "--slot", f"{slot:%Y-%m-%dT%H:00}", "--early", *reason)


def book_check(buildings: list[Building], slot: datetime) -> tuple[bool, list[str]]:
    """(the sealed book is what the clients believe, the lines that say so or what differs)."""
    from etp.market import bids as statuses
    from etp.market.store import DynamoBidStore

    ours = {b.account for b in buildings}
    book = DynamoBidStore().of_slot(slot)
    stored = {b.id: (b.side, b.volume_wh, b.price_milli) for b in book if b.account in ours}
    believed = {bid: values for b in buildings for bid, values in b.bids.items()}
    still_open = [b.id for b in book if b.status == statuses.SUBMITTED]
    lines = [
        f"sealed book: {len(stored)} bids of the bench's buildings ({len(book) - len(stored)} of others);"
        f" the clients believe in {len(believed)}"
    ]
    differences = _differences(believed, stored, still_open)
    lines += differences
    equal = not differences
    lines.append("book equals the accepted bids: " + ("OK" if equal else "NO"))
    return equal, lines


def _differences(believed: dict, stored: dict, still_open: list[str]) -> list[str]:
    """The lines naming each way the book differs from what the clients believe (none when it does not)."""
    missing, extra = believed.keys() - stored.keys(), stored.keys() - believed.keys()
    changed = [bid for bid in believed.keys() & stored.keys() if believed[bid] != stored[bid]]
    lines = []
    for label, ids in (
        ("believed, not in the book", missing),
        ("in the book, not believed", extra),
        ("other values than believed", changed),
        ("still open after clearing", still_open),
    ):
        lines += [f"  {label}: {sorted(ids)}"] if ids else []
    return lines


def figures(tally: Tally, wall: float, buildings: list[Building]) -> tuple[int, list[str]]:
    """(count of resets + 5xx, the report's lines)."""
    outcomes = tally.outcomes
    answered = sorted(o.seconds for o in outcomes if o.status is not None)
    count = _counts(outcomes)
    p50, p95, longest = _latencies_ms(answered)
    lines = [
        f"{len(outcomes)} requests in {wall:.1f} s: {len(outcomes) / wall:.1f} requests/s;"
        f" latency p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {longest:.0f} ms",
        "  " + ", ".join(f"{label} {n}" for label, n in count.items()) + f"; retried {tally.retries}",
        "  by kind: " + _by_kind(outcomes),
        f"  mutations without any answer (after retries): {sum(b.unknown for b in buildings)}",
    ]
    return count["resets"] + count["5xx"], lines


def _counts(outcomes: list) -> dict[str, int]:
    """The outcomes by what they were: answers by status class, failures by kind."""
    statuses = [o.status for o in outcomes if o.status is not None]
    errors = [o.error for o in outcomes]
    return {
        "5xx": sum(1 for status in statuses if status >= 500),
        "429": statuses.count(429),
        "other 4xx": sum(1 for status in statuses if 400 <= status < 500 and status != 429),
        "resets": errors.count("reset"),
        "timeouts": errors.count("timeout"),
        "other errors": errors.count("error"),
    }


def _latencies_ms(answered: list[float]) -> tuple[float, float, float]:
    """(p50, p95, max) of the answered requests' seconds, in ms (0 without enough answers)."""
    p50, p95 = (statistics.quantiles(answered, n=100)[i] * 1000 for i in (49, 94)) if len(answered) > 1 else (0, 0)
    return p50, p95, answered[-1] * 1000 if answered else 0


def _by_kind(outcomes: list) -> str:
    """How many requests of each kind, by kind."""
    kinds = sorted({o.kind for o in outcomes})
    return ", ".join(f"{k} {sum(1 for o in outcomes if o.kind == k)}" for k in kinds)


def bench(api: str, stack, endpoint: str, clients: int) -> int:
    from etp.clock import local_zone, utcnow

    now = utcnow().astimezone(local_zone())
    slot = (now + timedelta(days=10)).replace(hour=12, minute=0, second=0, microsecond=0)
    started = time.perf_counter()
    create_accounts(api, clients)
    print(
        f"{clients} buildings created in {time.perf_counter() - started:.0f} s; slot {slot:%Y/%m/%d %H}:00", flush=True
    )
    tally = Tally()
    buildings = [Building(n, Client(api, tally), slot) for n in range(clients)]
    wall = run_load(buildings)
    bad, lines = figures(tally, wall, buildings)
    print("\n".join(lines), flush=True)
    early_seal_and_clear(stack, endpoint, slot)
    equal, lines = book_check(buildings, slot)
    print("\n".join(lines), flush=True)
    return 0 if equal and not bad else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=100, help="buildings at once (default 100)")
    args = parser.parse_args(argv)

    from etp_admin import demo
    from etp_admin import stack as stacks
    from etp_devnode.server import DevNode
    from etp_local import deploy
    from etp_local.ministack import MiniStack, free_port
    from etp_local.proxy import Proxy
    from etp_local.run import upstream_limit

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
            demo.seed_stack(stack, Path(state) / "meters", node_url=node.url)
            outputs, base = stack.outputs, deploy.execute_api_base(ministack.endpoint)
            limit = upstream_limit(ministack.lambda_concurrency)
            proxy = Proxy(free_port(), f"{base}/{outputs['ApiId']}/{outputs['ApiStage']}", max_upstream=limit).start()
            print(
                f"stack deployed to MiniStack in {time.perf_counter() - started:.0f} s; Lambda concurrency"
                f" {ministack.lambda_concurrency}, the proxy's upstream limit {limit}",
                flush=True,
            )
            return bench(proxy.url, stack, ministack.endpoint, args.clients)
        finally:
            if proxy is not None:
                proxy.stop()
            node.stop()
            ministack.stop()


if __name__ == "__main__":
    sys.exit(main())
