"""Builders of the tests' bids, for unit and integration tests alike (`from builders import ...`):
a test names what matters to it and takes the rest from here."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime

from etp.market import bids
from etp.market.bids import BidPair, StoredBid

# A slot far from the frozen clock and from every real one: 10:00-11:00 in Taipei.
SLOT = datetime(2030, 1, 1, 2, tzinfo=UTC)


def stored_bid(
    *,
    user_id: str = "u-1",
    account: str | None = None,
    side: str = "buy",
    slot: datetime = SLOT,
    kwh: float = 5,
    price: float = 2.5,
    status: str = bids.SUBMITTED,
    uploaded_at: datetime | None = None,
    version: int = 0,
    **changes,
) -> StoredBid:
    """A bid as the store keeps it: `kwh` at `price` (NT$/kWh), a new id, account `<user_id>_BEMS`,
    uploaded at its slot's start; `changes` sets any other field (id, volume_wh, pairs, ...)."""
    made = StoredBid(
        id=str(uuid.uuid4()),
        user_id=user_id,
        account=account or f"{user_id}_BEMS",
        side=side,
        slot=slot,
        volume_wh=round(kwh * 1000),
        price_milli=round(price * 1000),
        status=status,
        uploaded_at=slot if uploaded_at is None else uploaded_at,
        version=version,
    )
    return replace(made, **changes)


def placed_bid(**fields) -> StoredBid:
    """A `stored_bid` created in the bids table (the integration tests' moto world), as a submission is."""
    from etp.market.store import DynamoBidStore

    made = stored_bid(**fields)
    DynamoBidStore().create(made)
    return made


def pairs(volume_wh_by_counterpart: dict[str, int]) -> tuple[BidPair, ...]:
    """A cleared bid's pairs: each counterpart (user id `<name>`, account `<name>_BEMS`) with its volume."""
    return tuple(BidPair(name, f"{name}_BEMS", wh) for name, wh in volume_wh_by_counterpart.items())
