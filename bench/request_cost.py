"""Request cost against history: every read route for an account with no history beside the same route
for an account with ten times the demo's week, side by side in one run.

    make bench        (it counts the items each route reads; request_cost_stack.py judges the goal,
                       <= 1.2x the empty account's time for every route, over HTTP)

History: 5 meters (one of each type) reading every 15 minutes for 7 days (3,360 readings), and one bid
an hour for 30 days (720 bids: 29 past days alternately won and settled, or lost; tomorrow's 24 open,
as the bid simulator places them), and EXTRA_OPEN_BUYS more open buys, two a slot from 8 days ahead
(another ISO week than today's, whose by-user-week partition /homepage may Query), so that the
account holds 300 open buys from tomorrow on (the GET /bidsubmit list, a page of 5). The empty
account has nothing; both share the tables with each other and with a counterpart account.

In-process: the API functions' handlers on moto's DynamoDB with the tables exactly as template.yaml
declares them (the integration tests' world). Figures per route and account: the median wall time of
ROUNDS calls, the two accounts called alternately (so a change of load hits both), and the DynamoDB
items the call reads (Query/Scan items, GetItem hits, BatchGetItem responses; the same on every call).
moto is not DynamoDB: its times are a proxy, the items read are the cost model's unit.
"""

import json
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import conftest  # noqa: E402,F401  (the tests' fake AWS environment, set before any project import)
from helpers import FakeLambdaContext, ItemsRead, load_event, load_function  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "9"))
os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # the handlers' info lines would drown the figures
# A fixed moment (20:00 in the platform's zone): today then holds 80 quarter-hours of readings.
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
GOAL = 1.2
PASSWORD = "bench-passphrase"  # noqa: S105 (the bench accounts' own, in moto)
KINDS = ("Demand", "PV", "EV", "ESS", "WT")
EXTRA_OPEN_BUYS = 288  # beside tomorrow's 12 hourly buys: 300 open buys


class EmulatorTime:
    """The time moto's DynamoDB spends answering (its own work, not the client's). moto, like MiniStack,
    sorts and filters a whole index partition for a Query, where DynamoDB seeks the key and reads only
    what the answer holds: that part of a request's time grows with history in the emulator only, so
    the platform's own time is reported beside the total."""

    def __init__(self) -> None:
        from moto.dynamodb.responses import DynamoHandler

        self.seconds = 0.0
        original = DynamoHandler.call_action
        timer = self

        def timed(handler):
            started = time.perf_counter()
            try:
                return original(handler)
            finally:
                timer.seconds += time.perf_counter() - started

        DynamoHandler.call_action = timed  # type: ignore[method-assign]


def create_accounts(now: datetime) -> dict[str, str]:
    """account -> user id, for the empty account, the one with history and its counterpart."""
    from etp.accounts import service
    from etp.accounts.store import DynamoUserStore

    store = DynamoUserStore()
    ids = {}
    for account in ("Empty_BEMS", "History_BEMS", "Counterpart_BEMS", "Window_BEMS"):
        spec = service.NewAccount(account=account, username=account, password=PASSWORD)
        ids[account] = service.create_account(store, None, spec, now).id
    return ids


def random_hash() -> str:
    import secrets

    return "".join(secrets.choice("9ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(81))


def store_readings(user_id: str, now: datetime) -> int:
    """A week of readings every 15 minutes from five meters (one per type), stored as the tracker
    stores them."""
    from etp.clock import to_utc_iso
    from etp.meters.readings import StoredReading
    from etp.meters.readings_items import LedgerModel, ReadingModel, stored_items
    from etp_admin.migrations import m0002_readings_rollups

    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=7)
    meters = {kind: str(uuid.uuid4()) for kind in KINDS}
    items = []
    for quarter in range(7 * 96):
        taken_at = start + timedelta(minutes=15 * quarter)
        for kind, meter_id in meters.items():
            power = round(3 + (quarter % 17) * 0.25, 3)
            reading = StoredReading(
                id=str(uuid.uuid4()),
                user_id=user_id,
                meter_id=meter_id,
                kind=kind,
                taken_at=taken_at,
                power_kw=power,
                tx_hash=random_hash(),
            )
            items.append((reading, {"value": power}, "B" * 81))
    # The items `store_many` writes, in batches, and the rollups once from a Scan (as the migration
    # 0002_readings_rollups computes them: the same values): moto copies every table for each transaction
    # and scans the whole table for each index Query, which made `store_many` take 390 s here.
    now_iso = to_utc_iso(now)
    with ReadingModel.batch_write() as readings_batch, LedgerModel.batch_write() as ledger_batch:
        for reading, values, address in items:
            marker, stored = stored_items(reading, values, address, now_iso)
            ledger_batch.save(marker)
            readings_batch.save(stored)
    m0002_readings_rollups.run(False, lambda: None)
    return len(items)


def store_bids(
    user_id: str, counterpart_id: str, now: datetime, since: datetime | None = None, account: str = "History_BEMS"
) -> int:
    """One bid an hour for 30 days: 29 past days won and settled, or lost; tomorrow's 24 open, and
    EXTRA_OPEN_BUYS more open buys from 8 days ahead. With `since`, only the bids of the slots from
    then on (the same slots, sides and outcomes)."""
    from etp.market import bids
    from etp.market.bid_items import BidModel
    from etp.market.store import DynamoBidStore

    tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    first = tomorrow - timedelta(days=29)
    placed = _hourly_bids(user_id, account, first, since)
    placed += _open_buys(user_id, account, tomorrow + timedelta(days=7))
    # The bid items as `create` writes them (in the open list while their slot has not started, and
    # its counts), in batches: moto copies every table for each transaction (a create is one), which
    # made 720 creates take 200 s. The side guards and slot markers that a create also writes are not
    # read by any route measured here (/bidstatus finds no marker: an unsealed slot).
    with BidModel.batch_write() as batch:
        for item in _bid_items(user_id, placed, now):
            batch.save(item)
    pair = bids.BidPair(counterpart_id, "Counterpart_BEMS", 5_000, achievement=1.0, settlement_milli=12_500)
    _record_outcomes(DynamoBidStore(), [bid for bid in placed if bid.slot < tomorrow], first, pair)
    return len(placed)


def _hourly_bids(user_id: str, account: str, first: datetime, since: datetime | None) -> list:
    """A bid an hour for 30 days from `first` (from `since` on, with it): buys and sells in turn."""
    from etp.market import bids

    return [
        bids.StoredBid(
            id=str(uuid.uuid4()),
            user_id=user_id,
            account=account,
            side="buy" if hour % 2 else "sell",
            slot=first + timedelta(hours=hour),
            volume_wh=5_000,
            price_milli=2_500,
            status=bids.SUBMITTED,
            uploaded_at=first + timedelta(hours=hour - 20),
            version=0,
        )
        for hour in range(30 * 24)
        if since is None or first + timedelta(hours=hour) >= since
    ]


def _bid_items(user_id: str, placed: list, now: datetime) -> list:
    """The bids' items, listed while their slot has not started, and the user's open-list counts."""
    from etp.market.bid_items import BidModel, bid_item, open_count_key

    items = [bid_item(bid, counted=True, listed=bid.slot > now) for bid in placed]
    for side in ("buy", "sell"):
        listed = sum(1 for bid in placed if bid.slot > now and bid.side == side)
        items.append(BidModel(open_count_key(user_id, side), open_bids=listed))
    return items


def _open_buys(user_id: str, account: str, first: datetime) -> list:
    """EXTRA_OPEN_BUYS open buys, two a slot from `first` on, at prices of their own."""
    from etp.market import bids

    return [
        bids.StoredBid(
            id=str(uuid.uuid4()),
            user_id=user_id,
            account=account,
            side="buy",
            slot=first + timedelta(hours=n // 2),
            volume_wh=1_000 + n,
            price_milli=2_000 + 37 * (n % 29),
            status=bids.SUBMITTED,
            uploaded_at=first - timedelta(days=6),
            version=0,
        )
        for n in range(EXTRA_OPEN_BUYS)
    ]


def _record_outcomes(store, past: list, first: datetime, pair) -> None:
    """Every third hour's bid lost, the others settled against `pair`."""
    from etp.market import bids

    for bid in past:
        lost = (bid.slot - first) // timedelta(hours=1) % 3 == 0
        written = store.record_outcome(
            bid,
            status=bids.LOST if lost else bids.SETTLED,
            expected=bids.SUBMITTED,
            fill_wh=0 if lost else 5_000,
            cleared_price_milli=2_400 if lost else 2_500,
            pairs=() if lost else (pair,),
        )
        assert written, bid


def routes(today: str) -> list[tuple[str, str, str, dict | None]]:
    """(label, function, event, query) of every read route measured."""
    return [
        ("GET /user", "accounts", "accounts/get_user.json", None),
        ("GET /homepage", "market", "market/homepage.json", None),
        (
            "GET /bidsubmit (list) p1/5",
            "market",
            "market/list_bids.json",
            {"bid_type": "buy", "per_page": "5", "page": "1"},
        ),
        ("GET /matchresult *", "market", "market/match_result.json", None),
        ("GET /bidstatus", "market", "market/bid_status.json", None),
        ("GET /power_info chart", "power", "power/chart.json", {"chart_date": today}),
        ("GET /power_info summary", "power", "power/summary.json", {"summary_date": today}),
        ("GET /power_info table p20", "power", "power/table.json", {"time": today, "per_page": "10", "page": "20"}),
    ]


def measure(function, event: dict, counter: ItemsRead, emulator: EmulatorTime) -> tuple[float, float, int]:
    """(the call's wall time, the part of it outside the emulator, the items it read)."""
    before, emulated = counter.count, emulator.seconds
    started = time.perf_counter()
    answer = function.lambda_handler(event, FakeLambdaContext())
    elapsed = time.perf_counter() - started
    assert answer["statusCode"] == 200, answer
    return elapsed, elapsed - (emulator.seconds - emulated), counter.count - before


def main() -> int:
    import time_machine

    with time_machine.travel(NOW, tick=True):
        return run()


def run() -> int:
    from aws_fixtures import MotoWorld

    from etp.clock import local_zone, utcnow

    world = MotoWorld()
    world.start()
    counter, emulator = ItemsRead(setattr), EmulatorTime()
    now = utcnow()
    ids = create_accounts(now)
    readings = store_readings(ids["History_BEMS"], now)
    placed = store_bids(ids["History_BEMS"], ids["Counterpart_BEMS"], now)
    print(f"request cost vs history (in-process, moto): {readings} readings and {placed} bids vs none")
    bearers = {}
    accounts = load_function("accounts")
    for account in ("Empty_BEMS", "History_BEMS"):
        event = load_event("accounts/login.json", body={"account": account, "password": PASSWORD})
        bearers[account] = json.loads(accounts.lambda_handler(event, FakeLambdaContext())["body"])["bearer"]
    today = now.astimezone(local_zone()).strftime("%Y/%m/%d")
    print(f"{'':28} {'total (ms)':>21} {'platform (ms)':>21} {'items read':>14}")
    print(f"{'route':28} {'empty':>7} {'history':>7} {'ratio':>5} {'empty':>7} {'history':>7} {'ratio':>5}")
    worst = 0.0
    for label, function_name, event_file, query in routes(today):
        function = load_function(function_name)
        totals: dict[str, list[float]] = {"Empty_BEMS": [], "History_BEMS": []}
        own: dict[str, list[float]] = {"Empty_BEMS": [], "History_BEMS": []}
        items: dict[str, int] = {}
        for _ in range(ROUNDS):
            for account in totals:
                event = load_event(event_file, bearer=bearers[account], query=query)
                elapsed, outside, read = measure(function, event, counter, emulator)
                totals[account].append(elapsed)
                own[account].append(outside)
                items[account] = read
        t_empty, t_history = (statistics.median(totals[a]) * 1000 for a in totals)
        o_empty, o_history = (statistics.median(own[a]) * 1000 for a in own)
        if not label.endswith("*"):
            worst = max(worst, o_history / o_empty)
        items_read = f"{items['Empty_BEMS']} vs {items['History_BEMS']}"
        print(
            f"{label:28} {t_empty:7.1f} {t_history:7.1f} {t_history / t_empty:5.2f}"
            f" {o_empty:7.1f} {o_history:7.1f} {o_history / o_empty:5.2f} {items_read:>14}"
        )
    print("* its answer is every bid of its window (3 days and the open ones): it grows with them, not the history")
    # the goal is a client's view: request_cost_stack.py judges it over HTTP
    print(f"worst platform ratio {worst:.2f} (in-process, for the record: the goal is judged over HTTP)")
    world.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
