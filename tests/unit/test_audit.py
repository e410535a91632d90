"""The audit trail's records: canonical messages, digests, addresses, and verification."""

import json
from dataclasses import replace
from datetime import UTC, date, datetime

from builders import SLOT, stored_bid

from etp.audit import trail as audit
from etp.dr import rules as dr
from etp.dr.records import dr_result_record
from etp.iota.addresses import is_address
from etp.iota.send import MAX_MESSAGE_BYTES
from etp.market import bids, records
from etp.market.slots import Leave


def bid(number: int, status: str = bids.SEALED, **changes) -> bids.StoredBid:
    """Bid `number` of the slot: its id, user, side, volume and price all follow from the number."""
    numbered = {
        "id": f"bid-{number:04d}",
        "user_id": f"u{number}",
        "account": f"B{number}_BEMS",
        "side": "buy" if number % 2 else "sell",
        "volume_wh": 1000 + number,
        "price_milli": 2500 + number,
    }
    return stored_bid(status=status, version=1, **(numbered | changes))


def test_each_record_has_its_own_public_address_and_its_type_tag():
    first, second = audit.record_address("clearing#2030-01-01T02:00:00Z"), audit.record_address("clearing#x")
    assert is_address(first) and first != second and first == audit.record_address("clearing#2030-01-01T02:00:00Z")
    record = records.sealed_bids_record(SLOT, [bid(1)])
    assert record.key == "sealed-bids#2030-01-01T02:00:00Z" and record.tag.startswith("ETP9SEALED9BIDS")
    assert len(record.tag) == 27 and record.address == audit.record_address(record.key)


def test_the_sealed_digest_covers_every_sealed_bid_in_any_order_and_nothing_else():
    book = [bid(n) for n in range(5)]
    record = records.sealed_bids_record(SLOT, book)
    assert record.body["bids"] == 5
    assert records.sealed_bids_record(SLOT, reversed(book)).message() == record.message()
    assert records.sealed_bids_record(SLOT, [*book, bid(9, bids.SUBMITTED)]).message() == record.message()
    changed = [*book[:4], replace(book[4], price_milli=book[4].price_milli + 1)]
    assert records.sealed_bids_record(SLOT, changed).body["sha256"] != record.body["sha256"]
    assert json.loads(record.message()) == {
        "record": "sealed-bids",
        "subject": "2030-01-01T02:00:00Z",
        "bids": 5,
        "sha256": record.body["sha256"],
    }


def test_an_early_seal_says_so_in_its_record_and_only_then():
    book = [bid(n) for n in range(3)]
    early = records.sealed_bids_record(SLOT, book, early=True)
    assert json.loads(early.message()) == {
        **json.loads(records.sealed_bids_record(SLOT, book).message()),
        "early": True,
    }
    assert records.sealed_bids_record(SLOT, book, early=False) == records.sealed_bids_record(SLOT, book)
    assert "early" not in records.sealed_bids_record(SLOT, book).body, "records of seals at the gate are unchanged"


def test_an_early_seal_or_clear_names_the_operator_and_the_reason():
    leave = Leave(by="arn:aws:iam::123456789012:user/ops", reason="the grid operator asked")
    book = [bid(n) for n in range(3)]
    at_gate = json.loads(records.sealed_bids_record(SLOT, book).message())
    named = {"early": True, "operator": leave.by, "reason": leave.reason}
    assert json.loads(records.sealed_bids_record(SLOT, book, early=True, leave=leave).message()) == {**at_gate, **named}
    assert records.sealed_bids_record(SLOT, book, leave=leave) == records.sealed_bids_record(
        SLOT, book, early=True, leave=leave
    )
    decided = [bid(1, bids.LOST, cleared_price_milli=2500)]
    cleared = json.loads(records.clearing_record(SLOT, decided).message())
    assert not {"early", "operator", "reason"} & set(cleared)
    assert json.loads(records.clearing_record(SLOT, decided, leave=leave).message()) == {**cleared, **named}


def test_the_clearing_record_states_price_volume_and_a_digest_of_fills_and_pairs():
    pair = bids.BidPair(counterpart_id="u2", counterpart="B2_BEMS", volume_wh=600)
    book = [
        bid(1, bids.WON, fill_wh=600, cleared_price_milli=2500, pairs=(pair,)),
        bid(
            2,
            bids.WON,
            fill_wh=600,
            cleared_price_milli=2500,
            pairs=(bids.BidPair(counterpart_id="u1", counterpart="B1_BEMS", volume_wh=600),),
        ),
        bid(3, bids.LOST, cleared_price_milli=2500),
    ]
    record = records.clearing_record(SLOT, book)
    assert (record.body["bids"], record.body["price_milli"], record.body["volume_wh"]) == (3, 2500, 600)
    settled = [
        replace(book[0], status=bids.SETTLED, pairs=(replace(pair, achievement=1.0, settlement_milli=1500),)),
        *book[1:],
    ]
    assert records.clearing_record(SLOT, settled).message() == record.message(), "settling does not change the record"
    refilled = [replace(book[0], fill_wh=500), *book[1:]]
    assert records.clearing_record(SLOT, refilled).body["sha256"] != record.body["sha256"]
    empty = records.clearing_record(SLOT, []).body
    assert (empty["bids"], empty["price_milli"], empty["volume_wh"]) == (0, None, 0)


def test_a_dr_result_record_states_the_decision():
    offer = dr.DrOffer(
        id="6f1c0b5e-0000-4000-8000-000000000001",
        user_id="u1",
        executor="Carlab_BEMS",
        day=date(2030, 1, 2),
        volume_w=5000,
        price_milli=2500,
        offered_at=SLOT,
    )
    declined = json.loads(dr_result_record(replace(offer, status=dr.DECLINED, result=False)).message())
    assert declined == {
        "record": "dr-result",
        "subject": offer.id,
        "executor": "Carlab_BEMS",
        "day": "2030-01-02",
        "volume_w": 5000,
        "price_milli": 2500,
        "result": False,
        "acceptor": None,
        "start": None,
        "end": None,
    }
    accepted = replace(
        offer,
        status=dr.ACCEPTED,
        result=True,
        acceptor="SGESC",
        acceptor_id="a1",
        start=datetime(2030, 1, 2, 5, tzinfo=UTC),
        end=datetime(2030, 1, 2, 7, tzinfo=UTC),
    )
    body = json.loads(dr_result_record(accepted).message())
    assert (body["result"], body["acceptor"], body["start"], body["end"]) == (
        True,
        "SGESC",
        "2030-01-02T05:00:00Z",
        "2030-01-02T07:00:00Z",
    )


def test_records_fit_one_transaction_however_large_the_slot():
    record = records.clearing_record(SLOT, [bid(n, bids.WON, fill_wh=n) for n in range(5000)])
    assert len(record.message()) < MAX_MESSAGE_BYTES


def test_verification_names_each_mismatch():
    record = records.sealed_bids_record(SLOT, [bid(1), bid(2)])
    stored, tx = record.message(), "H" * 81
    good = audit.Entry(hash=tx, address=record.address, tag=record.tag, message=stored)
    assert audit.verify(stored, record, tx, good, [tx, tx]) == []
    assert audit.verify(stored, record, None, None, []) == ["not published yet"]
    assert audit.verify(stored, record, tx, None, [tx]) == [f"transaction {tx} is not on the node"]
    tampered = records.sealed_bids_record(SLOT, [bid(1), bid(2, price_milli=1)])
    assert audit.verify(stored, tampered, tx, good, [tx, tx])[0].startswith("the stored data no longer matches")
    assert audit.verify(stored, record, tx, replace(good, message=b"{}"), [tx, tx]) == [
        "the transaction's message differs from the recorded message"
    ]
    assert audit.verify(stored, record, tx, replace(good, tag="X" * 27), [tx, tx]) == [
        "the transaction has another tag"
    ]
    assert audit.verify(stored, record, tx, replace(good, address="A" * 81), [tx, tx]) == [
        "the transaction is at another address"
    ]
    assert audit.verify(stored, record, tx, good, [tx, None]) == [
        "not every covered record carries the transaction hash"
    ]
