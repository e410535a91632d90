"""No accepted bid misses its auction, however far the slot index lags (issue #19, item 4), on moto.

DynamoDB's `by-slot` index is eventually consistent; moto's is not, so here its reads hide the newest
bids of the slot for a number of reads, as a lagging index would. Every bid write counts the bid on
the slot's marker, so the seal knows how many bids to wait for: it reads again (with pauses) until
the index shows them all, and the sealed-bids record and the clearing then cover exactly the slot's
bids. An index that never catches up fails the job (metric SlotIndexLag, which an alarm watches, an
error logged, and the invocation raises, so Lambda retries it) with nothing written but the seal
itself: the slot stays sealed (no bid enters or leaves it), no bid has moved, no audit record
exists, and the next run finishes the seal.
"""

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from aws_fixtures import template
from builders import placed_bid
from helpers import FakeLambdaContext, load_function, present

from etp.audit.store import DynamoOutbox
from etp.market import bids, records
from etp.market.bid_items import BidModel
from etp.market.bids import SlotSealed, StoredBid
from etp.market.store import DynamoBidStore

pytestmark = pytest.mark.usefixtures("aws", "frozen_clock")  # 09:10 in Taipei on 2030-01-01
jobs_function = load_function("market_jobs")
SLOT = datetime(2030, 1, 1, 2, tzinfo=UTC)  # 10:00-11:00 in Taipei: its gate is 09:40
OTHER = SLOT + timedelta(hours=1)
GATE = SLOT - timedelta(minutes=20)
SLOT_EVENT = "2030-01-01T10:00:00"
SEALED_KEY, CLEARING_KEY = "sealed-bids#2030-01-01T02:00:00Z", "clearing#2030-01-01T02:00:00Z"


def accepted(user: str, side: str, kwh: float, price: float, *, minutes_before_gate: int, slot=SLOT) -> StoredBid:
    uploaded_at = GATE - timedelta(minutes=minutes_before_gate)
    return placed_bid(user_id=user, side=side, slot=slot, kwh=kwh, price=price, uploaded_at=uploaded_at)


@pytest.fixture
def book() -> list[StoredBid]:
    """A seller and two buyers; the last buyer's bid was accepted a moment before the gate."""
    return [
        accepted("seller", "sell", 10, 2.0, minutes_before_gate=30),
        accepted("buyer", "buy", 6, 4.0, minutes_before_gate=20),
        accepted("late", "buy", 6, 3.0, minutes_before_gate=0),
    ]


@pytest.fixture
def lagging_index(monkeypatch):
    """Make the slot index hide the slot's `newest` bids (by acceptance) for its first `reads` reads;
    the pauses between the seal's reads are recorded, not slept."""
    real = DynamoBidStore.of_slot
    state = {"newest": 0, "reads": 0, "read": 0}
    pauses: list[float] = []

    def of_slot(self, slot: datetime) -> list[StoredBid]:
        shown = sorted(real(self, slot), key=lambda b: b.uploaded_at)
        state["read"] += 1
        if state["read"] <= state["reads"] and state["newest"]:
            return shown[: -state["newest"]]
        return shown

    def lag(newest: int, reads: int) -> list[float]:
        state.update(newest=newest, reads=reads, read=0)
        return pauses

    monkeypatch.setattr(DynamoBidStore, "of_slot", of_slot)
    monkeypatch.setattr("time.sleep", pauses.append)
    return lag


def run(job: str, **extra) -> dict:
    return jobs_function.lambda_handler({"job": job, "slot": SLOT_EVENT, **extra}, FakeLambdaContext())


def slot_bids() -> list[StoredBid]:
    """The slot's bids as stored (a consistent Scan: no index involved)."""
    items = BidModel.scan(filter_condition=BidModel.slot == "2030-01-01T02:00:00Z", consistent_read=True)
    return sorted((present(DynamoBidStore().get(i.id)) for i in items), key=lambda b: b.id)


def message(key: str) -> dict:
    return json.loads(present(DynamoOutbox().get(key)).message)


def test_the_seal_waits_for_the_index_and_seals_and_clears_the_bid_accepted_just_before_it(
    book, lagging_index, frozen_clock
):
    frozen_clock.now = GATE
    pauses = lagging_index(newest=1, reads=2)
    sealed = run("seal")["results"][0]
    assert sealed == {"slot": SLOT.isoformat(), "changed": 3, "audit_recorded": True, "index_reads": 3}
    assert pauses == [0.2, 0.4]
    assert {b.status for b in slot_bids()} == {bids.SEALED}
    assert message(SEALED_KEY) == json.loads(records.sealed_bids_record(SLOT, slot_bids()).message())

    frozen_clock.now = GATE + timedelta(minutes=5)
    lagging_index(newest=2, reads=3)
    cleared = run("clear")["results"][0]
    assert {k: cleared[k] for k in ("changed", "volume_wh", "price_milli", "pairs")} == {
        "changed": 3,
        "volume_wh": 10_000,
        "price_milli": 2_500,
        "pairs": 2,
    }, "the late buyer's 4 kWh are in the auction"
    decided = slot_bids()
    assert {b.status for b in decided} == {bids.WON}, "no bid of the cleared slot is left 投標中 or 已投標"
    assert message(CLEARING_KEY) == json.loads(records.clearing_record(SLOT, decided).message())
    assert message(SEALED_KEY)["bids"] == message(CLEARING_KEY)["bids"] == 3, "both records cover the same bids"
    assert present(DynamoBidStore().slot_state(SLOT).cleared_at) == frozen_clock.now


def test_a_clear_with_no_seal_before_it_waits_for_the_index_too(book, lagging_index, frozen_clock):
    frozen_clock.now = GATE + timedelta(minutes=5)
    pauses = lagging_index(newest=1, reads=4)
    cleared = run("clear")["results"][0]
    assert cleared["volume_wh"] == 10_000 and cleared["pairs"] == 2 and pauses == [0.2, 0.4, 0.8, 1.6]
    assert {b.status for b in slot_bids()} == {bids.WON}
    assert message(SEALED_KEY)["bids"] == message(CLEARING_KEY)["bids"] == 3


def test_an_index_that_never_catches_up_fails_the_job_with_nothing_half_written(
    book, lagging_index, frozen_clock, caplog, capsys
):
    frozen_clock.now = GATE
    before = slot_bids()
    pauses = lagging_index(newest=1, reads=1_000)
    capsys.readouterr()
    with pytest.raises(Exception, match="the slot index shows 2 of the 3 bids sealed in slot") as failed:
        run("seal")
    assert type(failed.value).__name__ == "IndexLag", "the invocation fails, so Lambda retries it"
    assert pauses == [0.2, 0.4, 0.8, 1.6, 3.2], "bounded: six reads, 6.2 s of pauses"
    (error,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert error.message == "slot index lagging behind the slot's bids" and "2 of the 3" in error.reason
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [m["SlotIndexLag"] for m in emitted if "SlotIndexLag" in m] == [[1.0]], "the metric the alarm watches"

    alarms = [r["Properties"] for r in template()["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert any(a["MetricName"] == "SlotIndexLag" and a["Threshold"] == 1 for a in alarms), "and an alarm on it"

    state = DynamoBidStore().slot_state(SLOT)
    assert state.sealed_at == GATE and state.bids == 3 and state.cleared_at is None, "only the seal itself"
    assert slot_bids() == before, "no bid moved: all still 投標中"
    assert DynamoOutbox().get(SEALED_KEY) is None and DynamoOutbox().get(CLEARING_KEY) is None, "no record"
    with pytest.raises(SlotSealed):  # and the sealed slot takes no bid meanwhile
        accepted("later", "buy", 1, 9.0, minutes_before_gate=-1)

    frozen_clock.now = GATE + timedelta(minutes=5)
    with pytest.raises(Exception, match="2 of the 3"):
        run("clear")
    assert slot_bids() == before and DynamoOutbox().get(CLEARING_KEY) is None
    assert DynamoBidStore().slot_state(SLOT).cleared_at is None

    lagging_index(newest=0, reads=0)  # the index caught up: the retry finishes the seal and the clearing
    cleared = run("clear")["results"][0]
    assert cleared["changed"] == 3 and cleared["volume_wh"] == 10_000
    assert {b.status for b in slot_bids()} == {bids.WON}
    assert message(SEALED_KEY)["bids"] == message(CLEARING_KEY)["bids"] == 3


def marker(slot: datetime) -> dict:
    key = {"id": {"S": f"slot#{slot.isoformat().replace('+00:00', 'Z')}"}}
    return boto3.client("dynamodb").get_item(TableName="etp-test-bids", Key=key, ConsistentRead=True).get("Item", {})


def test_every_accepted_write_keeps_the_slots_count_and_a_refused_one_changes_nothing(book):
    store = DynamoBidStore()
    assert store.slot_state(SLOT).bids == 3 and store.slot_state(OTHER).bids == 0
    seller, buyer, late = (present(store.get(b.id)) for b in book)
    store.replace(buyer, replace(buyer, price_milli=4_500, version=buyer.version + 1))
    assert store.slot_state(SLOT).bids == 3, "an edit within the slot"
    store.replace(late, replace(late, slot=OTHER, version=late.version + 1))
    assert (store.slot_state(SLOT).bids, store.slot_state(OTHER).bids) == (2, 1), "a bid that moves slots"
    store.delete(present(store.get(seller.id)))
    assert store.slot_state(SLOT).bids == 1
    with pytest.raises(bids.BidConflict):  # a stale version: refused
        store.delete(seller)
    with pytest.raises(bids.BidConflict):  # the other side in a slot where the user sells: refused
        store.create(replace(seller, id="again", side="sell", slot=OTHER, user_id="late"))
    assert (store.slot_state(SLOT).bids, store.slot_state(OTHER).bids) == (1, 1)

    # a bid stored before the count existed (as if: its flag and its count taken away) is in no count,
    # and withdrawing or moving it takes nothing off
    for user in ("old", "older"):
        old = accepted(user, "buy", 1, 1.0, minutes_before_gate=60)
        BidModel(old.id).update(actions=[BidModel.counted.remove()])
        BidModel(f"slot#{SLOT.isoformat().replace('+00:00', 'Z')}").update(actions=[BidModel.bid_count.add(-1)])
    assert store.slot_state(SLOT).bids == 1
    first, second = (b for b in slot_bids() if not b.counted)
    store.delete(first)
    store.replace(second, replace(second, slot=OTHER, version=second.version + 1))
    assert (store.slot_state(SLOT).bids, store.slot_state(OTHER).bids) == (1, 2), "a moved bid is counted anew"
    assert present(store.get(second.id)).counted and marker(SLOT)["bid_count"] == {"N": "1"}
