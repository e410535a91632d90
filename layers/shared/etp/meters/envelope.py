"""The meters' wire envelope (docs/api.md, "Meter readings on the tangle").

A reading's payload (UTF-8 JSON) travels as `{"data": base64(RSA-PKCS#1 v1.5 encrypt(platform
public key, payload)), "signature": base64(RSA-PKCS#1 v1.5 sign(SHA-256, payload, meter key))}`.
`cryptography` is imported on first use: only the functions that handle readings pay for it.
"""

import base64
import binascii
import json
from functools import cache
from typing import Any


class EnvelopeError(Exception):
    """Why an envelope cannot be accepted: the message is a short reason, safe to log and count."""


def _primitives():
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    return InvalidSignature, hashes, serialization, padding, rsa


@cache
def load_private_key(pem: str) -> Any:
    _, _, serialization, _, _ = _primitives()
    return serialization.load_pem_private_key(pem.encode("ascii"), password=None)


@cache
def load_public_key(pem: str) -> Any:
    _, _, serialization, _, _ = _primitives()
    return serialization.load_pem_public_key(pem.encode("ascii"))


def new_key_pair(bits: int = 2048) -> tuple[str, str]:
    """A fresh RSA key pair as (private PEM, public PEM)."""
    _, _, serialization, _, rsa = _primitives()
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    return private, public_pem_of(key)


def public_pem_of(private_key: Any) -> str:
    _, _, serialization, _, _ = _primitives()
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def seal(payload: bytes, *, platform_public_pem: str, meter_private_pem: str) -> bytes:
    """What a meter sends: the envelope JSON as bytes."""
    _, hashes, _, padding, _ = _primitives()
    data = load_public_key(platform_public_pem).encrypt(payload, padding.PKCS1v15())
    signature = load_private_key(meter_private_pem).sign(payload, padding.PKCS1v15(), hashes.SHA256())
    envelope = {"data": base64.b64encode(data).decode(), "signature": base64.b64encode(signature).decode()}
    return json.dumps(envelope, separators=(",", ":")).encode("utf-8")


def open_envelope(raw: bytes, *, platform_private_pem: str, meter_public_pem: str) -> bytes:
    """The payload of an envelope, decrypted with the platform key and verified with the meter's key."""
    invalid_signature, hashes, _, padding, _ = _primitives()
    try:
        envelope = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise EnvelopeError("envelope is not JSON") from None
    if (
        not isinstance(envelope, dict)
        or not isinstance(envelope.get("data"), str)
        or not isinstance(envelope.get("signature"), str)
    ):
        raise EnvelopeError("envelope lacks data or signature")
    try:
        data = base64.b64decode(envelope["data"], validate=True)
        signature = base64.b64decode(envelope["signature"], validate=True)
    except (binascii.Error, ValueError):
        raise EnvelopeError("envelope is not base64") from None
    try:
        payload = load_private_key(platform_private_pem).decrypt(data, padding.PKCS1v15())
    except ValueError:
        raise EnvelopeError("data does not decrypt with the platform key") from None
    try:
        load_public_key(meter_public_pem).verify(signature, payload, padding.PKCS1v15(), hashes.SHA256())
    except invalid_signature:
        raise EnvelopeError("signature does not verify with the meter's key") from None
    return payload
