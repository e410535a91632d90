"""etp.iota.trytes: the tryte alphabet, balanced ternary and the two-trytes-per-byte codec.

Vectors come from PyOTA (iotaledger/iota.py): test/codecs_test.py, iota/crypto/kerl/conv.py,
test/types_test.py and test/transaction/base_test.py, as cited at each test.
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etp.iota.addresses import is_address, strip_checksum
from etp.iota.trytes import (
    TrytesDecodeError,
    all_trytes,
    bytes_to_trytes,
    int_to_trits,
    int_to_trytes,
    is_hash,
    is_tag,
    is_trytes,
    pad_tag,
    trits_to_int,
    trits_to_trytes,
    trytes_to_bytes,
    trytes_to_int,
    trytes_to_trits,
)

trytes = st.text(alphabet="9ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def test_bytes_codec_matches_pyota():
    # iotaledger/iota.py test/codecs_test.py: test_encode_byte_string / test_decode_byte_string
    assert bytes_to_trytes(b"Hello, IOTA!") == "RBTC9D9DCDQAEASBYBCCKBFA"
    assert trytes_to_bytes("RBTC9D9DCDQAEASBYBCCKBFA") == b"Hello, IOTA!"


def test_decoding_rejects_pairs_above_255():
    # iotaledger/iota.py test/codecs_test.py: test_decode_invalid_pair_errors_strict
    with pytest.raises(TrytesDecodeError):
        trytes_to_bytes("ZJVYUGTDRPDYFGFXMK")
    with pytest.raises(TrytesDecodeError, match="trytes AZ at 2 are not a byte"):
        trytes_to_bytes("ABAZAB")
    with pytest.raises(ValueError, match="not trytes"):
        trytes_to_bytes("hello")


def test_decoding_ignores_fragment_padding():
    # PyOTA's TryteString.decode strips trailing 9s, then puts one back for an odd count:
    # the odd-length 'RBTC...FA9' of test/codecs_test.py decodes to the message.
    assert trytes_to_bytes("RBTC9D9DCDQAEASBYBCCKBFA9") == b"Hello, IOTA!"
    fragment = bytes_to_trytes(b"Hello, IOTA!").ljust(2187, "9")
    assert trytes_to_bytes(fragment) == b"Hello, IOTA!"
    # A byte whose second tryte is 9 (b < 27) survives the stripping of the padding after it.
    assert trytes_to_bytes(bytes_to_trytes(b"line\n").ljust(2187, "9")) == b"line\n"


def test_only_trailing_nul_bytes_are_lost():
    # Documented behaviour (PyOTA's): NUL bytes are '99', indistinguishable from padding at the end.
    assert trytes_to_bytes(bytes_to_trytes(b"a\x00b\x00\x00")) == b"a\x00b"


@given(st.binary(max_size=1093))
def test_bytes_round_trip_through_a_padded_fragment(data):
    assert trytes_to_bytes(bytes_to_trytes(data).ljust(2187, "9")) == data.rstrip(b"\x00")


def test_tryte_trits_table_matches_pyota():
    # iotaledger/iota.py iota/crypto/kerl/conv.py: tryte_table
    table = {
        "9": [0, 0, 0],
        "A": [1, 0, 0],
        "B": [-1, 1, 0],
        "E": [-1, -1, 1],
        "M": [1, 1, 1],
        "N": [-1, -1, -1],
        "R": [0, 0, -1],
        "Y": [1, -1, 0],
        "Z": [-1, 0, 0],
    }
    for char, trits in table.items():
        assert trytes_to_trits(char) == trits
        assert trits_to_trytes(trits) == char
    assert trytes_to_int("M") == 13 and trytes_to_int("N") == -13


def test_integer_fields_match_a_real_transaction():
    # iotaledger/iota.py test/transaction/base_test.py test_from_tryte_string: the timestamp
    # field 'RKWEEVD99' is 1480690413 and the index field 'A99999999' is 1.
    assert trytes_to_int("RKWEEVD99") == 1480690413
    assert int_to_trytes(1480690413, 9) == "RKWEEVD99"
    assert int_to_trytes(1, 9) == "A99999999"
    assert int_to_trytes(-1, 2) == "Z9"


def test_int_to_trits_checks_the_width():
    assert int_to_trits(0, 3) == [0, 0, 0]
    assert int_to_trits(13, 3) == [1, 1, 1]
    with pytest.raises(ValueError, match="does not fit"):
        int_to_trits(14, 3)


@given(st.integers(min_value=-(3**81 - 1) // 2, max_value=(3**81 - 1) // 2))
def test_int_round_trip(value):
    assert trits_to_int(int_to_trits(value, 81)) == value
    assert trytes_to_int(int_to_trytes(value, 27)) == value


@given(trytes)
def test_trytes_trits_round_trip(text):
    assert trits_to_trytes(trytes_to_trits(text)) == text


def test_trits_must_come_in_threes():
    with pytest.raises(ValueError):
        trits_to_trytes([1, 0])


def test_validators():
    assert is_trytes("ABC9") and is_trytes("", 0) and is_trytes("AB", 2)
    assert not is_trytes("abc") and not is_trytes("AB", 3) and not is_trytes(None) and not is_trytes(12)
    assert is_hash("A" * 81) and not is_hash("A" * 80) and not is_hash("A" * 90)


@given(st.lists(st.one_of(st.text(alphabet="9ABZabz\u00e9", min_size=2, max_size=4), st.integers(), st.none())))
def test_all_trytes_agrees_with_checking_each_item(items):
    assert all_trytes(items, 3) == all(is_trytes(item, 3) for item in items)


def test_all_trytes_on_answers():
    assert all_trytes(["A" * 81, "9" * 81], 81) and all_trytes([], 81)
    assert not all_trytes(["A" * 81, "A" * 80 + "a"], 81)
    assert not all_trytes(["A" * 80, "A" * 82], 81)  # the right total length is not enough
    assert not all_trytes(["A" * 81, b"A" * 81], 81)


def test_addresses_with_and_without_checksum():
    # iotaledger/iota.py test/types_test.py: test_checksum_valid / test_checksum_invalid
    valid = "RVORZ9SIIP9RCYMREUIXXVPQIPHVCNPQ9HZWYKFWYWZRE9JQKG9REPKIASHUUECPSQO9JT9XNMVKWYGVAITCOXAQSD"
    other = "IGKUOZGEFNSVJXETLIBKRSUZAWMYSVDPMHGQPCETEFNZPXSJLZMBLAWDRLUBWPIPKFNEPADIWMXMYYRKQ"
    assert is_address(valid) and is_address(valid[:81])
    assert is_address(other + "XYYNAFRMA")
    assert not is_address(other + "XYYNAFRMB")  # last tryte of the checksum is wrong
    assert not is_address(valid + "9") and not is_address("a" * 81)
    assert strip_checksum(valid) == valid[:81] and strip_checksum(valid[:81]) == valid[:81]
    with pytest.raises(ValueError):
        strip_checksum(other + "XYYNAFRMB")


def test_tags():
    assert is_tag("BEMS9PV9DISPLAY9A") and is_tag("") and is_tag("A" * 27)
    assert not is_tag("A" * 28) and not is_tag("bems")
    assert pad_tag("BEMS9PV9DISPLAY9A") == "BEMS9PV9DISPLAY9A9999999999"
    with pytest.raises(ValueError):
        pad_tag("A" * 28)
