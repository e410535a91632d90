from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from etp.market.bids import HOMEPAGE_WINS, newest_wins, won_in_slot

KEY = st.builds(
    lambda hour, bid: f"2030-01-{1 + hour // 24:02d}T{hour % 24:02d}:00:00Z#{bid}",
    st.integers(0, 24 * 28 - 1),
    st.sampled_from("abcdef"),
)


def test_a_win_goes_in_newest_first_and_the_oldest_drops_off_past_the_homepage_s_count():
    listed = [f"2030-01-01T{h:02d}:00:00Z#b" for h in range(HOMEPAGE_WINS, 0, -1)]
    assert newest_wins(listed, ["2030-01-02T00:00:00Z#a"]) == ["2030-01-02T00:00:00Z#a", *listed[:-1]]


def test_an_older_win_than_the_whole_list_changes_nothing():
    listed = [f"2030-01-02T{h:02d}:00:00Z#b" for h in range(HOMEPAGE_WINS, 0, -1)]
    assert newest_wins(listed, ["2030-01-01T23:00:00Z#a"]) == listed


@given(st.lists(KEY), st.lists(KEY), st.lists(KEY))
def test_merging_in_any_order_and_again_gives_the_newest_of_all(first, second, third):
    everything = sorted(set(first + second + third), reverse=True)[:HOMEPAGE_WINS]
    one_way = newest_wins(newest_wins(newest_wins([], first), second), third)
    other_way = newest_wins(newest_wins(newest_wins([], third), first), second)
    assert one_way == other_way == everything
    assert newest_wins(one_way, second) == everything, "a win merged twice is listed once"


NOW = datetime(2030, 1, 1, 12, tzinfo=UTC)


def won(*hours_from_now: int) -> list:
    """Won bids (newest slot first, as the latest-wins list gives them) at those hours from NOW."""
    return [SimpleNamespace(slot=NOW + timedelta(hours=h)) for h in sorted(hours_from_now, reverse=True)]


def test_the_current_slot_s_wins_are_read_off_the_latest_wins_when_the_list_reaches_an_older_slot():
    latest = won(1, 0, 0, *range(-1, -8, -1))
    assert len(latest) == HOMEPAGE_WINS
    assert won_in_slot(latest, NOW) == latest[1:3]


def test_a_list_shorter_than_the_homepage_s_count_holds_every_win():
    assert won_in_slot(won(1, 1, 0), NOW) == won(1, 1, 0)[2:]
    assert won_in_slot(won(1, -1), NOW) == []
    assert won_in_slot([], NOW) == []


def test_a_full_list_of_this_slot_and_later_may_leave_some_of_this_slot_s_wins_out():
    assert won_in_slot(won(1, *[0] * (HOMEPAGE_WINS - 1)), NOW) is None
    assert won_in_slot(won(*[1] * HOMEPAGE_WINS), NOW) is None


def test_bid_statistics_are_means_over_the_slot_s_bids_and_distinct_participants():
    from etp.market.views import bid_statistics

    book = [
        SimpleNamespace(price_milli=3000, volume_wh=1000, user_id="u1"),
        SimpleNamespace(price_milli=4001, volume_wh=2500, user_id="u2"),
        SimpleNamespace(price_milli=5000, volume_wh=500, user_id="u1"),
    ]
    assert bid_statistics(book) == {"average_price": 4.0, "average_volume": 1.333, "participants": 2}
    assert bid_statistics([]) == {"average_price": 0, "average_volume": 0, "participants": 0}
