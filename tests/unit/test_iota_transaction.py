"""etp.iota.transaction: the 2673-tryte layout, transaction hashes and bundle hashes.

Vectors: iotaledger/iota.py test/transaction/base_test.py (TransactionTestCase.test_from_tryte_string:
trytes with attachment fields and their Curl-P-81 hash) and test/transaction/creation_test.py
(ProposedBundleTestCase.test_finalize_insecure_bundle: a zero-value bundle, its bundle hash and
the incremented legacy tag).
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etp.iota.transaction import (
    NULL_HASH,
    InvalidTransaction,
    Transaction,
    bundle_hash_for,
    finalize_bundle,
    increment_tag,
    is_secure_bundle_hash,
    normalized_bundle_hash,
)
from etp.iota.trytes import TRYTE_VALUE

# base_test.py test_from_tryte_string, as PyOTA wraps it (66 trytes a line)
PYOTA_TRYTES = (
    "GYPRVHBEZOOFXSHQBLCYW9ICTCISLHDBNMMVYD9JJHQMPQCTIQAQTJNNNJ9IDXLRCC"
    "OYOXYPCLR9PBEY9ORZIEPPDNTI9CQWYZUOTAVBXPSBOFEQAPFLWXSWUIUSJMSJIIIZ"
    "WIKIRH9GCOEVZFKNXEVCUCIIWZQCQEUVRZOCMEL9AMGXJNMLJCIA9UWGRPPHCEOPTS"
    "VPKPPPCMQXYBHMSODTWUOABPKWFFFQJHCBVYXLHEWPD9YUDFTGNCYAKQKVEZYRBQRB"
    "XIAUX9SVEDUKGMTWQIYXRGSWYRK9SRONVGTW9YGHSZRIXWGPCCUCDRMAXBPDFVHSRY"
    "WHGB9DQSQFQKSNICGPIPTRZINYRXQAFSWSEWIFRMSBMGTNYPRWFSOIIWWT9IDSELM9"
    "JUOOWFNCCSHUSMGNROBFJX9JQ9XT9PKEGQYQAWAFPRVRRVQPUQBHLSNTEFCDKBWRCD"
    "X9EYOBB9KPMTLNNQLADBDLZPRVBCKVCYQEOLARJYAGTBFR9QLPKZBOYWZQOVKCVYRG"
    "YI9ZEFIQRKYXLJBZJDBJDJVQZCGYQMROVHNDBLGNLQODPUXFNTADDVYNZJUVPGB9LV"
    "PJIYLAPBOEHPMRWUIAJXVQOEM9ROEYUOTNLXVVQEYRQWDTQGDLEYFIYNDPRAIXOZEB"
    "CS9P99AZTQQLKEILEVXMSHBIDHLXKUOMMNFKPYHONKEYDCHMUNTTNRYVMMEYHPGASP"
    "ZXASKRUPWQSHDMU9VPS99ZZ9SJJYFUJFFMFORBYDILBXCAVJDPDFHTTTIYOVGLRDYR"
    "TKHXJORJVYRPTDH9ZCPZ9ZADXZFRSFPIQKWLBRNTWJHXTOAUOL9FVGTUMMPYGYICJD"
    "XMOESEVDJWLMCVTJLPIEKBE9JTHDQWV9MRMEWFLPWGJFLUXI9BXPSVWCMUWLZSEWHB"
    "DZKXOLYNOZAPOYLQVZAQMOHGTTQEUAOVKVRRGAHNGPUEKHFVPVCOYSJAWHZU9DRROH"
    "BETBAFTATVAUGOEGCAYUXACLSSHHVYDHMDGJP9AUCLWLNTFEVGQGHQXSKEMVOVSKQE"
    "EWHWZUDTYOBGCURRZSJZLFVQQAAYQO9TRLFFN9HTDQXBSPPJYXMNGLLBHOMNVXNOWE"
    "IDMJVCLLDFHBDONQJCJVLBLCSMDOUQCKKCQJMGTSTHBXPXAMLMSXRIPUBMBAWBFNLH"
    "LUJTRJLDERLZFUBUSMF999XNHLEEXEENQJNOFFPNPQ9PQICHSATPLZVMVIWLRTKYPI"
    "XNFGYWOJSQDAXGFHKZPFLPXQEHCYEAGTIWIJEZTAVLNUMAFWGGLXMBNUQTOFCNLJTC"
    "DMWVVZGVBSEBCPFSM99FLOIDTCLUGPSEDLOKZUAEVBLWNMODGZBWOVQT9DPFOTSKRA"
    "BQAVOQ9RXWBMAKFYNDCZOJGTCIDMQSQQSODKDXTPFLNOKSIZEOY9HFUTLQRXQMEPGO"
    "XQGLLPNSXAUCYPGZMNWMQWSWCKAQYKXJTWINSGPPZG9HLDLEAWUWEVCTVRCBDFOXKU"
    "ROXH9HXXAXVPEJFRSLOGRVGYZASTEBAQNXJJROCYRTDPYFUIQJVDHAKEG9YACV9HCP"
    "JUEUKOYFNWDXCCJBIFQKYOXGRDHVTHEQUMHO999999999999999999999999999999"
    "999999999999999999999999999999999999999999999999999999999999999999"
    "999999999999999999999999999999999999999999999999999999999999999999"
    "999999999999999999999999999999999999999999999999999999999999999999"
    "999999999999999999999999999999999999999999999999999999999999999999"
    "999999999999999999999999999999999999999999999999999999999999999999"
    "999999999999999999999999999999999999999999999999999999999999999999"
    "999999999999999999999999999999999999999999999999999999999999999999"
    "999999999999999999999999999999999999999999999999999999999999999999"
    "999999999999999999999999999999999999999999999999999999999999999999"
    "999999999999999999999999999999999999999999999999999999999999999999"
    "999999999999RKWEEVD99A99999999A99999999NFDPEEZCWVYLKZGSLCQNOFUSENI"
    "XRHWWTZFBXMPSQHEDFWZULBZFEOMNLRNIDQKDNNIELAOXOVMYEI9PGTKORV9IKTJZQ"
    "UBQAWTKBKZ9NEZHBFIMCLV9TTNJNQZUIJDFPTTCTKBJRHAITVSKUCUEMD9M9SQJ999"
    "999TKORV9IKTJZQUBQAWTKBKZ9NEZHBFIMCLV9TTNJNQZUIJDFPTTCTKBJRHAITVSK"
    "UCUEMD9M9SQJ999999999999999999999999999999999RKWEEVD99RKWEEVD99RKW"
    "EEVD99999999999999999999999999999"
)
PYOTA_HASH = "JBVVEWEPYNZ9KRHNUUTRENXXAVXT9MKAVPAUQ9SJNSIHDCPQM9LJHIZGXO9PIRWUUVBOXNCBE9XJGMOZF"
PYOTA_BUNDLE = "NFDPEEZCWVYLKZGSLCQNOFUSENIXRHWWTZFBXMPSQHEDFWZULBZFEOMNLRNIDQKDNNIELAOXOVMYEI9PG"
PYOTA_TRUNK = "TKORV9IKTJZQUBQAWTKBKZ9NEZHBFIMCLV9TTNJNQZUIJDFPTTCTKBJRHAITVSKUCUEMD9M9SQJ999999"


def proposed(**changes) -> Transaction:
    """A transaction before finalization, as PyOTA's ProposedTransaction leaves it."""
    fields = dict(
        signature_message_fragment="9" * 2187,
        address="9" * 81,
        value=0,
        obsolete_tag="9" * 27,
        timestamp=0,
        current_index=0,
        last_index=0,
        bundle_hash=NULL_HASH,
        trunk=NULL_HASH,
        branch=NULL_HASH,
        tag="9" * 27,
        attachment_timestamp=0,
        attachment_timestamp_lower=0,
        attachment_timestamp_upper=0,
        nonce="9" * 27,
    )
    return Transaction(**{**fields, **changes})


def test_a_published_transaction():
    transaction = Transaction.from_trytes(PYOTA_TRYTES)
    assert transaction.hash == PYOTA_HASH
    assert transaction.signature_message_fragment.startswith("GYPRVHBEZOOFXSHQBLCYW9ICTCISLHDBNMMVYD9JJHQ")
    assert transaction.address == NULL_HASH
    assert (transaction.value, transaction.timestamp, transaction.current_index, transaction.last_index) == (
        0,
        1480690413,
        1,
        1,
    )
    assert transaction.obsolete_tag == transaction.tag == "9" * 27
    assert transaction.bundle_hash == PYOTA_BUNDLE
    assert transaction.trunk == transaction.branch == PYOTA_TRUNK
    assert (
        transaction.attachment_timestamp,
        transaction.attachment_timestamp_lower,
        transaction.attachment_timestamp_upper,
    ) == (1480690413, 1480690413, 1480690413)
    assert transaction.nonce == "9" * 27
    assert transaction.as_trytes() == PYOTA_TRYTES


@pytest.mark.parametrize(
    ("trytes", "reason"),
    [
        (PYOTA_TRYTES[:-1], "2673 trytes, not 2672"),
        (PYOTA_TRYTES + "9", "not 2674"),
        ("a" + PYOTA_TRYTES[1:], "character 'a' at 0"),
        (None, "must be a string"),
    ],
)
def test_broken_trytes_say_why(trytes, reason):
    with pytest.raises(InvalidTransaction, match=reason):
        Transaction.from_trytes(trytes)


@pytest.mark.parametrize(
    "change",
    [
        {"value": 3**81},
        {"value": True},
        {"timestamp": "1"},
        {"address": "A" * 80},
        {"tag": "a" * 27},
    ],
)
def test_fields_are_checked(change):
    with pytest.raises(InvalidTransaction):
        proposed(**change)


field = st.text(alphabet="9ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=81, max_size=81)
tag = st.text(alphabet="9ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=27, max_size=27)
small = st.integers(min_value=-(3**27 - 1) // 2, max_value=(3**27 - 1) // 2)


@given(
    address=field,
    bundle=field,
    tag=tag,
    value=st.integers(min_value=-(3**81 - 1) // 2, max_value=(3**81 - 1) // 2),
    timestamp=small,
    index=small,
)
def test_round_trip(address, bundle, tag, value, timestamp, index):
    transaction = proposed(
        address=address,
        bundle_hash=bundle,
        tag=tag,
        obsolete_tag=tag,
        value=value,
        timestamp=timestamp,
        current_index=index,
        attachment_timestamp_upper=timestamp,
    )
    assert len(transaction.as_trytes()) == 2673
    assert Transaction.from_trytes(transaction.as_trytes()) == transaction


def test_a_published_zero_value_bundle():
    # creation_test.py test_finalize_insecure_bundle: PyOTA increments the legacy (obsolete) tag of
    # the tail until the normalized bundle hash has no 13, for zero-value bundles too.
    draft = proposed(
        address="9XV9RJGFJJZWITDPKSQXRTHCKJAIZZY9BYLBEQUXUNCLITRQDR9CCD99AANMXYEKD9GLJGVB9HIAGRIBQ",
        tag="PPDIDNQDJZGUQKOWJ9JZRCKOVGP",
        obsolete_tag="PPDIDNQDJZGUQKOWJ9JZRCKOVGP",
        timestamp=1509136296,
    )
    (transaction,) = finalize_bundle([draft])
    assert transaction.obsolete_tag == "ZTDIDNQDJZGUQKOWJ9JZRCKOVGP"
    assert transaction.tag == "PPDIDNQDJZGUQKOWJ9JZRCKOVGP"
    assert transaction.bundle_hash == (
        "NYSJSEGCWESDAFLIFCNJFWGZ9PCYDOT9VCSALKBD9UUNKBJAJCB9KVMTHZDPRDDXC9UFJQBJBQFUPJKFC"
    )
    assert bundle_hash_for([transaction]) == transaction.bundle_hash
    assert not is_secure_bundle_hash(bundle_hash_for([draft]))


def test_finalizing_indexes_every_transaction():
    bundle = finalize_bundle([proposed(address="A" * 81, timestamp=1), proposed(address="B" * 81, timestamp=1)])
    assert [(t.current_index, t.last_index) for t in bundle] == [(0, 1), (1, 1)]
    assert bundle[0].bundle_hash == bundle[1].bundle_hash == bundle_hash_for(bundle)
    assert is_secure_bundle_hash(bundle[0].bundle_hash)
    assert bundle_hash_for(bundle[::-1]) != bundle[0].bundle_hash
    with pytest.raises(ValueError):
        finalize_bundle([])


def test_tag_increment_carries_and_wraps():
    assert increment_tag("M" + "9" * 26) == "NA" + "9" * 25  # 13 + 1 = -13 + 1*27
    assert increment_tag("M" * 27) == "N" * 27  # overflow dropped, as PyOTA's add_trits


def pyota_normalize(bundle_hash: str) -> list[int]:
    """iotaledger/iota.py iota/crypto/signing.py `normalize`, literally (one unit at a time)."""
    normalized = []
    source = [TRYTE_VALUE[char] for char in bundle_hash]
    for i in range(3):
        chunk = source[i * 27 : (i + 1) * 27]
        chunk_sum = sum(chunk)
        while chunk_sum > 0:
            chunk_sum -= 1
            for j in range(27):
                if chunk[j] > -13:
                    chunk[j] -= 1
                    break
        while chunk_sum < 0:
            chunk_sum += 1
            for j in range(27):
                if chunk[j] < 13:
                    chunk[j] += 1
                    break
        normalized.extend(chunk)
    return normalized


@given(field)
def test_normalization_moves_in_bulk_what_pyota_moves_unit_by_unit(bundle_hash):
    assert normalized_bundle_hash(bundle_hash) == pyota_normalize(bundle_hash)
