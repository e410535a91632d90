"""etp-admin market: a slot's order book and clearing, and its picture."""

import argparse
from datetime import datetime
from pathlib import Path

from etp.clock import local_zone, to_utc_iso
from etp.market import clearing
from etp.market.bids import StoredBid
from etp.market.jobs import outcome
from etp.market.merit import merit_order
from etp.market.store import DynamoBidStore
from etp.settings import settings
from etp_admin import plots  # matplotlib itself only once something is drawn
from etp_admin.cli.common import JSON, SLOT_HELP, Command, Group, arg, print_json, say, slot_time
from etp_admin.stack import Stack

PLOT_HELP = "also draw the merit-order curves, Q*, p* and the pairs to this PNG file (--json: and the lines drawn)"


def show(stack: Stack, args: argparse.Namespace) -> None:
    """A slot's order book, clearing and statuses, as an operator needs to see them."""
    slot = slot_time(args.slot)
    buys, sells = merit_order(DynamoBidStore().of_slot(slot))
    document = _book(slot, buys, sells)
    if args.plot:  # the JSON shows what was drawn too
        document["plot"] = plots.as_json(plot(Path(args.plot), document, buys, sells))
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


def _book(slot: datetime, buys: list[StoredBid], sells: list[StoredBid]) -> dict:
    """A slot's bids, buys then sells, each in priority order (merit.merit_order's), and its clearing
    (None until cleared, or when nothing crossed): kWh, NT$/kWh and NT$, as the API answers them."""
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


def plot(path: Path, document: dict, buys: list[StoredBid], sells: list[StoredBid]) -> plots.Drawn:
    """Draw the book as the auction sees it (etp_admin.plots.merit_order): the steps in merit order, the
    slot's clearing, or, before it is cleared, what clearing.clear would make of the bids now."""
    cleared, note = document["cleared"], ""
    if cleared is not None:
        point: tuple[float, float] | None = (cleared["volume_kwh"], cleared["price"])
        matches = [
            plots.Match(buyer=bid.account, seller=pair.counterpart, volume=pair.volume_wh / 1000)
            for bid in buys
            for pair in bid.pairs
        ]
    else:
        point, matches, note = _preview(buys, sells)
    drawn = plots.merit_order(
        path,
        title=f"slot {document['local_slot']} (local): {len(buys)} buys, {len(sells)} sells",
        buys=[plots.Step(bid.volume_wh / 1000, bid.price_milli / 1000, bid.account) for bid in buys],
        sells=[plots.Step(bid.volume_wh / 1000, bid.price_milli / 1000, bid.account) for bid in sells],
        cleared=point,
        matches=matches,
        note=note,
    )
    say(f"merit order drawn to {path}")
    return drawn


def _preview(
    buys: list[StoredBid], sells: list[StoredBid]
) -> tuple[tuple[float, float] | None, list[plots.Match], str]:
    """(Q*, p*), the pairs and a note: the slot is not cleared, so what the auction would make of
    its bids now, by clearing.clear with this CLI's CLEARING_K (the stack's may differ)."""
    try:
        book = [
            clearing.Bid(b.id, b.user_id, b.side, b.volume_wh, b.price_milli)  # type: ignore[arg-type]
            for b in buys + sells
        ]
        result = clearing.clear(book, settings().clearing_k)
    except ValueError as error:
        return None, [], f"not cleared; no preview: {error}"
    if result.price_milli is None:
        return None, [], "not cleared; nothing would cross now"
    accounts = {b.user_id: b.account for b in buys + sells}
    matches = [plots.Match(accounts[p.buyer], accounts[p.seller], p.volume_wh / 1000) for p in result.pairs]
    point = (result.volume_wh / 1000, result.price_milli / 1000)
    return point, matches, f"not cleared yet: the auction as it would clear now (k = {settings().clearing_k})"


GROUP = Group(
    "market",
    "the hourly market",
    (
        Command(
            "show",
            show,
            "a slot's order book, Q*, p*, pairs and statuses",
            (arg("--slot", required=True, help=SLOT_HELP), arg("--plot", metavar="FILE.png", help=PLOT_HELP), JSON),
        ),
    ),
)
