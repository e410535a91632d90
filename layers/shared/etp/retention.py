"""How long the platform keeps the items that only serve for a while. Each carries `expires_at` (epoch
seconds), the attribute the template's TimeToLiveSpecification names on its table, and DynamoDB's TTL
deletes it some time after that moment (within days; nothing reads an item for its expiry). Nothing
that is money, a reading or an audit record expires: bids, readings, the ledger's `tx#` markers, DR
offers and audit records stay.

- The tracker's hints (`seen#<day>#<HH>#<t><n>`/`hours#<day>#<HH>#<t>` in the ledger table, etp.meters.discovery_store):
  HINTS_KEPT after their UTC day ends. A run reads only the hints of its active days (today, and
  yesterday in the first UTC hour); an operator's re-run of an older day without them is still
  exact (the ledger is the truth), only slower (more ledger lookups and questions).
- The market's side guards (`side#<user>#<slot>` in the bids table, etp.market.store, one per
  participant and slot bid in): GUARDS_KEPT after the slot starts. A guard is read only by bid
  writes, which end at the slot's gate; a week leaves any re-run or inquiry of the slot days.
- The market's slot markers (`slot#<slot>`, one a slot): MARKERS_KEPT after the slot starts. A marker
  is read by seal and clear, by re-runs of them and by `/bidstatus`, all within hours of the slot; a
  year and more outlasts settlement (2 h), corrections and any dispute or audit of a slot, and costs
  next to nothing (24 small items a day). A seal re-run for a slot older than that would find no
  marker and seal again (its bids are long settled, so nothing moves).
- Idempotency-Key records: 24 h (etp.edge.retries; Powertools' own `expiration` attribute).
"""

from datetime import UTC, date, datetime, time, timedelta

HINTS_KEPT = timedelta(days=3)
GUARDS_KEPT = timedelta(days=7)
MARKERS_KEPT = timedelta(days=400)


def expires_at(moment: datetime, kept: timedelta) -> int:
    """The TTL attribute's value: `kept` after `moment` (aware), in epoch seconds."""
    return int((moment + kept).timestamp())


def hint_expires_at(day: str) -> int:
    """A hint of UTC day `day` (YYYY-MM-DD): HINTS_KEPT after that day ends."""
    end = datetime.combine(date.fromisoformat(day) + timedelta(days=1), time(), tzinfo=UTC)
    return expires_at(end, HINTS_KEPT)
