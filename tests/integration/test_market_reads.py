"""What GET /homepage, the GET /bidsubmit list and GET /matchresult read, for an account with a long
history (in-process against moto): each reads what it answers, not the account's whole history."""

from datetime import UTC, datetime, timedelta

import pytest
from builders import stored_bid
from helpers import ItemsRead, call, load_event, load_function, login_bearer
from pynamodb.expressions.update import Action

from etp.accounts import service as accounts
from etp.accounts.store import DynamoUserStore
from etp.clock import local_zone, utcnow
from etp.market import bids, service, win_lists
from etp.market.bid_items import BidModel, bid_item, open_count_key, to_bid
from etp.market.store import DynamoBidStore, StoredBid
from etp.market.views import won_result
from etp_admin.migrations import m0003_bids_week_keys, m0004_bids_latest_wins, m0006_bids_open_lists

pytestmark = pytest.mark.usefixtures("frozen_clock")
market = load_function("market")
PASSWORD = "energy-demo"
ZONE = local_zone()
PAST_DAYS = 5


def _bid(user_id: str, slot, side: str, price_milli: int = 2_500) -> StoredBid:
    return stored_bid(
        user_id=user_id,
        account="History_BEMS",
        side=side,
        slot=slot,
        price_milli=price_milli,
        uploaded_at=slot - timedelta(hours=20),
    )


@pytest.fixture
def history(aws):
    """History_BEMS: one bid an hour over PAST_DAYS past days (one in three lost, the others won and
    settled, or delivering for the current slot; off the open list, as the deliver job leaves them)
    and tomorrow's 24 open bids, sides alternating; Empty_BEMS: nothing."""
    users = DynamoUserStore()
    people = {}
    for account in ("History_BEMS", "Empty_BEMS", "Counterpart_BEMS"):
        spec = accounts.NewAccount(account, account, PASSWORD)
        people[account] = accounts.create_account(users, None, spec, utcnow()).id
    store = DynamoBidStore()
    current = utcnow().astimezone(ZONE).replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    tomorrow = (utcnow().astimezone(ZONE) + timedelta(days=1)).replace(hour=0, minute=0, second=0).astimezone(UTC)
    pair = bids.BidPair(people["Counterpart_BEMS"], "Counterpart_BEMS", 5_000, achievement=1.0, settlement_milli=12_500)
    slot, hour = current - timedelta(days=PAST_DAYS), 0
    while slot < tomorrow + timedelta(days=1):
        bid = _bid(people["History_BEMS"], slot, "buy" if hour % 2 else "sell", 2_000 + 10 * (hour % 7))
        store.create(bid)
        if slot <= current:
            lost, settled = hour % 3 == 1, slot < current
            store.record_outcome(
                bid,
                status=bids.LOST if lost else (bids.SETTLED if settled else bids.DELIVERING),
                expected=bids.SUBMITTED,
                fill_wh=0 if lost else 5_000,
                cleared_price_milli=2_500,
                pairs=() if lost else (pair,),
            )
            assert store.unlist(bid)
        slot, hour = (tomorrow if current <= slot < tomorrow else slot + timedelta(hours=1)), hour + 1
    return {"people": people, "current": current, "tomorrow": tomorrow, "store": store}


def market_read(name: str, account: str, query: dict | None = None):
    status, body = call(market, load_event(f"market/{name}.json", bearer=login_bearer(account, PASSWORD), query=query))
    assert status == 200
    return body


def read_by(counter: ItemsRead, name: str, account: str, query: dict | None = None):
    login_bearer(account, PASSWORD)  # the login's own reads are not the route's
    event = load_event(f"market/{name}.json", bearer=login_bearer(account, PASSWORD), query=query)
    before = counter.count
    status, body = call(market, event)
    assert status == 200
    return counter.count - before, body


def everything_of(history) -> list[StoredBid]:
    """Every bid of History_BEMS, read without any of the indexes under test (a Scan)."""
    owner = history["people"]["History_BEMS"]
    return [to_bid(item) for item in BidModel.scan(BidModel.user_id == owner)]


def test_the_homepage_reads_the_current_slot_and_the_ten_latest_won_bids(history, monkeypatch):
    counter = ItemsRead(monkeypatch.setattr)
    empty_read, _ = read_by(counter, "homepage", "Empty_BEMS")
    read, body = read_by(counter, "homepage", "History_BEMS")
    # the token's session (the same for both), the latest-wins list and its 10 won bids, which hold the
    # current slot's (delivering) bid: no Query
    assert read == empty_read + 1 + 10
    won = [b for b in everything_of(history) if b.status != bids.LOST and b.status != bids.SUBMITTED]
    newest = sorted(won, key=lambda b: (b.slot, b.id), reverse=True)[:10]
    assert body["results"] == [won_result(b, ZONE) for b in newest]
    assert newest[0].status == bids.DELIVERING and newest[0].slot == history["current"]
    assert {b.status for b in newest} == {bids.DELIVERING, bids.SETTLED}
    assert body["sell" if newest[0].side == "sell" else "buy"] == {"price": 2.5, "volume": 5.0}


def test_a_bid_enters_the_homepage_when_won_and_stays_through_delivery_and_settlement(history):
    store, user = history["store"], history["people"]["Empty_BEMS"]
    slot = history["tomorrow"] + timedelta(hours=3)
    won, lost = _bid(user, slot, "buy"), _bid(user, slot + timedelta(hours=1), "buy")
    for bid in (won, lost):
        store.create(bid)
    assert market_read("homepage", "Empty_BEMS")["results"] == []
    store.record_outcome(lost, status=bids.LOST, expected=bids.SUBMITTED, fill_wh=0, cleared_price_milli=9, pairs=())
    assert market_read("homepage", "Empty_BEMS")["results"] == []
    store.record_outcome(
        won, status=bids.WON, expected=bids.SUBMITTED, fill_wh=4_000, cleared_price_milli=2_400, pairs=()
    )
    shown = market_read("homepage", "Empty_BEMS")["results"]
    assert [(r["price"], r["volume"], r["settlement"]) for r in shown] == [(2.4, 4.0, None)]
    assert store.set_status(won, bids.DELIVERING, expected=bids.WON)
    assert market_read("homepage", "Empty_BEMS")["results"] == shown
    assert store.set_status(won, bids.SETTLING, expected=bids.DELIVERING)
    settled = (
        bids.BidPair(history["people"]["Counterpart_BEMS"], "C", 4_000, achievement=1.0, settlement_milli=9_600),
    )
    store.record_outcome(
        won, status=bids.SETTLED, expected=bids.SETTLING, fill_wh=4_000, cleared_price_milli=2_400, pairs=settled
    )
    assert [r["settlement"] for r in market_read("homepage", "Empty_BEMS")["results"]] == [9.6]


def _listed_order(bids_of_side: list[StoredBid], side: str) -> list[StoredBid]:
    return sorted(bids_of_side, key=lambda b: (b.slot, -b.price_milli if side == "buy" else b.price_milli, b.id))


def test_the_bid_list_reads_its_page_not_every_open_bid(history, monkeypatch):
    counter = ItemsRead(monkeypatch.setattr)
    still_open = [b for b in everything_of(history) if b.slot > utcnow()]
    for side in ("buy", "sell"):
        open_bids = [b for b in still_open if b.side == side]
        assert len(open_bids) == 12
        expected = _listed_order(open_bids, side)
        empty_read, _ = read_by(counter, "list_bids", "Empty_BEMS", {"bid_type": side, "per_page": "5", "page": "1"})
        for page, shown in ((1, expected[:5]), (2, expected[5:10]), (3, expected[10:]), (4, [])):
            query = {"bid_type": side, "per_page": "5", "page": str(page)}
            read, body = read_by(counter, "list_bids", "History_BEMS", query)
            # the list's count, then the partition up to the page's end (one bid for a page past it)
            assert read == empty_read + 1 + (min(5 * page, 12) if shown else 1), (side, page)
            assert body["totalCount"] == 12 and [row["id"] for row in body["data"]] == [b.id for b in shown]
            assert all(row["bid_type"] == side for row in body["data"])
    assert service.open_bids_of_side(still_open, "buy", utcnow()) == _listed_order(
        [b for b in still_open if b.side == "buy"], "buy"
    ), "the index's order is the merit order of each slot"


def test_the_list_holds_300_open_bids_and_reads_a_page_of_5(aws, monkeypatch):
    store, start = DynamoBidStore(), utcnow().replace(minute=0, second=0) + timedelta(hours=3)
    placed = [_bid("u-300", start + timedelta(hours=h % 25), "sell", 1_000 + 37 * (h % 11)) for h in range(300)]
    with BidModel.batch_write() as batch:  # as create writes them, without 300 transactions in moto
        for bid in placed:
            batch.save(bid_item(bid, counted=True, listed=True))
        batch.save(BidModel(open_count_key("u-300", "sell"), open_bids=300))
    counter = ItemsRead(monkeypatch.setattr)
    before = counter.count
    page, total = store.open_page("u-300", "sell", utcnow(), 5, 5)
    assert counter.count - before == 1 + 10, "the count, and the partition up to the page's end"
    assert total == 300 and page == _listed_order(placed, "sell")[5:10]


def test_the_match_result_reads_only_its_window(history, monkeypatch):
    counter = ItemsRead(monkeypatch.setattr)
    empty_read, _ = read_by(counter, "match_result", "Empty_BEMS")
    read, rows = read_by(counter, "match_result", "History_BEMS")
    since = utcnow().astimezone(ZONE).replace(hour=0, minute=0, second=0) - timedelta(days=3)
    window = [b for b in everything_of(history) if b.slot >= since]
    # the window's bids, and the one counterpart's account (read once)
    assert len(window) < len(everything_of(history)) and read == empty_read + len(window) + 1
    assert {row["bid_id"] for row in rows} == {b.id for b in window}


def test_the_migrations_give_older_bids_their_index_keys_lists_and_counts_once(history):
    store, user = history["store"], history["people"]["Empty_BEMS"]
    open_bid, won = _bid(user, history["tomorrow"] + timedelta(hours=5), "sell"), _bid(user, history["current"], "buy")
    for bid in (open_bid, won):
        store.create(bid)
    store.record_outcome(
        won, status=bids.SETTLED, expected=bids.SUBMITTED, fill_wh=1_000, cleared_price_milli=2_000, pairs=()
    )
    for bid in (open_bid, won):  # as a version from before the indexes and the lists wrote them
        remove: list[Action] = [BidModel.user_week.remove(), BidModel.open_user.remove(), BidModel.open_key.remove()]
        BidModel(bid.id).update(actions=remove)
        BidModel(open_count_key(user, bid.side)).delete()
    BidModel(f"wins#{user}").delete()
    assert market_read("homepage", "Empty_BEMS")["results"] == []
    assert market_read("list_bids", "Empty_BEMS", {"bid_type": "sell"})["totalCount"] == 0
    assert store.of_user_in_slot(user, history["current"]) == []
    assert m0003_bids_week_keys.run(True, _quiet) == {"bids_keyed": 2}
    assert m0004_bids_latest_wins.run(True, _quiet)["lists_changed"] == 1
    assert m0006_bids_open_lists.run(True, _quiet) == {"bids_listed": 1}, "the open one: the other's slot started"
    assert store.of_user_in_slot(user, history["current"]) == [], "a dry run writes nothing"
    assert market_read("homepage", "Empty_BEMS")["results"] == []
    assert m0003_bids_week_keys.run(False, _quiet) == {"bids_keyed": 2}
    assert m0004_bids_latest_wins.run(False, _quiet)["lists_changed"] == 1, "the one user missing a won bid"
    assert m0006_bids_open_lists.run(False, _quiet) == {"bids_listed": 1}
    assert [r["volume"] for r in market_read("homepage", "Empty_BEMS")["results"]] == [1.0]
    assert [b.id for b in store.of_user_in_slot(user, history["current"])] == [won.id]
    listed = market_read("list_bids", "Empty_BEMS", {"bid_type": "sell"})
    assert [b["id"] for b in listed["data"]] == [open_bid.id] and listed["totalCount"] == 1
    assert market_read("list_bids", "Empty_BEMS", {"bid_type": "buy"}) == {"data": [], "page": 1, "totalCount": 0}
    assert m0003_bids_week_keys.run(False, _quiet) == {"bids_keyed": 0}, "idempotent"
    assert m0004_bids_latest_wins.run(False, _quiet)["lists_changed"] == 0
    assert m0006_bids_open_lists.run(False, _quiet) == {"bids_listed": 0}
    assert BidModel.get(open_count_key(user, "sell")).open_bids == 1


def test_an_outcome_writes_no_won_key_any_more(history):
    store, user = history["store"], history["people"]["Empty_BEMS"]
    won = _bid(user, history["current"], "buy")
    store.create(won)
    store.record_outcome(
        won, status=bids.WON, expected=bids.SUBMITTED, fill_wh=1_000, cleared_price_milli=2_000, pairs=()
    )
    raw = BidModel._get_connection().get_item(won.id, consistent_read=True)["Item"]
    assert raw["status"] == {"S": bids.WON} and "won_by" not in raw, "by-user-won is unread: nothing feeds it"


def _quiet() -> None:
    pass


def test_a_window_reads_each_iso_week_it_spans_and_its_ends(history):
    store, user = history["store"], history["people"]["Empty_BEMS"]
    sunday_night = datetime(2031, 1, 5, 23, tzinfo=UTC)  # an ISO week's last hour (UTC), then the next's first
    placed = [_bid(user, sunday_night + timedelta(hours=h), "buy") for h in (-24 * 7, 0, 1, 24 * 7 + 1)]
    for bid in placed:
        store.create(bid)
    found = store.of_user_between(user, sunday_night, sunday_night + timedelta(hours=24 * 7 + 1))
    assert [b.id for b in found] == [b.id for b in placed[1:]], "oldest first, both ends included"
    assert [b.id for b in store.of_user_in_slot(user, sunday_night + timedelta(hours=1))] == [placed[2].id]


def _win(store: DynamoBidStore, bid: StoredBid) -> bool:
    return store.record_outcome(
        bid, status=bids.WON, expected=bids.SEALED, fill_wh=bid.volume_wh, cleared_price_milli=2_500, pairs=()
    )


def _sealed(store: DynamoBidStore, user: str, slots: list[datetime]) -> list[StoredBid]:
    placed = [_bid(user, slot, "buy") for slot in slots]
    for bid in placed:
        store.create(bid)
        assert store.set_status(bid, bids.SEALED, expected=bids.SUBMITTED)
    return placed


def test_the_latest_wins_list_keeps_the_ten_newest_whatever_order_the_slots_clear_in(aws):
    store, start = DynamoBidStore(), datetime(2030, 3, 1, tzinfo=UTC)
    placed = _sealed(store, "u-1", [start + timedelta(hours=h) for h in range(14)])
    for bid in placed[2:] + placed[:2]:  # the two oldest slots clear last, e.g. by an operator's late run
        assert _win(store, bid)
    newest = sorted(placed, key=lambda b: b.slot, reverse=True)[:10]
    assert [b.id for b in store.latest_won_of_user("u-1", 10)] == [b.id for b in newest]
    assert {b.status for b in store.latest_won_of_user("u-1", 10)} == {bids.WON}
    assert [b.id for b in store.latest_won_of_user("u-1", 3)] == [b.id for b in newest[:3]]
    assert all(BidModel.get(b.id).status == bids.WON for b in placed), "every outcome is written, listed or not"


def test_a_refused_outcome_writes_neither_the_bid_nor_the_list(aws):
    store = DynamoBidStore()
    (bid,) = _sealed(store, "u-1", [datetime(2030, 3, 1, tzinfo=UTC)])
    assert _win(store, bid)
    assert not _win(store, bid), "no longer 已投標"
    assert BidModel.get("wins#u-1").version == 1
    (other,) = _sealed(store, "u-1", [datetime(2030, 3, 2, tzinfo=UTC)])
    assert not store.record_outcome(
        other, status=bids.WON, expected=bids.SUBMITTED, fill_wh=1, cleared_price_milli=1, pairs=()
    )
    assert BidModel.get(other.id).status == bids.SEALED
    assert [b.id for b in store.latest_won_of_user("u-1", 10)] == [bid.id]


def test_a_win_racing_another_of_the_same_user_rereads_the_list_and_both_are_listed(aws, monkeypatch):
    store, rival = DynamoBidStore(), DynamoBidStore()
    first, second = _sealed(store, "u-1", [datetime(2030, 3, 1, h, tzinfo=UTC) for h in (1, 2)])
    read_list = win_lists.wins_list
    raced: list[bool] = []

    def stale_then_rival_wins(user_id, **kwargs):
        listed = read_list(user_id, **kwargs)
        if not raced:  # between the first win's read and its write, the rival's win lands
            raced.append(True)
            assert _win(rival, second)
        return listed

    monkeypatch.setattr(win_lists, "wins_list", stale_then_rival_wins)
    assert _win(store, first)
    assert raced and [b.id for b in store.latest_won_of_user("u-1", 10)] == [second.id, first.id]
    assert BidModel.get("wins#u-1").version == 2


def test_the_homepage_reads_the_current_slot_when_its_wins_fill_the_latest_wins(history, monkeypatch):
    store, user, current = history["store"], history["people"]["Empty_BEMS"], history["current"]
    placed = _sealed(store, user, [current] * 11 + [current - timedelta(hours=1)])
    for bid in placed:
        assert _win(store, bid)
    assert store.set_status(placed[0], bids.DELIVERING, expected=bids.WON)
    counter = ItemsRead(monkeypatch.setattr)
    read, body = read_by(counter, "homepage", "Empty_BEMS")
    assert body["buy"] == {"price": 2.5, "volume": 55.0}, "all 11 of the slot, not the 10 listed"
    assert body["sell"] == {"price": None, "volume": None}
    assert len(body["results"]) == 10 and {r["time"] for r in body["results"]} == {won_result(placed[0], ZONE)["time"]}
    assert read == 1 + 1 + 10 + 11, "the session, the list, its 10 bids, then the slot's 11 (one Query)"
