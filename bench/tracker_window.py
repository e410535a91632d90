"""A fanned-out busy run (bench/tracker_scale.py --workers W): each shard invocation's share of the
run, one after another against the same dev node and MiniStack (as W concurrent invocations would
each have one Lambda to itself), and the slowest one against the 5-minute schedule."""

import time
from zoneinfo import ZoneInfo


def window(tangle, fleet, platform_private: str, workers: int, busy, meters: int) -> int:
    from tracker_scale import Counted, hint_sizes, node_process, noting_hints

    from etp.iota.node import NodeClient
    from etp.meters.readings_store import DynamoReadingStore
    from etp.meters.store import DynamoAddressBook, DynamoMeterStore
    from etp.meters.tracker import Shard, Tracker

    updated: set[str] = set()
    slowest, stored = 0.0, 0
    with node_process(tangle) as node_url:
        for index in range(workers):
            client = Counted(NodeClient(node_url, timeout=120))
            hints = noting_hints(updated)
            tracker = Tracker(
                node=client,  # type: ignore[arg-type]
                addresses=DynamoAddressBook(),
                meters=DynamoMeterStore().get_many,
                store=DynamoReadingStore(),
                platform_private_pem=platform_private,
                zone=ZoneInfo("Asia/Taipei"),
                hints=hints,
            )
            started = time.perf_counter()
            report = tracker.run(busy, Shard(index, workers))
            wall = time.perf_counter() - started
            slowest, stored = max(slowest, wall), stored + report.stored
            print(
                f"worker {index}: {wall:.1f} s, {report.addresses:,} addresses, {report.stored:,} stored; "
                "node requests: "
                f"{client.calls['findTransactions']} findTransactions, {client.calls['getTrytes']} getTrytes "
                f"(the largest list {client.largest_list:,} items, the largest answer {client.largest_answer:,} hashes;"
                f" IRI: 1,000 and 100,000)"
            )
    sizes = hint_sizes(updated)
    print(f"hint items updated: {len(sizes)}, the largest {max(sizes) / 1024:.0f} KB (DynamoDB's limit: 400 KB)")
    print(f"stored by the {workers} workers together: {stored:,}")
    print(f"window: {meters} meters, {workers} workers, slowest worker {slowest:.1f} s of 300 s")
    return 0
