"""etp-admin market: a slot's order book and clearing, and the bids' migrations."""

import argparse
import json

from etp.clock import local_zone
from etp.market.jobs import outcome
from etp.market.store import DynamoBidStore
from etp_admin.cli.common import SLOT_HELP, Command, Group, arg, slot_time
from etp_admin.stack import Stack


def show(stack: Stack, args: argparse.Namespace) -> None:
    """A slot's order book, clearing and statuses, as an operator needs to see them."""
    slot = slot_time(args.slot)
    book = sorted(
        DynamoBidStore().of_slot(slot),
        key=lambda b: (b.side, -b.price_milli if b.side == "buy" else b.price_milli, b.id),
    )
    zone = local_zone()
    print(f"slot {slot.astimezone(zone):%Y/%m/%d %H:00} (local)  {len(book)} bids")
    print(f"{'side':<5} {'account':<16} {'kWh':>9} {'NT$/kWh':>8} {'status':<4} {'filled kWh':>10}  pairs")
    for bid in book:
        pairs = ", ".join(
            f"{p.counterpart} {p.volume_wh / 1000:g} kWh"
            + (f" ach {p.achievement} = NT$ {p.settlement_milli / 1000:g}" if p.settlement_milli is not None else "")
            for p in bid.pairs
        )
        print(
            f"{bid.side:<5} {bid.account:<16} {bid.volume_wh / 1000:>9g} {bid.price_milli / 1000:>8g} "
            f"{bid.status:<4} {bid.fill_wh / 1000:>10g}  {pairs}"
        )
    cleared = outcome(book)
    if cleared["price_milli"] is None:
        print("not cleared (yet), or nothing crossed")
        return
    print(f"Q* = {cleared['volume_wh'] / 1000:g} kWh   p* = {cleared['price_milli'] / 1000:g} NT$/kWh")


def backfill_indexes(stack: Stack, args: argparse.Namespace) -> None:
    """Give bids stored before the `by-user-week` index their key, and put won bids stored before the
    latest-wins lists on their owners' lists (idempotent)."""
    store = DynamoBidStore()
    print(json.dumps({"updated": store.backfill_index_keys(), "win_lists": store.backfill_latest_wins()}))


GROUP = Group(
    "market",
    "the hourly market",
    (
        Command(
            "show",
            show,
            "a slot's order book, Q*, p*, pairs and statuses",
            (arg("--slot", required=True, help=SLOT_HELP),),
        ),
        Command("backfill-indexes", backfill_indexes, backfill_indexes.__doc__ or ""),
    ),
)
