"""The slot's real-time `transaction` event: when it is due, what it says, its stable id, and that it goes
out once when all is well and again, with the same id, after a run that died between claim and send."""

import json
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
from builders import SLOT, stored_bid

from etp.market import bids, events
from etp.market.bids import BidPair, StoredBid

TAIPEI = ZoneInfo("Asia/Taipei")


def bid(account: str, side: str, status: str, pairs: tuple[BidPair, ...]) -> StoredBid:
    return stored_bid(id=f"{account}-bid", user_id=f"{account}-id", account=account, side=side, price=2,
                      status=status, version=1, fill_wh=sum(p.volume_wh for p in pairs), pairs=pairs)  # fmt: skip


def book(status: str, achievement: float | None = None) -> list[StoredBid]:
    def pair(counterpart: str, wh: int) -> BidPair:
        return BidPair(f"{counterpart}-id", counterpart, wh, achievement=achievement)

    return [
        bid("SellerA_BEMS", "sell", status, (pair("Buyer_BEMS", 5000),)),
        bid("SellerB_BEMS", "sell", status, (pair("Buyer_BEMS", 7000),)),
        bid("Buyer_BEMS", "buy", status, (pair("SellerA_BEMS", 5000), pair("SellerB_BEMS", 7000))),
        bid("Loser_BEMS", "buy", bids.LOST, ()),
    ]


class Push:
    """Claims without a lease (a claimed frame is re-sendable at once), like the store once it is over."""

    def __init__(self, fail_sends: int = 0) -> None:
        self.claims: dict[str, dict] = {}
        self.done: set[str] = set()
        self.sent: list[dict] = []
        self.fail_sends = fail_sends

    def claim(self, key: str, frame: dict) -> dict | None:
        if key in self.done:
            return None
        return self.claims.setdefault(key, frame)

    def mark_sent(self, key: str) -> None:
        self.done.add(key)

    def unsent(self, limit: int) -> list[tuple[str, dict]]:
        return [(key, frame) for key, frame in self.claims.items() if key not in self.done][:limit]

    def broadcast(self, message: dict) -> int:
        if self.fail_sends:
            self.fail_sends -= 1
            raise ConnectionError("the run dies between claim and send")
        self.sent.append(message)
        return 3


def test_the_event_names_each_pair_once_with_the_slots_local_date_and_time():
    event = events.transaction_event("deliver", SLOT, book(bids.DELIVERING), TAIPEI)
    assert event["event"] == "transaction" and isinstance(event["data"], str), "data is a JSON string"
    assert event["id"] == "deliver#2030-01-01T02:00:00Z", "the id names the event's source: step and slot"
    assert json.loads(event["data"]) == {
        "date": "2030/01/01",
        "time": "10:00",
        "transactions": [
            {"seller": "SellerA_BEMS", "buyer": "Buyer_BEMS", "achievement": 0},
            {"seller": "SellerB_BEMS", "buyer": "Buyer_BEMS", "achievement": 0},
        ],
    }
    settled = json.loads(events.transaction_event("settle", SLOT, book(bids.SETTLED, 0.75), TAIPEI)["data"])
    assert [t["achievement"] for t in settled["transactions"]] == [0.75, 0.75]


def test_the_delivery_event_is_due_once_delivery_started_and_the_settlement_event_once_all_settled():
    assert not events.due("deliver", book(bids.WON)) and events.due("deliver", book(bids.DELIVERING))
    assert not events.due("settle", book(bids.SETTLING))
    half = book(bids.SETTLED, 1.0)
    half[0] = replace(half[0], status=bids.SETTLING)
    assert not events.due("settle", half), "not before every won bid has settled"
    assert events.due("settle", book(bids.SETTLED, 1.0))
    assert not events.due("deliver", book(bids.LOST)[3:]), "a slot without pairs has no event"


def test_each_step_of_a_slot_is_announced_once_however_often_the_job_runs():
    push = Push()
    assert events.announce("deliver", SLOT, book(bids.DELIVERING), TAIPEI, push) == 3
    assert events.announce("deliver", SLOT, book(bids.DELIVERING), TAIPEI, push) is None
    assert events.announce("settle", SLOT, book(bids.SETTLING), TAIPEI, push) is None, "not due yet"
    assert events.announce("settle", SLOT, book(bids.SETTLED, 1.0), TAIPEI, push) == 3
    assert events.announce("settle", SLOT, book(bids.SETTLED, 1.0), TAIPEI, push) is None
    assert events.announce("seal", SLOT, book(bids.DELIVERING), TAIPEI, push) is None, "only deliver and settle"
    assert push.done == {"deliver#2030-01-01T02:00:00Z", "settle#2030-01-01T02:00:00Z"}
    assert [frame["id"] for frame in push.sent] == ["deliver#2030-01-01T02:00:00Z", "settle#2030-01-01T02:00:00Z"]
    assert events.resend_unsent(push) == [], "nothing is left to re-send"


def test_a_frame_claimed_by_a_run_that_died_is_sent_by_the_next_run_with_the_same_id():
    push = Push(fail_sends=1)
    with pytest.raises(ConnectionError):
        events.announce("deliver", SLOT, book(bids.DELIVERING), TAIPEI, push)
    assert push.sent == [] and push.done == set()
    assert events.announce("deliver", SLOT, book(bids.DELIVERING), TAIPEI, push) == 3, "a re-run sends it"
    assert events.resend_unsent(push) == [], "once sent, it is not offered again"
    first = events.transaction_event("deliver", SLOT, book(bids.DELIVERING), TAIPEI)
    assert push.sent == [first]

    other = Push(fail_sends=1)
    with pytest.raises(ConnectionError):
        events.announce("settle", SLOT, book(bids.SETTLED, 0.5), TAIPEI, other)
    # the next run is another step's (the next hour's delivery): it re-sends what was left first
    assert events.resend_unsent(other) == ["settle#2030-01-01T02:00:00Z"]
    assert [frame["id"] for frame in other.sent] == ["settle#2030-01-01T02:00:00Z"]
    assert json.loads(other.sent[0]["data"])["transactions"][0]["achievement"] == 0.5, "the same frame"
    assert events.resend_unsent(other) == []
