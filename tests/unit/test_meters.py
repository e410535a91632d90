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
