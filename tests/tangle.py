"""Test helpers that act as meters: sealed readings as legacy transaction trytes."""

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from etp.iota.transaction import NULL_HASH, Transaction
from etp.iota.trytes import bytes_to_trytes
from etp.meters import envelope, readings

ACCOUNT = "Carlab_BEMS"


def demand_payload(taken_at: datetime, *, account: str = ACCOUNT, reading_id: str | None = None, **overrides) -> bytes:
    body = {
        "id": reading_id or str(uuid.uuid4()),
        "field": account,
        "grid": 12.5,
        "pv": 1.0,
        "building": 13.5,
        "ess": 0.0,
        "ev": 0.0,
        "updated_at": taken_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    body.update(overrides)
    return json.dumps(body).encode()


def transaction_trytes(address: str, tag: str, message: bytes, *, nonce: str = "9" * 27) -> str:
    """A transaction as a node would hold it. The bundle hash is not Kerl's (the tracker does not
    check bundles, and Kerl costs ~80 ms); the nonce makes otherwise identical messages distinct."""
    tag = tag.ljust(27, "9")
    fragment = bytes_to_trytes(message)
    if len(fragment) > 2187:
        raise ValueError("message too long")
    return Transaction(
        signature_message_fragment=fragment.ljust(2187, "9"),
        address=address,
        value=0,
        obsolete_tag=tag,
        timestamp=1_795_600_000,
        current_index=0,
        last_index=0,
        bundle_hash=NULL_HASH,
        trunk=NULL_HASH,
        branch=NULL_HASH,
        tag=tag,
        attachment_timestamp=0,
        attachment_timestamp_lower=0,
        attachment_timestamp_upper=0,
        nonce=nonce,
    ).as_trytes()


def sealed_reading(
    address: str,
    taken_at: datetime,
    *,
    platform_public: str,
    meter_private: str,
    payload: bytes | None = None,
    kind: str = "Demand",
    tag: str | None = None,
) -> str:
    payload = payload if payload is not None else demand_payload(taken_at)
    message = envelope.seal(payload, platform_public_pem=platform_public, meter_private_pem=meter_private)
    return transaction_trytes(
        address,
        tag or readings.tag_for(kind, taken_at),
        message,
        nonce=uuid.uuid4().hex.upper().translate(str.maketrans("0123456789", "ABCDEFGHIJ"))[:27],
    )


def found_in(meters: dict) -> Callable[[list[str]], dict]:
    """The tracker's meter lookup over a dict of meters by id (DynamoMeterStore.get_many in the function)."""
    return lambda meter_ids: {meter_id: meters[meter_id] for meter_id in meter_ids if meter_id in meters}
