"""The slot's real-time `transaction` event: when it is due, what it says, and that it goes out once."""

import json
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from etp.market import bids, events
from etp.market.bids import BidPair, StoredBid

TAIPEI = ZoneInfo("Asia/Taipei")
SLOT = datetime(2030, 1, 1, 2, tzinfo=UTC)  # 10:00 in Taipei


def bid(account: str, side: str, status: str, pairs: tuple[BidPair, ...]) -> StoredBid:
    return StoredBid(id=f"{account}-bid", user_id=f"{account}-id", account=account, side=side, slot=SLOT,
                     volume_wh=5000, price_milli=2000, status=status, uploaded_at=SLOT, version=1,
                     fill_wh=sum(p.volume_wh for p in pairs), pairs=pairs)  # fmt: skip


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
    def __init__(self) -> None:
        self.claimed: set[str] = set()
        self.sent: list[dict] = []

    def once(self, key: str) -> bool:
        if key in self.claimed:
            return False
        self.claimed.add(key)
        return True

    def broadcast(self, message: dict) -> int:
        self.sent.append(message)
        return 3


def test_the_event_names_each_pair_once_with_the_slots_local_date_and_time():
    event = events.transaction_event(SLOT, book(bids.DELIVERING), TAIPEI)
    assert event["event"] == "transaction" and isinstance(event["data"], str), "data is a JSON string"
    assert json.loads(event["data"]) == {
        "date": "2030/01/01",
        "time": "10:00",
        "transactions": [
            {"seller": "SellerA_BEMS", "buyer": "Buyer_BEMS", "achievement": 0},
            {"seller": "SellerB_BEMS", "buyer": "Buyer_BEMS", "achievement": 0},
        ],
    }
    settled = json.loads(events.transaction_event(SLOT, book(bids.SETTLED, 0.75), TAIPEI)["data"])
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
    assert push.claimed == {"deliver#2030-01-01T02:00:00Z", "settle#2030-01-01T02:00:00Z"} and len(push.sent) == 2
