"""What /matchresult and /homepage show of a user's bids. Pure logic."""

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from etp.market import bids, slots
from etp.market.bids import WON_STATUSES


def bid_statistics(book: list) -> dict:
    """/bidstatus of a slot's bids: their mean price (NT$/kWh) and volume (kWh), and how many take part."""
    if not book:
        return {"average_price": 0, "average_volume": 0, "participants": 0}
    return {
        "average_price": round(sum(b.price_milli for b in book) / len(book) / 1000, 3),
        "average_volume": round(sum(b.volume_wh for b in book) / len(book) / 1000, 3),
        "participants": len({b.user_id for b in book}),
    }


def match_window_start(now: datetime, zone: ZoneInfo) -> datetime:
    """Where /matchresult's window starts: local midnight three days ago."""
    return now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=3)


def slot_label(slot: datetime, zone: ZoneInfo) -> tuple[str, str]:
    """(`YYYY/MM/DD`, `HH:00-HH:00`) of a slot in local time."""
    start = slot.astimezone(zone)
    end = start + slots.SLOT
    return start.strftime("%Y/%m/%d"), f"{start:%H}:00-{end:%H}:00"


def match_rows(bid, zone: ZoneInfo, counterpart: Callable[[str], tuple[str, str]]) -> list[dict]:
    """One row per pair of a cleared bid; one row for a bid not cleared yet (win null) or lost (win 0).
    `counterpart(user id)` gives (name, address). `transaction_hash` is the audit-trail transaction of
    the slot's clearing result, or before that of its sealed bids (null until published).

    Every row has its own stable `id` (clients key rows by it): the bid's id for a bid's only row,
    `<bid id>/<counterpart's user id>` for each pair of a won bid (a bid pairs at most once with a
    participant, who holds one side per slot). `bid_id` is always the bid's own id."""
    day, hours = slot_label(bid.slot, zone)
    price = (bid.cleared_price_milli or 0) / 1000
    base = {
        "id": bid.id,
        "bid_id": bid.id,
        "date": day,
        "time": hours,
        "bid_type": bid.side,
        "status": bid.status,
        "transaction_hash": bid.clear_tx or bid.seal_tx,
        "upload": slots.http_date(bid.uploaded_at, zone),
        "bids": {"price": bid.price_milli / 1000, "value": bid.volume_wh / 1000},
    }
    if bid.status not in WON_STATUSES:
        lost = bid.status == bids.LOST
        return [
            {
                **base,
                "win": 0 if lost else None,
                "counterpart": {"name": "", "address": ""},
                "wins": {"price": price if lost else 0, "value": 0},
                "achievement": None,
                "settlement": None,
            }
        ]
    rows = []
    for pair in bid.pairs:
        name, address = counterpart(pair.counterpart_id)
        rows.append(
            {
                **base,
                "id": f"{bid.id}/{pair.counterpart_id}",
                "win": 1,
                "counterpart": {"name": name, "address": address},
                "wins": {"price": price, "value": pair.volume_wh / 1000},
                "achievement": pair.achievement,
                "settlement": None if pair.settlement_milli is None else pair.settlement_milli / 1000,
            }
        )
    return rows


def delivering_now(current: list, side: str) -> dict:
    """The caller's side of the slot being delivered now (from its bids of the slot, or only its won
    ones: no other counts): price and volume, or nulls."""
    mine = [b for b in current if b.side == side and b.status in WON_STATUSES and b.fill_wh]
    if not mine:
        return {"price": None, "volume": None}
    return {"price": (mine[0].cleared_price_milli or 0) / 1000, "volume": sum(b.fill_wh for b in mine) / 1000}


def won_result(bid, zone: ZoneInfo) -> dict:
    """A won bid on the home page; `settlement` (NT$, null until settled) is an addition to the contract."""
    day, hours = slot_label(bid.slot, zone)
    settled = [p.settlement_milli for p in bid.pairs if p.settlement_milli is not None]
    return {
        "date": day,
        "time": hours,
        "price": (bid.cleared_price_milli or 0) / 1000,
        "volume": bid.fill_wh / 1000,
        "settlement": sum(settled) / 1000 if bid.status == bids.SETTLED else None,
    }
