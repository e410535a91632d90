"""etp.iota.curl: Curl-P-81 against PyOTA's published vectors (iotaledger/iota.py test/crypto/pycurl_test.py)."""

import pytest

from etp.iota.curl import curl_hash

G9JY = (
    "G9JYBOMPUXHYHKSNRNMMSSZCSHOFYOYNZRSZMAAYWDYEIMVVOGKPJB"
    "VBM9TDPULSFUNMTVXRKFIDOHUXXVYDLFSZYZTWQYTE9SPYYWYTXJYQ"
    "9IFGYOLZXWZBKWZN9QOOTBQMWMUBLEWUEEASRHRTNIQWJQNDWRYLCA"
)


def test_one_block():
    # pycurl_test.py test_correct_first
    assert curl_hash("EMIDYNHBWMBCXVDEFOFWINXTERALUKYYPPHKP9JJFGJEIUY9MUDVNFZHMMWZUYUSWAIOWEVTHNWMHANBH") == (
        "AQBOPUMJMGVHFOXSMUAGZNACKUTISDPBSILMRAGIGRXXS9JJTLIKZUW9BCJWKSTFBDSBLNVEEGVGAMSSM"
    )


def test_two_blocks():
    # pycurl_test.py test_input_length_greater_then_243: absorb(trits, length=486) takes 2 blocks
    assert curl_hash(G9JY) == "RWCBOLRFANOAYQWXXTFQJYQFAUTEEBSZWTIRSSDREYGCNFRLHQVDZXYXSJKCQFQLJMMRHYAZKRRLQZDKR"


def test_blocks_in_another_order():
    # pycurl_test.py test_input_with_offset: absorb(trits, 243, 486) then absorb(trits, 0, 243)
    assert curl_hash(G9JY[81:] + G9JY[:81]) == (
        "ZWNF9YOCAKC9CXQFYZDKXSSAZOCAZLEVEB9OZDJQGWEULHUDY9RAWAT9GIUXTTUSYJEGNGQDVJCGTQLN9"
    )


def test_hash_of_hashes():
    # pycurl_test.py test_squeeze_with_offset: each 243-trit block replaced by its own hash,
    # then the 6 hashes hashed together.
    text = (
        "CDLFODMOGMQAWXDURDXTUAOO9BFESHYGZLBUWIIHPTLNZCUNHZAAXSUPUIBW"
        "IRLOVKCVWJSWEKRJQZUVRDZGZRNANUNCSGANCJWVHMZMVNJVUAZNFZKDAIVV"
        "LSMIM9SVGUHYECTGGIXTAMXXO9FIXUMQFZCGRQWAOWJPBTXNNQIRSTZEEAJV"
        "FSXWTHWBQJCWQNYYMHSPCYRA99ITVILYJPMFGOGOUOZUVABK9HMGABSORCVD"
        "FNGLMPJ9NFKBWCZMFPIWEAGRWPRNLLG9VYUUVLCTEWKGWQIRIJKERZWC9LVR"
        "XJEXNHBNUGEGGLMWGERKYFB9YEZCLXLKKMCGLRKQOGASDOUDYEDJLMV9BHPG"
        "GCXQIUVUOFFXKEIIINLVWLRYHHLKXPLSTWKIKNEJWEDFQQFXQVEHGRCIJC9T"
        "GVQNPPKGCFGPJNWSCPQZDDSIGAVZEIVYJDVPUOCTEMKTZFGXNGPQCOIBD9MX"
        "YTHJTX"
    )
    hashes = "".join(curl_hash(text[i : i + 81]) for i in range(0, len(text), 81))
    assert curl_hash(hashes) == "TAWDGNSEAD9ZRGBBVRVEKQYYVDOKHYQ9KEIYJKFTBQEYZDWZVMRFJQQGTMPHBZOGPIJCCVWLZVDKLAQVI"


def test_short_input_is_zero_padded_like_pyota():
    # PyOTA's Curl.absorb pads with zero trits ('9' trytes) to a whole block.
    assert curl_hash("ABC") == curl_hash("ABC".ljust(81, "9"))


@pytest.mark.parametrize("bad", ["", "abc", "ABC DEF"])
def test_rejects_what_is_not_trytes(bad):
    with pytest.raises(ValueError):
        curl_hash(bad)
