"""The uniform-price double auction: worked examples computed by hand, then properties over random bid sets."""

import random
from fractions import Fraction

import pytest
from clearing_reference import reference_clear
from hypothesis import given, settings
from hypothesis import strategies as st

from etp.market import clearing
from etp.market.clearing import Auction, Bid, Clearing, Pair, auction, clear, settlement_milli

HALF = Fraction(1, 2)


def buy(bid_id: str, volume_wh: int, price_milli: int, participant: str = "") -> Bid:
    return Bid(bid_id, participant or f"owner-of-{bid_id}", "buy", volume_wh, price_milli)


def sell(bid_id: str, volume_wh: int, price_milli: int, participant: str = "") -> Bid:
    return Bid(bid_id, participant or f"owner-of-{bid_id}", "sell", volume_wh, price_milli)


def pairs_of(result: Clearing) -> list[tuple[str, str, int]]:
    return [(pair.buy_id, pair.sell_id, pair.volume_wh) for pair in result.pairs]


# --- worked examples ---------------------------------------------------------------------------------------------


def test_no_bids_clear_nothing():
    assert clear([]) == Clearing(0, None, {}, (), None, None)


def test_one_sided_book_clears_nothing():
    result = clear([buy("b1", 100, 5000), buy("b2", 50, 6000)])
    assert result == Clearing(0, None, {"b1": 0, "b2": 0}, (), None, None)


def test_no_overlap_clears_nothing():
    # The best buy (3 000) is below the best sell (4 000): D(p) and S(p) are never both positive.
    result = clear([buy("b1", 100, 3000), sell("s1", 100, 4000)])
    assert result == Clearing(0, None, {"b1": 0, "s1": 0}, (), None, None)


def test_a_simple_cross_trades_halfway():
    # Q* = 100; b = 5 000, s = 3 000; p* = 3 000 + ½ · 2 000 = 4 000.
    result = clear([buy("b1", 100, 5000, "alice"), sell("s1", 100, 3000, "bob")])
    assert result == Clearing(100, 4000, {"b1": 100, "s1": 100}, (Pair("b1", "s1", "alice", "bob", 100),), 5000, 3000)


def test_k_zero_gives_the_sell_price_and_k_one_the_buy_price():
    bids = [buy("b1", 100, 5000), sell("s1", 100, 3000)]
    assert clear(bids, Fraction(0)).price_milli == 3000
    assert clear(bids, Fraction(1)).price_milli == 5000
    assert clear(bids, 1).price_milli == 5000  # an int k is exact too


def test_the_price_is_rounded_half_up():
    # b - s = 2 001, so k · (b - s) is: ½ -> 1 000.5 -> 1 001 (half up);  ⅓ -> 667 exactly;
    # 1/4 -> 500.25 -> 500;  3/4 -> 1 500.75 -> 1 501.
    bids = [buy("b1", 10, 5001), sell("s1", 10, 3000)]
    assert clear(bids, HALF).price_milli == 4001
    assert clear(bids, Fraction(1, 3)).price_milli == 3667
    assert clear(bids, Fraction(1, 4)).price_milli == 3500
    assert clear(bids, Fraction(3, 4)).price_milli == 4501


def test_equal_prices_cross():
    result = clear([buy("b1", 100, 4000), sell("s1", 60, 4000)])
    assert (result.volume_wh, result.price_milli, result.fills) == (60, 4000, {"b1": 60, "s1": 60})


def test_rationing_on_the_buy_side():
    # Demand: 300 Wh at 6 000, then 400 Wh at 5 000; supply: 400 Wh at 4 000. Q* = 400 (supply runs out).
    # b = 5 000 (the 400th Wh of demand), s = 4 000, p* = 4 500. b1 is better than b: filled in full (300).
    # The 100 Wh left go to the 5 000 group pro-rata: b2 100·300/400 = 75, b3 100·100/400 = 25.
    bids = [buy("b1", 300, 6000), buy("b3", 100, 5000), buy("b2", 300, 5000), sell("s1", 400, 4000)]
    result = clear(bids)
    assert (result.volume_wh, result.price_milli) == (400, 4500)
    assert (result.marginal_buy_milli, result.marginal_sell_milli) == (5000, 4000)
    assert result.fills == {"b1": 300, "b2": 75, "b3": 25, "s1": 400}
    assert pairs_of(result) == [("b1", "s1", 300), ("b2", "s1", 75), ("b3", "s1", 25)]


def test_rationing_on_the_sell_side_with_a_tie_on_the_remainder():
    # Supply: 200 Wh at 2 000, then 400 Wh at 3 000; demand: 350 Wh at 3 500. Q* = 350; s = 3 000, b = 3 500.
    # s1 fills in full (200); 150 Wh for the 3 000 group: s2 150·300/400 = 112 r 200, s3 150·100/400 = 37 r 200.
    # One Wh is left over and the remainders tie: the smaller id, s2, gets it.
    bids = [sell("s3", 100, 3000), sell("s2", 300, 3000), sell("s1", 200, 2000), buy("b1", 350, 3500)]
    result = clear(bids)
    assert (result.volume_wh, result.price_milli) == (350, 3250)
    assert result.fills == {"b1": 350, "s1": 200, "s2": 113, "s3": 37}
    assert pairs_of(result) == [("b1", "s1", 200), ("b1", "s2", 113), ("b1", "s3", 37)]


def test_pro_rata_gives_the_leftover_to_the_largest_remainders_before_ids():
    # 10 Wh for a 15 Wh group: x1 (3 Wh) 30/15 = 2 r 0, x2 (5 Wh) 50/15 = 3 r 5, x3 (7 Wh) 70/15 = 4 r 10.
    # Floors sum to 9; the one Wh left goes to the largest remainder, x3, although its id is the largest.
    bids = [buy("x1", 3, 2000), buy("x2", 5, 2000), buy("x3", 7, 2000), sell("s1", 10, 1000)]
    assert clear(bids).fills == {"s1": 10, "x1": 2, "x2": 3, "x3": 5}


def test_pro_rata_with_two_leftover_wh_and_a_share_that_rounds_to_zero():
    # 5 Wh for a 13 Wh group: a 5·4/13 = 1 r 7, b 5·4/13 = 1 r 7, c 5·4/13 = 1 r 7, d 5·1/13 = 0 r 5.
    # Two Wh left: a and b (equal remainders, smaller ids). d fills nothing and has no pair.
    bids = [buy(name, volume, 2000) for name, volume in (("d", 1), ("c", 4), ("b", 4), ("a", 4))]
    result = clear([*bids, sell("s", 5, 1000)])
    assert result.fills == {"a": 2, "b": 2, "c": 1, "d": 0, "s": 5}
    assert pairs_of(result) == [("a", "s", 2), ("b", "s", 2), ("c", "s", 1)]


# Demand: b1 150 at 6 000, b2 100 at 5 500. Supply: s1 100 at 1 000, s2 100 at 2 000, s3 100 at 7 000.
# Wh 200 still crosses (5 500 >= 2 000), Wh 201 does not (5 500 < 7 000): Q* = 200, b = 5 500, s = 2 000.
# b2 is rationed to 50; s1 and s2 fill in full; s3 nothing. Price 2 000 + ½ · 3 500 = 3 750.
MARGINAL_BOOK = [
    buy("b1", 150, 6000),
    buy("b2", 100, 5500),
    sell("s1", 100, 1000),
    sell("s2", 100, 2000),
    sell("s3", 100, 7000),
]
MARGINAL_RESULT = (200, 3750, 5500, 2000)  # Q*, p*, b, s


def headline(result: Clearing | Auction) -> tuple[int, int | None, int | None, int | None]:
    return result.volume_wh, result.price_milli, result.marginal_buy_milli, result.marginal_sell_milli


def test_the_marginal_bids_set_the_price_and_pairs_follow_priority():
    result = clear(MARGINAL_BOOK)
    assert headline(result) == MARGINAL_RESULT
    assert result.fills == {"b1": 150, "b2": 50, "s1": 100, "s2": 100, "s3": 0}
    assert pairs_of(result) == [("b1", "s1", 100), ("b1", "s2", 50), ("b2", "s2", 50)]


def test_the_auction_answers_in_columns_over_the_positions_of_its_input():
    # The example above, in another arrival order (s3, b2, s1, b1, s2): positions refer to the list as given.
    bids = [MARGINAL_BOOK[n] for n in (4, 1, 2, 0, 3)]
    result = auction(iter(bids))
    assert result.bids == bids
    assert headline(result) == MARGINAL_RESULT
    assert result.fills.tolist() == [0, 50, 100, 150, 100]
    assert result.pair_buys.tolist() == [3, 3, 1]
    assert result.pair_sells.tolist() == [2, 4, 4]
    assert result.pair_volumes.tolist() == [100, 50, 50]
    assert result.by_id() == clear(bids)


def test_an_auction_that_clears_nothing_has_empty_columns():
    result = auction([buy("b", 10, 1000), sell("s", 10, 2000)])
    assert (result.volume_wh, result.price_milli, result.fills.tolist()) == (0, None, [0, 0])
    assert (result.pair_buys.tolist(), result.pair_sells.tolist(), result.pair_volumes.tolist()) == ([], [], [])


def test_a_slot_beyond_the_exact_totals_is_refused(monkeypatch):
    monkeypatch.setattr(clearing, "BIDS_LIMIT", 3)
    with pytest.raises(ValueError, match="3 bids in one slot: at most 2"):
        auction([buy("a", 1, 1), buy("b", 1, 1), sell("c", 1, 1)])


def test_the_largest_amounts_stay_exact():
    # 2**23 - 1 bids of 2**40 - 1 Wh would still sum below 2**63; two of them show the totals are not floats.
    top = 2**40 - 1
    result = auction([buy("b1", top, top), buy("b2", top, top), sell("s1", top, 1), sell("s2", top - 1, 1)])
    assert result.volume_wh == 2 * top - 1 and result.fills.tolist() == [top, top - 1, top, top - 1]
    assert result.price_milli == 1 + (top - 1) // 2  # s + ½ · (b - s), b - s even


def test_the_fills_list_every_bid_in_id_order():
    bids = [sell("z", 10, 1000), buy("m", 10, 900), buy("a", 10, 2000)]
    assert list(clear(bids).fills) == ["a", "m", "z"]


def test_one_participant_may_hold_several_bids_on_one_side():
    result = clear([buy("b1", 60, 5000, "alice"), buy("b2", 40, 4000, "alice"), sell("s1", 100, 1000, "bob")])
    assert [(pair.buyer, pair.seller, pair.volume_wh) for pair in result.pairs] == [
        ("alice", "bob", 60),
        ("alice", "bob", 40),
    ]


@pytest.mark.parametrize("sell_price", [1000, 9000])  # crossing or not: refused either way
def test_a_participant_on_both_sides_is_refused(sell_price):
    # The platform forbids it; refusing the slot is also the only way to be sure no one trades with themselves.
    with pytest.raises(ValueError, match=r"both a buy and a sell.*'alice'"):
        clear([buy("b1", 100, 5000, "alice"), sell("s1", 100, sell_price, "alice"), sell("s2", 100, 1000, "bob")])


def test_duplicate_ids_are_refused():
    with pytest.raises(ValueError, match=r"duplicate bid ids: \['x'\]"):
        clear([buy("x", 100, 5000), sell("x", 100, 1000), sell("y", 100, 1000)])


@pytest.mark.parametrize(
    "field, value",
    [
        ("volume_wh", 0),
        ("volume_wh", -5),
        ("price_milli", 0),
        ("price_milli", -1),
        ("volume_wh", 2**40),  # beyond what int64 running totals of a slot can hold exactly
        ("price_milli", 2**40),
        ("volume_wh", True),
        ("price_milli", False),
        ("volume_wh", 1.0),
        ("price_milli", "4000"),
        ("volume_wh", None),
        ("side", "hold"),
        ("side", "BUY"),
        ("id", ""),
        ("id", 7),
        ("participant", ""),
        ("participant", None),
    ],
)
def test_an_invalid_bid_is_refused(field, value):
    fields = {"id": "b1", "participant": "alice", "side": "buy", "volume_wh": 100, "price_milli": 4000, field: value}
    with pytest.raises(ValueError, match=field):
        Bid(**fields)


@pytest.mark.parametrize("k", [Fraction(-1, 2), Fraction(3, 2), 2, -1, 0.5, True, "1/2", None])
def test_k_outside_zero_one_or_inexact_is_refused(k):
    with pytest.raises(ValueError, match="k must be"):
        clear([buy("b1", 100, 5000), sell("s1", 100, 3000)], k)


@pytest.mark.parametrize(
    "price, wh, achievement, expected",
    [
        (4000, 1500, Fraction(1), 6000),  # 4 000 milli-NT$/kWh · 1.5 kWh
        (4000, 1500, Fraction(1, 2), 3000),
        (4000, 1500, Fraction(3, 2), 6000),  # clamped to 1
        (4000, 1500, Fraction(-1, 4), 0),  # clamped to 0
        (4000, 1500, 1, 6000),
        (1001, 1, Fraction(1), 1),  # 1.001 -> 1
        (1500, 1, Fraction(1), 2),  # 1.5 -> 2 (half up, not half even)
        (2500, 1, Fraction(1), 3),  # 2.5 -> 3
        (2499, 1, Fraction(1), 2),  # 2.499 -> 2
        (3000, 1000, Fraction(1, 3), 1000),
        (1000, 1, Fraction(1, 2), 1),  # 0.5 -> 1
        (0, 1000, Fraction(1), 0),
        (4000, 0, Fraction(1), 0),
    ],
)
def test_settlement_is_price_times_volume_times_clamped_achievement_rounded_half_up(price, wh, achievement, expected):
    assert settlement_milli(price, wh, achievement) == expected


@pytest.mark.parametrize(
    "price, wh, achievement",
    [
        (-1, 1000, Fraction(1)),
        (4000, -1, Fraction(1)),
        (4000.0, 1000, Fraction(1)),
        (True, 1000, Fraction(1)),
        (4000, 1000, 0.5),
        (4000, 1000, True),
        (4000, 1000, "1"),
    ],
)
def test_settlement_refuses_inexact_or_negative_input(price, wh, achievement):
    with pytest.raises(ValueError):
        settlement_milli(price, wh, achievement)


# --- properties ---------------------------------------------------------------------------------------------------

BUYERS = [f"buyer-{n}" for n in range(4)]
SELLERS = [f"seller-{n}" for n in range(4)]


@st.composite
def bid_sets(draw, max_bids: int = 12) -> list[Bid]:
    """Small books over few prices and volumes so that ties, exact fits and rationing all come up often."""
    prices = st.integers(1, 12) | st.integers(1, 10_000)
    shapes = draw(st.lists(st.tuples(st.booleans(), st.integers(0, 3), st.integers(1, 60), prices), max_size=max_bids))
    ids = draw(st.permutations([f"bid-{n:02d}" for n in range(len(shapes))]))
    return [
        Bid(bid_id, BUYERS[who] if is_buy else SELLERS[who], "buy" if is_buy else "sell", volume, price)
        for bid_id, (is_buy, who, volume, price) in zip(ids, shapes, strict=True)
    ]


shares = st.fractions(min_value=0, max_value=1, max_denominator=12)


def demand(bids: list[Bid], price: int) -> int:
    return sum(bid.volume_wh for bid in bids if bid.side == "buy" and bid.price_milli >= price)


def supply(bids: list[Bid], price: int) -> int:
    return sum(bid.volume_wh for bid in bids if bid.side == "sell" and bid.price_milli <= price)


def unmatched(bid: Bid, result: Clearing) -> bool:
    """Unmatched: some of the bid's volume did not trade (fill < volume), whether it filled partly or not at all."""
    return result.fills[bid.id] < bid.volume_wh


@settings(max_examples=250)
@given(bid_sets(), shares)
def test_volume_is_conserved_everywhere(bids, k):
    result = clear(bids, k)
    assert set(result.fills) == {bid.id for bid in bids}
    assert all(0 <= result.fills[bid.id] <= bid.volume_wh for bid in bids)
    for side in ("buy", "sell"):
        assert sum(result.fills[bid.id] for bid in bids if bid.side == side) == result.volume_wh
    paired = dict.fromkeys(result.fills, 0)
    sides = {bid.id: bid for bid in bids}
    for pair in result.pairs:
        assert pair.volume_wh > 0
        buyer, seller = sides[pair.buy_id], sides[pair.sell_id]
        assert (buyer.side, seller.side) == ("buy", "sell")
        assert (pair.buyer, pair.seller) == (buyer.participant, seller.participant)
        assert pair.buyer != pair.seller
        paired[pair.buy_id] += pair.volume_wh
        paired[pair.sell_id] += pair.volume_wh
    assert paired == result.fills


@settings(max_examples=250)
@given(bid_sets())
def test_the_volume_is_the_brute_force_maximum(bids):
    expected = max((min(demand(bids, bid.price_milli), supply(bids, bid.price_milli)) for bid in bids), default=0)
    assert clear(bids).volume_wh == expected


@settings(max_examples=200)
@given(bid_sets(), shares)
def test_the_price_lies_between_the_marginal_prices_rounded_half_up(bids, k):
    result = clear(bids, k)
    if result.volume_wh == 0:
        assert (result.price_milli, result.marginal_buy_milli, result.marginal_sell_milli, result.pairs) == (
            None,
            None,
            None,
            (),
        )
        return
    high, low = result.marginal_buy_milli, result.marginal_sell_milli
    assert high is not None and low is not None and result.price_milli is not None
    assert low <= result.price_milli <= high
    exact = low + k * (high - low)
    assert exact - HALF < result.price_milli <= exact + HALF  # nearest integer, halves going up
    # b and s are the prices of the buy and sell holding the Q*-th Wh, walking each side from its best price.
    assert high == walk(bids, "buy", result.volume_wh) and low == walk(bids, "sell", result.volume_wh)


def walk(bids: list[Bid], side: str, volume: int) -> int:
    ordered = sorted((bid for bid in bids if bid.side == side), key=lambda bid: bid.price_milli, reverse=side == "buy")
    total = 0
    for bid in ordered:
        total += bid.volume_wh
        if total >= volume:
            return bid.price_milli
    raise AssertionError("the side cannot make up the volume")


@settings(max_examples=150)
@given(bid_sets(), shares)
def test_nobody_trades_beyond_their_price(bids, k):
    result = clear(bids, k)
    for bid in bids:
        if result.fills[bid.id]:
            assert result.price_milli is not None
            if bid.side == "buy":
                assert bid.price_milli >= result.price_milli
            else:
                assert bid.price_milli <= result.price_milli


@settings(max_examples=250)
@given(bid_sets(), shares)
def test_no_trade_is_left_on_the_table(bids, k):
    # Efficiency, with "unmatched" meaning fill < volume: no unmatched buy priced above p* while an unmatched sell is
    # priced below it; and, stronger, no unmatched buy priced at or above any unmatched sell (they could still trade).
    result = clear(bids, k)
    open_buys = [bid.price_milli for bid in bids if bid.side == "buy" and unmatched(bid, result)]
    open_sells = [bid.price_milli for bid in bids if bid.side == "sell" and unmatched(bid, result)]
    if open_buys and open_sells:
        assert max(open_buys) < min(open_sells)
        if result.price_milli is not None:
            assert not (max(open_buys) > result.price_milli > min(open_sells))


@settings(max_examples=200)
@given(bid_sets())
def test_better_prices_fill_first_and_the_marginal_group_shares_pro_rata(bids):
    result = clear(bids)
    if result.volume_wh == 0:
        return
    for side, marginal, better in (
        ("buy", result.marginal_buy_milli, int.__gt__),
        ("sell", result.marginal_sell_milli, int.__lt__),
    ):
        assert marginal is not None
        mine = [bid for bid in bids if bid.side == side]
        group = [bid for bid in mine if bid.price_milli == marginal]
        for bid in mine:
            if better(bid.price_milli, marginal):
                assert result.fills[bid.id] == bid.volume_wh
            elif bid.price_milli != marginal:
                assert result.fills[bid.id] == 0
        amount, total = sum(result.fills[bid.id] for bid in group), sum(bid.volume_wh for bid in group)
        for bid in group:
            assert abs(result.fills[bid.id] - Fraction(amount * bid.volume_wh, total)) < 1


@settings(max_examples=150)
@given(bid_sets())
def test_at_most_one_side_is_rationed(bids):
    result = clear(bids)
    rationed = {bid.side for bid in bids if 0 < result.fills[bid.id] < bid.volume_wh}
    assert len(rationed) <= 1


@settings(max_examples=150)
@given(bid_sets(), shares, st.randoms(use_true_random=False))
def test_the_arrival_order_does_not_matter(bids, k, rng: random.Random):
    shuffled = bids.copy()
    rng.shuffle(shuffled)
    expected, result = clear(bids, k), clear(iter(shuffled), k)
    assert result == expected
    assert list(result.fills) == list(expected.fills)


@settings(max_examples=100)
@given(bid_sets(), shares)
def test_clearing_again_gives_the_same_result(bids, k):
    before = list(bids)
    assert clear(bids, k) == clear(bids, k)
    assert bids == before


@settings(max_examples=50)
@given(bid_sets(max_bids=6), st.sampled_from(BUYERS))
def test_a_participant_on_both_sides_is_always_refused(bids, participant):
    with pytest.raises(ValueError, match="both a buy and a sell"):
        clear([*bids, Bid("both-a", participant, "buy", 1, 1), Bid("both-b", participant, "sell", 1, 1)])


def outcome(clearing, bids: list[Bid], k: Fraction) -> tuple[object, ...]:
    """A clearing's result, or the ValueError it raised (its message), with the fills' order."""
    try:
        result = clearing(bids, k)
    except ValueError as error:
        return ("refused", str(error))
    return (result, list(result.fills), [type(pair) for pair in result.pairs])


@st.composite
def larger_books(draw) -> list[Bid]:
    """Up to 60 bids over a few prices (long ties), a few owners a side, sometimes a duplicate id or an owner on
    both sides (which both must refuse alike)."""
    shapes = draw(
        st.lists(st.tuples(st.booleans(), st.integers(0, 5), st.integers(1, 500), st.integers(1, 8)), max_size=60)
    )
    ids = draw(st.permutations([f"b{n:03d}" for n in range(len(shapes))]))
    if shapes and draw(st.integers(0, 9)) == 0:
        ids[-1] = ids[0]
    crossing = draw(st.integers(0, 9)) == 0
    return [
        Bid(bid_id, f"{'b' if is_buy or crossing else 's'}-{who}", "buy" if is_buy else "sell", volume, price)
        for bid_id, (is_buy, who, volume, price) in zip(ids, shapes, strict=True)
    ]


@settings(max_examples=300)
@given(bid_sets() | larger_books(), shares)
def test_the_result_is_the_reference_clearings(bids, k):
    # tests/clearing_reference.py is the straightforward implementation this one replaced: the same Q*, p*, fills
    # (in the same order), pairs (NamedTuples, in the same order), marginal prices, and the same refusals.
    assert outcome(clear, bids, k) == outcome(reference_clear, bids, k)


def test_the_result_is_the_reference_clearings_on_a_large_random_book():
    rng = random.Random(20261205)
    bids = [
        Bid(
            f"{rng.getrandbits(64):016x}",
            f"p-{n % 300 * 2 + (n % 2)}",
            "buy" if n % 2 else "sell",
            rng.randint(1, 5000),
            rng.randint(1, 40),
        )
        for n in range(3000)
    ]
    for k in (Fraction(0), Fraction(1, 3), HALF, Fraction(1)):
        assert outcome(clear, bids, k) == outcome(reference_clear, bids, k)
