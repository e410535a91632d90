"""Storage that does not grow forever (etp.retention): what expires carries the TTL attribute its table's
TimeToLiveSpecification names, and what is money, a reading or an audit record never does; in-process
against moto."""

import os
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from aws_fixtures import template
from builders import stored_bid

from etp.market.store import DynamoBidStore
from etp.meters.discovery_store import DynamoHints

SLOT = datetime(2030, 1, 3, 2, tzinfo=UTC)
A_DAY = 24 * 60 * 60


def item(table_variable: str, key_name: str, key: str) -> dict:
    found = boto3.client("dynamodb").get_item(TableName=os.environ[table_variable], Key={key_name: {"S": key}})
    return found["Item"]


def all_items(table_variable: str) -> list[dict]:
    return boto3.client("dynamodb").scan(TableName=os.environ[table_variable])["Items"]


@pytest.mark.parametrize(
    ("table", "attribute"),
    [("LedgerTable", "expires_at"), ("BidsTable", "expires_at"), ("IdempotencyTable", "expiration")],
)
def test_the_template_turns_on_the_ttl_of_each_table_that_holds_expiring_items(table, attribute):
    assert template()["Resources"][table]["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": attribute,
        "Enabled": True,
    }


def test_the_trackers_hints_expire_three_days_after_their_day(aws):
    hints = DynamoHints()
    hints.add_hashes("2030-01-01", 5, ["A" * 81, "B" * 81])
    hints.add_hours("2030-01-01", ["ABCDEFGHIJKLF"])
    day_end = int(datetime(2030, 1, 2, tzinfo=UTC).timestamp())
    written = all_items("LEDGER_TABLE")
    assert {i["key"]["S"] for i in written} == {
        "seen#2030-01-01#05#A0",
        "seen#2030-01-01#05#B0",
        "hours#2030-01-01#05#A",
    }
    assert {int(i["expires_at"]["N"]) for i in written} == {day_end + 3 * A_DAY}
    hints.add_hashes("2030-01-01", 5, ["A" + "C" * 80])  # a later run adds to an item: the same expiry
    assert int(item("LEDGER_TABLE", "key", "seen#2030-01-01#05#A1")["expires_at"]["N"]) == day_end + 3 * A_DAY


def test_a_slots_marker_expires_400_days_after_the_slot_its_side_guards_7_days_and_its_bids_never(aws):
    store = DynamoBidStore()
    bid = stored_bid(
        id="bid-1",
        user_id="user-1",
        account="Seller_BEMS",
        side="sell",
        slot=SLOT,
        kwh=1,
        price=2,
        uploaded_at=SLOT - timedelta(days=1),
        version=1,
    )
    store.create(bid)
    store.seal_slot(SLOT, SLOT - timedelta(minutes=20))
    marker = item("BIDS_TABLE", "id", "slot#2030-01-03T02:00:00Z")
    assert int(marker["expires_at"]["N"]) == int(SLOT.timestamp()) + 400 * A_DAY
    guard = item("BIDS_TABLE", "id", "side#user-1#2030-01-03T02:00:00Z")
    assert int(guard["expires_at"]["N"]) == int(SLOT.timestamp()) + 7 * A_DAY
    assert "expires_at" not in item("BIDS_TABLE", "id", "bid-1")
