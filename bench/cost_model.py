"""The monthly DynamoDB and Lambda cost of the platform at a number of meters, from the per-run and
per-request counts the other benches measure (docs/testing.md, "Cost model"). Prices are parameters.

    python bench/cost_model.py [--meters 10000] [--users 2000] [--read-price 0.125] [--write-price 0.625] ...

Request units follow DynamoDB's rules: a write is 1 WRU per KB of the item (2 in a transaction), an
eventually consistent read 0.5 RRU per 4 KB, a strongly consistent one 1 RRU per 4 KB, and a Query
pays for the bytes it reads, not per item.
"""

import argparse
import math

MONTH_S = 30 * 24 * 3600
RUN_EVERY_S = 300  # the tracker's schedule
ADDRESSES_PER_INVOCATION = 25_000  # etp.meters.tracker.Tracker: more, and a run fans out


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--meters", type=int, default=10_000)
    p.add_argument("--users", type=int, default=2_000, help="buildings (accounts) the meters belong to")
    p.add_argument("--reading-every-s", type=int, default=900, help="each meter publishes one reading per")
    p.add_argument("--requests-per-user-day", type=int, default=200, help="API requests a building makes a day")
    p.add_argument("--bids-per-user-day", type=int, default=24, help="bids a building places a day (one a slot)")
    p.add_argument("--won-share", type=float, default=0.5, help="the share of bids that win")
    p.add_argument("--read-price", type=float, default=0.125, help="USD per million read request units")
    p.add_argument("--write-price", type=float, default=0.625, help="USD per million write request units")
    p.add_argument("--storage-price", type=float, default=0.25, help="USD per GB-month")
    p.add_argument("--lambda-gb-s-price", type=float, default=0.0000166667, help="USD per GB-second (x86)")
    p.add_argument("--lambda-request-price", type=float, default=0.20, help="USD per million invocations")
    p.add_argument("--tracker-busy-s", type=float, default=5.1, help="measured: bench/tracker_scale.py")
    p.add_argument("--tracker-idle-s", type=float, default=1.3, help="measured: bench/tracker_scale.py")
    p.add_argument("--tracker-memory-gb", type=float, default=3008 / 1024, help="template.yaml: 2 vCPUs")
    p.add_argument("--request-ms", type=float, default=60.0, help="an API request's Lambda time")
    p.add_argument("--api-memory-gb", type=float, default=0.5)
    return p.parse_args()


def units(size_bytes: float, per: float) -> float:
    return max(1.0, math.ceil(size_bytes / per))


def tracker(a: argparse.Namespace) -> dict[str, float]:
    """Request units a month of the tracker: per reading, per run and per meter."""
    readings = a.meters * MONTH_S / a.reading_every_s
    runs = MONTH_S / RUN_EVERY_S
    # the rollups: a run reads each user-day it has readings for (BatchGetItem, consistent: a ~3 KB day
    # item) and updates it in a transaction (2 WRU a KB), shared by that building's readings in the run
    per_user_day = max(1.0, a.meters / a.users * RUN_EVERY_S / a.reading_every_s)
    rollup_wru = 2 * units(3_000, 1024) / per_user_day
    per_reading_wru = (
        2 * units(700, 1024)  # the reading (~0.7 KB), in a transaction
        + units(700, 1024)  # its copy in the index projecting it all (by-user-hour)
        + 2 * units(150, 1024)  # its ledger marker tx#<hash>, in the same transaction
        + rollup_wru
    )
    per_reading_rru = (
        0.5  # the ledger lookup of a hash the hints do not know (BatchGet, eventually consistent)
        # the rollup's day item, read consistently; in order, no Query of the readings (a late one's
        # recompute, the hour + 15 min of its series, is rare and left out)
        + units(3_000, 4096) / per_user_day
    )
    # the hints (discovery_store): the (address, hour) pairs, one item per (UTC hour, first tryte), 13
    # bytes an address with a reading in the hour, of which a run reads the day's 648 (on average half
    # of them still empty: 0.5 RRU each); and the processed hashes, one item per (UTC hour, first
    # tryte and ninth of the second), 27 bytes a reading, of which it reads those of the ~3 hours it
    # asks about (243 keys each, 0.5 RRU at least). It updates the current hour's of both, an update
    # paying for the item's whole size (the hashes' half full on average), at most one per new reading.
    shards, seen_shards = 27, 27 * 9
    per_run_readings = a.meters * RUN_EVERY_S / a.reading_every_s
    hour_pairs_bytes = a.meters * 13 / shards
    hour_hashes_bytes = a.meters * 3600 / a.reading_every_s * 27 / seen_shards
    per_run_rru = (
        0.5 * units(a.meters * 250, 4096)  # the day's address book (Query, ~250 B an address)
        + 24 * shards * (0.5 * units(hour_pairs_bytes, 4096) + 0.5) / 2
        + 3 * seen_shards * 0.5 * units(hour_hashes_bytes, 4096)
    )
    per_run_wru = shards * units(hour_pairs_bytes, 1024) + min(seen_shards, per_run_readings) * units(
        hour_hashes_bytes / 2, 1024
    )
    # beyond one invocation's share (25,000 addresses, etp.meters.tracker) a run fans out: its shards
    # each read the address book again (the planning run reads it whole to count it); the work scales
    # with the shards' addresses, so only the extra Queries and invocations are counted here
    shards = 0 if a.meters <= ADDRESSES_PER_INVOCATION else math.ceil(a.meters / ADDRESSES_PER_INVOCATION)
    per_run_rru += shards * 0.5 * units(a.meters * 250, 4096)
    return {
        "readings": readings,
        "runs": runs,
        "invocations": runs * (1 + shards),
        "wru": readings * per_reading_wru + runs * per_run_wru,
        "rru": readings * per_reading_rru + runs * per_run_rru,
        # a month of readings (in the table and its index) and ledger markers
        "storage_gb": readings * (2 * 700 + 150) / 1e9,
        "lambda_gb_s": runs * (a.tracker_busy_s + a.tracker_idle_s) / 2 * a.tracker_memory_gb,
    }


def api(a: argparse.Namespace) -> dict[str, float]:
    """Request units a month of the API: what each route reads (docs/architecture.md, "What each route reads")."""
    requests = a.users * a.requests_per_user_day * 30
    per_request_rru = 0.5 * 2 + 0.5 * units(8 * 3_000, 4096) / 4  # the caller's user item; a quarter are 7-day charts
    return {
        "requests": requests,
        "rru": requests * per_request_rru,
        "lambda_gb_s": requests * a.request_ms / 1000 * a.api_memory_gb,
    }


def market(a: argparse.Namespace) -> dict[str, float]:
    """Request units a month of the bids, from POST /bidsubmit through settlement (a bid item is under
    1 KB: 1 WRU a write, 2 in a transaction, and 1 for its copy in each index holding it)."""
    placed = a.users * a.bids_per_user_day * 30
    copies = 2  # by-user-week and by-slot
    listed_copies = copies + 1  # and by-user-open, until its slot starts
    written = 1 + copies  # a bid's update, with its index copies
    listed = 1 + listed_copies  # the same while the bid is in its owner's open list
    # a transaction: the slot marker's count, the side guard, the owner's open-list count and the bid
    create = 2 * 4 + listed_copies
    # when its slot starts (the deliver job): a transaction of the bid, its by-user-open copy deleted
    # (its other copies updated), and the open-list count
    unlist = 2 * 2 + listed_copies
    per_bid_wru = (
        create
        + 2 * listed  # sealed (投標中 -> 已投標), then the seal's audit hash
        + 2 * listed  # its outcome, then the clearing's audit hash
        + unlist
    )
    # a win on top: its outcome is a transaction (+1) with the latest-wins list (+2), and it moves on
    # three more times (delivering, settling, settled); no copy in by-user-won (its key is no longer
    # written; the index goes in the release after this one)
    per_win_wru = 1 + 2 + 3 * written
    return {
        "placed": placed,
        "wru": placed * (per_bid_wru + a.won_share * per_win_wru),
        "rru": placed * a.won_share * 1,  # the list, read consistently before the transaction
    }


# DynamoDB bills an item's attribute names and values plus 100 bytes, in the table and in each index copy.
ITEM_OVERHEAD = 100
BID_BYTES = 600  # a bid item, its outcome and pairs included
GUARD_BYTES = 100  # a side guard side#<user>#<slot>, or a slot marker slot#<slot>
HINTS_DAYS = 3 + 1 + 2  # etp.retention.HINTS_KEPT after their day, the day itself, the TTL's lag (within ~2 days)
GUARDS_DAYS = 7 + 2  # etp.retention.GUARDS_KEPT after the slot, and the lag
MARKERS_DAYS = 400 + 2  # etp.retention.MARKERS_KEPT
IDEMPOTENCY_DAYS = 1 + 2  # etp.edge.retries: 24 h, and the lag
IDEMPOTENCY_BYTES = 400  # a record: the hashed key and body, the answer, the expiry
OPEN_DAYS = 14  # a bid's copy in by-user-open lives until its slot starts: at most the bidding horizon


def storage(a: argparse.Namespace, t: dict[str, float], m: dict[str, float]) -> dict[str, float]:
    """GB that each month of history adds for good (readings, ledger markers, bids: never deleted), and GB
    that what expires occupies at most, however long the platform runs (hints, slot markers and side
    guards, Idempotency-Key records, each with a TTL: etp.retention; the open lists' copies, which
    leave when their slot starts)."""
    bids_gb = m["placed"] * (BID_BYTES + ITEM_OVERHEAD) * 3 / 1e9  # the bid and its 2 index copies
    day_readings = a.meters * 86_400 / a.reading_every_s
    # hints a day: the (address, hour) pairs (13 B) and the processed hashes (27 B), 27 x 24 items of each
    hints_day = a.meters * 24 * 13 + day_readings * 27 + 2 * 27 * 24 * ITEM_OVERHEAD
    guards_day = a.users * a.bids_per_user_day * (GUARD_BYTES + ITEM_OVERHEAD)
    markers_day = 24 * (GUARD_BYTES + ITEM_OVERHEAD)
    # at most every write of the market with a key (the front end sends none)
    keyed_day = a.users * a.bids_per_user_day * 3 * (IDEMPOTENCY_BYTES + ITEM_OVERHEAD)
    # the open lists: each bid's by-user-open copy until its slot starts, and 2 counts a building
    open_lists = OPEN_DAYS * a.users * a.bids_per_user_day * (BID_BYTES + ITEM_OVERHEAD) + 2 * a.users * (
        GUARD_BYTES + ITEM_OVERHEAD
    )
    return {
        "kept_gb": t["storage_gb"] + bids_gb,
        "bounded_gb": (
            HINTS_DAYS * hints_day
            + GUARDS_DAYS * guards_day
            + MARKERS_DAYS * markers_day
            + IDEMPOTENCY_DAYS * keyed_day
            + open_lists
        )
        / 1e9,
    }


def main() -> None:
    a = parse()
    t, r, m = tracker(a), api(a), market(a)
    s = storage(a, t, m)
    dynamo = (t["rru"] + r["rru"] + m["rru"]) / 1e6 * a.read_price + (t["wru"] + m["wru"]) / 1e6 * a.write_price
    lambdas = (t["lambda_gb_s"] + r["lambda_gb_s"]) * a.lambda_gb_s_price
    invocations = (t["invocations"] + r["requests"]) / 1e6 * a.lambda_request_price
    print(f"cost model: {a.meters:,} meters, {a.users:,} buildings, a reading every {a.reading_every_s} s a meter")
    print(f"  tracker: {t['readings'] / 1e6:.1f} M readings and {t['runs']:,.0f} runs a month")
    print(f"           {t['wru'] / 1e6:.1f} M WRU, {t['rru'] / 1e6:.1f} M RRU, {t['lambda_gb_s']:,.0f} GB-s")
    print(f"  API:     {r['requests'] / 1e6:.1f} M requests, {r['rru'] / 1e6:.1f} M RRU, {r['lambda_gb_s']:,.0f} GB-s")
    print(f"  market:  {m['placed'] / 1e6:.2f} M bids, {m['wru'] / 1e6:.1f} M WRU, {m['rru'] / 1e6:.1f} M RRU")
    print(f"  DynamoDB requests  {dynamo:9.2f} USD/month (on demand: {a.read_price} / {a.write_price} per M RRU / WRU)")
    kept, bounded = s["kept_gb"] * a.storage_price, s["bounded_gb"] * a.storage_price
    print(f"  DynamoDB storage   {kept:9.2f} USD per month of history kept ({s['kept_gb']:.1f} GB: readings, bids)")
    print(f"                   + {bounded:7.2f} USD/month at most for what expires ({s['bounded_gb']:.1f} GB: TTL)")
    print(f"  Lambda             {lambdas + invocations:9.2f} USD/month")


if __name__ == "__main__":
    main()
