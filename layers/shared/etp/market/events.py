"""The real-time `transaction` event of a slot, pushed to every connected client when the slot starts
delivering and when it settles, once per slot and step.

The event is `{"event": "transaction", "data": "<JSON string>"}` (the data is a string, as the old
service sent it) of `{"date": "YYYY/MM/DD", "time": "HH:MM", "transactions": [{"seller", "buyer",
"achievement"}]}`: one transaction per matched pair, the slot's local start, and the pair's
achievement (0 when delivery starts: nothing is delivered yet; the settled 0..1 afterwards).
"""

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from etp.clock import to_utc_iso
from etp.market import bids

STEPS = ("deliver", "settle")


class Push(Protocol):
    def once(self, key: str) -> bool:
        """Claim the one sending of `key`; False when it was claimed before."""
        ...

    def broadcast(self, message: dict) -> int:
        """Send to every connected client; how many received it."""
        ...


def due(step: str, book: Iterable[bids.StoredBid]) -> bool:
    """Whether the slot's event of `step` is due: delivery has started, or every won bid has settled."""
    statuses = {b.status for b in book if b.pairs}
    if step == "deliver":
        return bids.DELIVERING in statuses
    return bids.SETTLED in statuses and not statuses & {bids.WON, bids.DELIVERING, bids.SETTLING}


def transaction_event(slot: datetime, book: Iterable[bids.StoredBid], zone: ZoneInfo) -> dict:
    start = slot.astimezone(zone)
    transactions = [
        {"seller": bid.account, "buyer": pair.counterpart, "achievement": pair.achievement or 0}
        for bid in sorted(book, key=lambda b: b.account)
        if bid.side == "sell"
        for pair in sorted(bid.pairs, key=lambda p: p.counterpart)
    ]
    data = {"date": start.strftime("%Y/%m/%d"), "time": start.strftime("%H:%M"), "transactions": transactions}
    return {"event": "transaction", "data": json.dumps(data, ensure_ascii=False)}


def announce(step: str, slot: datetime, book: list[bids.StoredBid], zone: ZoneInfo, push: Push) -> int | None:
    """Push the slot's event of `step` if it is due and was not pushed before: how many clients got it
    (None when nothing was sent). Claimed before sending, so a re-run never sends it twice (a run that
    dies between the claim and the sending loses that one event: the events are a courtesy, the
    results stay in /matchresult)."""
    if step not in STEPS or not due(step, book) or not push.once(f"{step}#{to_utc_iso(slot)}"):
        return None
    return push.broadcast(transaction_event(slot, book, zone))
