import base64
import json

import pytest

from etp.meters import envelope


def test_a_sealed_payload_opens_with_the_right_keys(keys):
    sealed = envelope.seal(
        b'{"grid": 1}', platform_public_pem=keys["platform_public"], meter_private_pem=keys["meter_private"]
    )
    assert set(json.loads(sealed)) == {"data", "signature"}
    assert b"grid" not in sealed, "the payload travels encrypted"
    assert (
        envelope.open_envelope(
            sealed, platform_private_pem=keys["platform_private"], meter_public_pem=keys["meter_public"]
        )
        == b'{"grid": 1}'
    )


def test_another_meters_key_does_not_verify(keys):
    sealed = envelope.seal(b"x", platform_public_pem=keys["platform_public"], meter_private_pem=keys["other_private"])
    with pytest.raises(envelope.EnvelopeError, match="signature"):
        envelope.open_envelope(
            sealed, platform_private_pem=keys["platform_private"], meter_public_pem=keys["meter_public"]
        )


def test_data_for_another_platform_is_rejected(keys):
    sealed = envelope.seal(b"x", platform_public_pem=keys["other_public"], meter_private_pem=keys["meter_private"])
    # OpenSSL's implicit rejection turns a PKCS#1 v1.5 padding failure into random plaintext (no
    # Bleichenbacher oracle), so this surfaces as a signature that does not verify.
    with pytest.raises(envelope.EnvelopeError, match=r"decrypt|signature"):
        envelope.open_envelope(
            sealed, platform_private_pem=keys["platform_private"], meter_public_pem=keys["meter_public"]
        )


def test_a_tampered_signature_fails(keys):
    sealed = json.loads(
        envelope.seal(b"x", platform_public_pem=keys["platform_public"], meter_private_pem=keys["meter_private"])
    )
    signature = bytearray(base64.b64decode(sealed["signature"]))
    signature[10] ^= 1
    sealed["signature"] = base64.b64encode(bytes(signature)).decode()
    with pytest.raises(envelope.EnvelopeError, match="signature"):
        envelope.open_envelope(
            json.dumps(sealed).encode(),
            platform_private_pem=keys["platform_private"],
            meter_public_pem=keys["meter_public"],
        )


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not JSON"),
        (b'{"data": "x"}', "lacks"),
        (b"[]", "lacks"),
        (b'{"data": "!!", "signature": "!!"}', "base64"),
        (b'{"data": "AAAA", "signature": "AAAA"}', "decrypt"),
        (b'{"data": "', "not JSON"),
    ],
)
def test_broken_envelopes_say_why(keys, raw, reason):
    with pytest.raises(envelope.EnvelopeError, match=reason):
        envelope.open_envelope(
            raw, platform_private_pem=keys["platform_private"], meter_public_pem=keys["meter_public"]
        )
