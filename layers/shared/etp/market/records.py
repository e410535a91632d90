"""A slot's two audit records (see etp.audit.trail): the bids sealed at its gate, and its clearing."""

from collections.abc import Iterable
from datetime import datetime

from etp.audit.trail import CLEARING, SEALED, Record, digest
from etp.clock import to_utc_iso
from etp.market import bids
from etp.market.slots import Leave


def _early(body: dict[str, object], early: bool, leave: Leave | None) -> dict[str, object]:
    """`"early": true` and, when known, the operator who asked and why."""
    if early or leave is not None:
        body["early"] = True
    if leave is not None:
        body["operator"], body["reason"] = leave.by, leave.reason
    return body


def sealed_bids_record(
    slot: datetime, book: Iterable[bids.StoredBid], *, early: bool = False, leave: Leave | None = None
) -> Record:
    """The bids sealed at a slot's gate: how many, and a digest of each one's id, owner, side and offer;
    `"early": true` when an operator sealed the slot before its gate, with `operator` and `reason`
    (their leave; absent from early seals recorded before leaves were asked for)."""
    rows = [[b.id, b.account, b.side, b.volume_wh, b.price_milli] for b in book if b.status != bids.SUBMITTED]
    return Record(SEALED, to_utc_iso(slot), _early({"bids": len(rows), "sha256": digest(rows)}, early, leave))


def clearing_record(slot: datetime, book: Iterable[bids.StoredBid], *, leave: Leave | None = None) -> Record:
    """A slot's clearing: the uniform price, the volume traded, and a digest of every decided bid's fill
    and pairs (won or lost: a lost bid's empty fill is part of the outcome too); an early clear adds
    `"early": true`, `operator` and `reason` (the operator's leave)."""
    decided = [b for b in book if b.status not in (bids.SUBMITTED, bids.SEALED)]
    rows = [[b.id, b.fill_wh, sorted([p.counterpart_id, p.volume_wh] for p in b.pairs)] for b in decided]
    price = next((b.cleared_price_milli for b in decided), None)  # one uniform price per slot
    body: dict[str, object] = {
        "bids": len(rows),
        "price_milli": price,
        "volume_wh": sum(b.fill_wh for b in decided if b.side == "buy"),
        "sha256": digest(rows),
    }
    return Record(CLEARING, to_utc_iso(slot), _early(body, False, leave))
