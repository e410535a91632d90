"""The real-time `transaction` event of a slot, pushed to every connected client when the slot starts
delivering and when it settles, at least once per slot and step.

A frame is `{"id": "<step>#<slot UTC start>", "event": "transaction", "data": "<JSON string>"}` (the
data is a string, as the old service sent it) of `{"date": "YYYY/MM/DD", "time": "HH:MM",
"transactions": [{"seller", "buyer", "achievement"}]}`: one transaction per matched pair, the slot's
local start, and the pair's achievement (0 when delivery starts: nothing is delivered yet; the
settled 0..1 afterwards). The `id` names the event's source, so a re-sent frame has the same one and
clients drop what they have seen.

Sending is claim -> send -> mark sent: the claim stores the frame and holds it for a lease; a run that
dies before marking it sent leaves it claimed, and a later run (the next deliver or settle run, which
first re-sends what is left: `resend_unsent`) claims it again when the lease is over and sends the
same frame. A frame is tried at most MAX_ATTEMPTS times (the store stops offering it after that).
"""

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from etp.clock import to_utc_iso
from etp.market import bids

STEPS = ("deliver", "settle")


RESEND_LIMIT = 10  # claimed-but-unsent frames one run re-sends


class Push(Protocol):
    def claim(self, key: str, frame: dict) -> dict | None:
        """Claim the sending of `key` for a lease: the frame to send (the first claim's, which the
        store keeps), or None when it was sent, another run holds it, or its attempts are used up."""
        ...

    def mark_sent(self, key: str) -> None:
        """Note that the frame of `key` went out: it is never offered again."""
        ...

    def unsent(self, limit: int) -> list[tuple[str, dict]]:
        """(key, frame) of up to `limit` frames claimed by runs that did not mark them sent, whose lease is over."""
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


def event_id(step: str, slot: datetime) -> str:
    return f"{step}#{to_utc_iso(slot)}"


def transaction_event(step: str, slot: datetime, book: Iterable[bids.StoredBid], zone: ZoneInfo) -> dict:
    start = slot.astimezone(zone)
    transactions = [
        {"seller": bid.account, "buyer": pair.counterpart, "achievement": pair.achievement or 0}
        for bid in sorted(book, key=lambda b: b.account)
        if bid.side == "sell"
        for pair in sorted(bid.pairs, key=lambda p: p.counterpart)
    ]
    data = {"date": start.strftime("%Y/%m/%d"), "time": start.strftime("%H:%M"), "transactions": transactions}
    return {"id": event_id(step, slot), "event": "transaction", "data": json.dumps(data, ensure_ascii=False)}


def send(push: Push, key: str, frame: dict) -> int | None:
    """Claim, send, mark sent: how many clients got the frame (None when it was not ours to send)."""
    claimed = push.claim(key, frame)
    if claimed is None:
        return None
    sent = push.broadcast(claimed)
    push.mark_sent(key)
    return sent


def announce(step: str, slot: datetime, book: list[bids.StoredBid], zone: ZoneInfo, push: Push) -> int | None:
    """Push the slot's event of `step` if it is due and was not sent before: how many clients got it
    (None when nothing was sent)."""
    if step not in STEPS or not due(step, book):
        return None
    frame = transaction_event(step, slot, book, zone)
    return send(push, frame["id"], frame)


def resend_unsent(push: Push, limit: int = RESEND_LIMIT) -> list[str]:
    """Send again the frames an earlier run claimed and did not mark sent (it died in between): their ids."""
    return [key for key, frame in push.unsent(limit) if send(push, key, frame) is not None]
