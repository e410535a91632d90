"""etp-admin market: a slot's order book and clearing."""

import argparse
from datetime import datetime

from etp.clock import local_zone, to_utc_iso
from etp.market.bids import StoredBid
from etp.market.clearing import merit_order
from etp.market.jobs import outcome
from etp.market.store import DynamoBidStore
from etp_admin.cli.common import JSON, SLOT_HELP, Command, Group, arg, print_json, slot_time
from etp_admin.stack import Stack


def show(stack: Stack, args: argparse.Namespace) -> None:
    """A slot's order book, clearing and statuses, as an operator needs to see them."""
    document = _book(slot_time(args.slot))
    if args.json:
        print_json(document)
        return
    print(f"slot {document['local_slot']} (local)  {len(document['bids'])} bids")
    print(f"{'side':<5} {'account':<16} {'kWh':>9} {'NT$/kWh':>8} {'status':<4} {'filled kWh':>10}  pairs")
    for bid in document["bids"]:
        pairs = ", ".join(
            f"{p['counterpart']} {p['volume_kwh']:g} kWh"
            + (f" ach {p['achievement']} = NT$ {p['settlement']:g}" if p["settlement"] is not None else "")
            for p in bid["pairs"]
        )
        print(
            f"{bid['side']:<5} {bid['account']:<16} {bid['volume_kwh']:>9g} {bid['price']:>8g} "
            f"{bid['status']:<4} {bid['filled_kwh']:>10g}  {pairs}"
        )
    cleared = document["cleared"]
    if cleared is None:
        print("not cleared (yet), or nothing crossed")
        return
    print(f"Q* = {cleared['volume_kwh']:g} kWh   p* = {cleared['price']:g} NT$/kWh")


def _book(slot: datetime) -> dict:
    """A slot's bids, buys then sells, each in priority order, and its clearing (None until cleared, or
    when nothing crossed): kWh, NT$/kWh and NT$, as the API answers them."""
    buys, sells = merit_order(DynamoBidStore().of_slot(slot))
    book = buys + sells
    cleared = outcome(book)
    return {
        "slot": to_utc_iso(slot),
        "local_slot": f"{slot.astimezone(local_zone()):%Y/%m/%d %H:00}",
        "bids": [_bid_json(bid) for bid in book],
        "cleared": None
        if cleared["price_milli"] is None
        else {
            "volume_kwh": cleared["volume_wh"] / 1000,
            "price": cleared["price_milli"] / 1000,
            "pairs": cleared["pairs"],
        },
    }


def _bid_json(bid: StoredBid) -> dict:
    return {
        "id": bid.id,
        "side": bid.side,
        "account": bid.account,
        "volume_kwh": bid.volume_wh / 1000,
        "price": bid.price_milli / 1000,
        "status": bid.status,
        "filled_kwh": bid.fill_wh / 1000,
        "pairs": [
            {
                "counterpart": p.counterpart,
                "volume_kwh": p.volume_wh / 1000,
                "achievement": p.achievement,
                "settlement": None if p.settlement_milli is None else p.settlement_milli / 1000,
            }
            for p in bid.pairs
        ],
    }


GROUP = Group(
    "market",
    "the hourly market",
    (
        Command(
            "show",
            show,
            "a slot's order book, Q*, p*, pairs and statuses",
            (arg("--slot", required=True, help=SLOT_HELP), JSON),
        ),
    ),
)
