from datetime import date

import pytest

from etp.iota.trytes import ALPHABET
from etp.meters import registry as meters
from etp.meters.registry import Meter

SEED = "PLATFORMSEED" + "9" * 69


def meter(token: str, active: bool = True) -> Meter:
    return Meter(
        id=meters.meter_id_of(token) or "x",
        user_id="u",
        account="a",
        name="m",
        description="",
        public_key_pem="",
        token_hash=meters.token_hash(token),
        active=active,
    )


def test_a_token_names_its_meter_and_only_matches_itself():
    token = meters.new_token("m-1")
    assert meters.meter_id_of(token) == "m-1"
    assert meters.token_matches(meter(token), token)
    assert not meters.token_matches(meter(token), token + "x")
    assert not meters.token_matches(meter(token, active=False), token)
    assert meters.token_hash(token) != token and len(meters.token_hash(token)) == 64


@pytest.mark.parametrize("token", ["", "no-dot", ".secret", "m-1."])
def test_malformed_tokens_name_no_meter(token):
    assert meters.meter_id_of(token) is None


def test_daily_addresses_are_81_trytes_deterministic_and_distinct():
    day = date(2026, 11, 25)
    address = meters.daily_address(SEED, "m-1", day)
    assert len(address) == 81 and set(address) <= set(ALPHABET)
    assert meters.daily_address(SEED, "m-1", day) == address
    assert meters.daily_address(SEED, "m-2", day) != address
    assert meters.daily_address(SEED, "m-1", date(2026, 11, 26)) != address
    assert meters.daily_address("another seed", "m-1", day) != address


def test_address_trytes_are_spread_over_the_whole_alphabet():
    trytes = "".join(meters.daily_address(SEED, f"m-{i}", date(2026, 1, 1)) for i in range(200))
    counts = [trytes.count(t) for t in ALPHABET]
    assert min(counts) > 0.7 * len(trytes) / 27 and max(counts) < 1.3 * len(trytes) / 27


@pytest.mark.parametrize("value", [0, -5, 100_000.5, float("nan"), float("inf"), True, "100"])
def test_a_rated_capacity_is_a_positive_number_within_100_mw(value):
    with pytest.raises(meters.InvalidRating):
        meters.rated_capacity(value)


def test_rated_capacities_that_are_accepted():
    assert meters.rated_capacity(100_000) == 100_000.0 and meters.rated_capacity(0.5) == 0.5
    assert meters.DEFAULT_RATED_KW == 1000.0
    assert meter("m-1.x").rated_kw == meters.DEFAULT_RATED_KW, "a meter without a rating has the default"


class _Meters:
    def __init__(self):
        self.created: list[Meter] = []

    def create(self, meter: Meter) -> None:
        self.created.append(meter)

    def get(self, meter_id: str) -> Meter | None:
        return next((m for m in self.created if m.id == meter_id), None)

    def of_user(self, user_id: str) -> list[Meter]:
        return [m for m in self.created if m.user_id == user_id]

    def all_active(self) -> list[Meter]:
        return [m for m in self.created if m.active]


def test_register_records_the_rating_or_the_default():
    from etp.meters import envelope

    public_pem = envelope.new_key_pair()[1]
    store = _Meters()

    def register(**rating: float) -> Meter:
        made, _ = meters.register(
            store, user_id="u", account="a", name="m", description="", public_key_pem=public_pem, now_iso="", **rating
        )
        return made

    assert register().rated_kw == 1000.0
    assert register(rated_kw=42).rated_kw == 42.0
    with pytest.raises(meters.InvalidRating):
        register(rated_kw=0)
    assert [m.rated_kw for m in store.created] == [1000.0, 42.0], "a refused rating registers nothing"
