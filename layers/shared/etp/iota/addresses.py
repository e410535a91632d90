"""Addresses: 81 trytes, optionally followed by their 9-tryte Kerl checksum (as PyOTA writes them)."""

from typing import TypeGuard

from etp.iota.kerl import address_checksum
from etp.iota.trytes import CHECKSUM_LENGTH, HASH_LENGTH, is_hash, is_trytes


def is_address(text: object) -> TypeGuard[str]:
    """81 trytes, or 90 whose last 9 are the address's valid Kerl checksum (PyOTA's `Address`)."""
    if is_hash(text):
        return True
    if not is_trytes(text, HASH_LENGTH + CHECKSUM_LENGTH):
        return False
    return address_checksum(text[:HASH_LENGTH]) == text[HASH_LENGTH:]


def strip_checksum(address: str) -> str:
    """The 81-tryte address of an address with or without a valid checksum."""
    if not is_address(address):
        raise ValueError("not an address (81 trytes, or 90 with a valid checksum)")
    return address[:HASH_LENGTH]
