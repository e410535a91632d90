"""etp.iota.kerl: Keccak-384 and Kerl against PyOTA's vectors.

Sources (iotaledger/iota.py): test/crypto/kerl/pykerl_test.py and the first rows of its
test_vectors/generate_trytes_and_hashes.csv, generate_multi_trytes_and_hash.csv and
generate_trytes_and_multi_squeeze.csv; test/types_test.py for address checksums.
"""

import hashlib

import pytest

from etp.iota import kerl
from etp.iota.kerl import Kerl, address_checksum, keccak_384, kerl_hash


def squeezes(trytes: str, count: int) -> list[str]:
    sponge = Kerl()
    sponge.absorb(trytes)
    return [sponge.squeeze() for _ in range(count)]


def test_keccak_384_is_the_original_keccak():
    # pykerl_test.py test_correct_hash_function (pysha3's keccak_384, not SHA3-384)
    assert keccak_384(b"Message").hex() == (
        "0c8d6ff6e6a1cf18a0d55b20f0bca160d0d1c914a5e842f3707a25eeb20a279f6b4e83eda8e43a67697832c7f69f53ca"
    )


@pytest.mark.parametrize("length", [0, 1, 103, 104, 105, 208, 500])
def test_the_permutation_agrees_with_hashlib_sha3(length):
    # SHA3-384 is the same sponge with the 0x06 pad byte: an independent check of Keccak-f[1600]
    # and of absorbing several 104-byte blocks.
    data = bytes(range(256)) * 2
    assert kerl._keccak_384(data[:length], 0x06) == hashlib.sha3_384(data[:length]).digest()


def test_one_block():
    # pykerl_test.py test_correct_first
    assert kerl_hash("EMIDYNHBWMBCXVDEFOFWINXTERALUKYYPPHKP9JJFGJEIUY9MUDVNFZHMMWZUYUSWAIOWEVTHNWMHANBH") == (
        "EJEAOOZYSAWFPZQESYDHZCGYNSTWXUMVJOVDWUNZJXDGWCLUFGIMZRMGCAZGKNPLBRLGUNYWKLJTYEAQX"
    )


def test_squeezing_two_hashes():
    # pykerl_test.py test_output_greater_243: squeeze(length=486) is two squeezes
    text = "9MIDYNHBWMBCXVDEFOFWINXTERALUKYYPPHKP9JJFGJEIUY9MUDVNFZHMMWZUYUSWAIOWEVTHNWMHANBH"
    assert "".join(squeezes(text, 2)) == (
        "G9JYBOMPUXHYHKSNRNMMSSZCSHOFYOYNZRSZMAAYWDYEIMVVOGKPJB"
        "VBM9TDPULSFUNMTVXRKFIDOHUXXVYDLFSZYZTWQYTE9SPYYWYTXJYQ"
        "9IFGYOLZXWZBKWZN9QOOTBQMWMUBLEWUEEASRHRTNIQWJQNDWRYLCA"
    )


def test_two_blocks_in_two_out():
    # pykerl_test.py test_input_greater_243
    text = (
        "G9JYBOMPUXHYHKSNRNMMSSZCSHOFYOYNZRSZMAAYWDYEIMVVOGKPJB"
        "VBM9TDPULSFUNMTVXRKFIDOHUXXVYDLFSZYZTWQYTE9SPYYWYTXJYQ"
        "9IFGYOLZXWZBKWZN9QOOTBQMWMUBLEWUEEASRHRTNIQWJQNDWRYLCA"
    )
    assert "".join(squeezes(text, 2)) == (
        "LUCKQVACOGBFYSPPVSSOXJEKNSQQRQKPZC9NXFSMQNRQCGGUL9OHVV"
        "KBDSKEQEBKXRNUJSRXYVHJTXBPDWQGNSCDCBAIRHAQCOWZEBSNHIJI"
        "GPZQITIBJQ9LNTDIBTCQ9EUWKHFLGFUVGGUWJONK9GBCDUIMAYMMQX"
    )


@pytest.mark.parametrize(
    ("trytes", "expected"),
    [
        # generate_trytes_and_hashes.csv, rows 1-3
        (
            "GYOMKVTSNHVJNCNFBBAH9AAMXLPLLLROQY99QN9DLSJUHDPBLCFFAIQXZA9BKMBJCYSFHFPXAHDWZFEIZ",
            "OXJCNFHUNAHWDLKKPELTBFUCVW9KLXKOGWERKTJXQMXTKFKNWNNXYD9DMJJABSEIONOSJTTEVKVDQEWTW",
        ),
        (
            "ZMRSKGXE9ZPORJRBRQDWEMEOVSCE9FRANHIAEIZKLETIGITFPQHYSXFYKUMSREDJNVGUXTZEFDRZZWPJG",
            "BAQNPLEGMSYJRGPE9AMDHHMJFBPCRLRTDFUZWFMBOGJCYCE9QHXZFYFFOKYUOZC9WCCEZ9XDMYXMXWEDA",
        ),
        (
            "KIPLDOXKXVWNJ9ZCCQPQDHYGCVHZTOMOFAWEZF9KKGPOWHEOUPJKPIWEPJXE9ZQI9GBCZFEJBXZLMNF9S",
            "DU9VPTG9FPTCFMDCAJNFZCIFTADKJRFGWHUNRRRTJHUDDZSFADIGEIEEOKMEAPILDIEZXYPKXMBIODJEC",
        ),
        # generate_multi_trytes_and_hash.csv, rows 1-2 (three blocks: two Keccak blocks absorbed)
        (
            "WMDBVBFWABDYUWRBKHNZWWTHEXPGIZJBAA9FLZXXSNQYQRW9VOQVCRAHIMZQSM9PUUTRHFDFHTQBZJEKHGQKN9NDUGSHRXWVNMSXUXTQR9"
            "RK9NYK9SYPEQFBIXAWCELQCBOGJMMDTYGLDLHVRVNAHKW9QIDQ9YCAWDMNAEFTAVLNFJCEXXM9CVPIODJJNKYKZYTEJUIA9DESWZEXYIAD"
            "LRRTKQYKOFGEAYIJLONFOCUIORKZGEO",
            "ENUJQUMNJKKXIUPPNW9CUTNASXZTEYDYCKPMCNBJGYKZRTAABPYSWIUOJVVRSVCCKOARLXX99EFYSLBYX",
        ),
        (
            "IDFH9DXCUQCRYUGBBLBMTUDWFSBVINTNVHGWQSGFOL9OHJNQKFXFRGPSPURLXKZQRSPLXKBFHUWKY9IRWFPAZXUDLFZ9ZKYBRU9WPTRHFIV"
            "RIVIZLZFNBWWBSVJZEKJ9HPFHAFUMRBZZJIIJWQK9FBMZECUBVC9U9MOMFQUKSMHVNYWLBLMWMSIIVBGOVUFYYD9AHKTXJCLZEKMEOCM9K"
            "NJNLRXEKFCJCJL9K9IAVMPRSUCMQKC",
            "YBE9FGOOXJXHXLHJAJZRTEYEBJLKBGDGWHGIGDUNESYJSNNSR9CMJWQPK9A9HARO9INZLWFQRPBPKGKUX",
        ),
    ],
)
def test_published_hashes(trytes, expected):
    assert kerl_hash(trytes) == expected


@pytest.mark.parametrize(
    ("trytes", "expected"),
    [
        # generate_trytes_and_multi_squeeze.csv, rows 1-2
        (
            "HYZY9CAVTNFQCDYFUHASZZHARFNIIGYGFLHLNMHQNAONHNLODAAFFVMDKBIVZEWEIPVHVWNHVZSUFTWLC",
            [
                "IWDWJCUUE9EBBYAEDXPDNAKTJAVY9IFOUZBNRIHMZ9NWOGOL9GYKZZ9ZLXHAI9PVPSLEAUGX9TQKMIUAX",
                "ANLYSAFQ9RJKFEADAZDTLPMYCYSGTRIOUWFKZPWJIEQHDTREOPHSUMAGIZLVIRMZGAVKODZAYBUISSQNX",
                "PWDQRZKKM9XGZTBCORFDRYFUDZSJQDGZJ9LCXJRMNEOKQDEODIGHBT9XZDIVZECQQKIUQDDYCSLOFSSYW",
            ],
        ),
        (
            "9ZIBIDKHC9PMPUZBJUSK9WQYGNBMFKTKHQCIZLWRWMCAQHY9BVIINSQTHAKOGWPJYNZXHLOYXSSYXCCCS",
            [
                "IGPXRFQSHFQYHHX99RYOFQGNYPINHHLJBPL9MMOUSBOQF9THZUGVHXFGWEY9UPWPZKMJICSELVMEZKBGC",
                "GLBJPL9AKHKCFDVNIIRTISXCUJOSPZHVKHMDMGFLCVLNCYQHROHDD9UTGBZGOYJSHUPSJLGQAQVENAUCW",
                "GQS9LPLWWYERQNFMRPJZCWCBTGWMCV9WAWZKFFOD9SDURYLP9ATBNFBD9LZQOHZKMWUEKQPVMFNBMPRED",
            ],
        ),
    ],
)
def test_published_multi_squeezes(trytes, expected):
    assert squeezes(trytes, 3) == expected


def test_address_checksum():
    # iotaledger/iota.py test/types_test.py test_checksum_valid
    address = "RVORZ9SIIP9RCYMREUIXXVPQIPHVCNPQ9HZWYKFWYWZRE9JQKG9REPKIASHUUECPSQO9JT9XNMVKWYGVA"
    assert address_checksum(address) == "ITCOXAQSD"
    with pytest.raises(ValueError):
        address_checksum(address + "ITCOXAQSD")
