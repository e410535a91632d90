"""Legacy IOTA transactions (2673 trytes) and zero-value bundles, as PyOTA's `Transaction`/`ProposedBundle`."""

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from etp.iota.curl import curl_hash
from etp.iota.kerl import Kerl
from etp.iota.trytes import (
    HASH_LENGTH,
    TAG_LENGTH,
    TRYTE_VALUE,
    int_to_trytes,
    is_trytes,
    trytes_to_int,
)

FRAGMENT_LENGTH = 2187
TRANSACTION_LENGTH = 2673
NULL_HASH = "9" * HASH_LENGTH

# (field, trytes, is an integer) in wire order.
LAYOUT: tuple[tuple[str, int, bool], ...] = (
    ("signature_message_fragment", FRAGMENT_LENGTH, False),
    ("address", HASH_LENGTH, False),
    ("value", 27, True),
    ("obsolete_tag", TAG_LENGTH, False),
    ("timestamp", 9, True),
    ("current_index", 9, True),
    ("last_index", 9, True),
    ("bundle_hash", HASH_LENGTH, False),
    ("trunk", HASH_LENGTH, False),
    ("branch", HASH_LENGTH, False),
    ("tag", TAG_LENGTH, False),
    ("attachment_timestamp", 9, True),
    ("attachment_timestamp_lower", 9, True),
    ("attachment_timestamp_upper", 9, True),
    ("nonce", 27, False),
)


class InvalidTransaction(ValueError):
    """Trytes or field values that are not a legacy transaction; the message says why."""


@dataclass(frozen=True)
class Transaction:
    signature_message_fragment: str
    address: str
    value: int
    obsolete_tag: str
    timestamp: int
    current_index: int
    last_index: int
    bundle_hash: str
    trunk: str
    branch: str
    tag: str
    attachment_timestamp: int
    attachment_timestamp_lower: int
    attachment_timestamp_upper: int
    nonce: str

    def __post_init__(self) -> None:
        for name, length, is_int in LAYOUT:
            value = getattr(self, name)
            if is_int:
                limit = (3 ** (3 * length) - 1) // 2
                if type(value) is not int or not -limit <= value <= limit:
                    raise InvalidTransaction(f"{name} must be an integer of {3 * length} trits")
            elif not is_trytes(value, length):
                raise InvalidTransaction(f"{name} must be {length} trytes")

    @classmethod
    def from_trytes(cls, trytes: str) -> "Transaction":
        if not isinstance(trytes, str):
            raise InvalidTransaction("transaction trytes must be a string")
        if len(trytes) != TRANSACTION_LENGTH:
            raise InvalidTransaction(f"a transaction is {TRANSACTION_LENGTH} trytes, not {len(trytes)}")
        for position, char in enumerate(trytes):
            if char not in TRYTE_VALUE:
                raise InvalidTransaction(f"character {char!r} at {position} is not a tryte")
        fields: dict[str, str | int] = {}
        start = 0
        for name, length, is_int in LAYOUT:
            chunk = trytes[start : start + length]
            fields[name] = trytes_to_int(chunk) if is_int else chunk
            start += length
        return cls(**fields)  # type: ignore[arg-type]

    def as_trytes(self) -> str:
        return "".join(
            int_to_trytes(getattr(self, name), length) if is_int else getattr(self, name)
            for name, length, is_int in LAYOUT
        )

    @cached_property
    def hash(self) -> str:
        """The transaction hash: Curl-P-81 of the 2673 trytes."""
        return curl_hash(self.as_trytes())

    def bundle_essence(self) -> str:
        """The 162 trytes the bundle hash covers: address, value, obsolete tag, timestamp, indexes."""
        return (
            self.address
            + int_to_trytes(self.value, 27)
            + self.obsolete_tag
            + int_to_trytes(self.timestamp, 9)
            + int_to_trytes(self.current_index, 9)
            + int_to_trytes(self.last_index, 9)
        )

    def replace(self, **changes: object) -> "Transaction":
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def bundle_hash_for(transactions: Sequence[Transaction]) -> str:
    """Kerl over the essences of the bundle's transactions, in bundle order."""
    sponge = Kerl()
    for transaction in transactions:
        sponge.absorb(transaction.bundle_essence())
    return sponge.squeeze()


def normalized_bundle_hash(bundle_hash: str) -> list[int]:
    """The hash as tryte values, each 27-tryte third shifted to sum 0 (PyOTA's `signing.normalize`).

    PyOTA moves the sum one unit at a time, always from the first value that can still move;
    moving each value as far as it goes, left to right, gives the same result in one pass.
    """
    normalized = []
    for start in range(0, HASH_LENGTH, 27):
        chunk = [TRYTE_VALUE[char] for char in bundle_hash[start : start + 27]]
        excess = sum(chunk)
        for j, value in enumerate(chunk):
            if excess > 0:
                step = min(excess, value + 13)
                chunk[j], excess = value - step, excess - step
            elif excess < 0:
                step = min(-excess, 13 - value)
                chunk[j], excess = value + step, excess + step
        normalized.extend(chunk)
    return normalized


def is_secure_bundle_hash(bundle_hash: str) -> bool:
    """False when the normalized hash has a 13 ('M'), which would leak a signing key (iota.py issue #84)."""
    return 13 not in normalized_bundle_hash(bundle_hash)


def increment_tag(tag: str) -> str:
    """The 27-tryte tag plus one, wrapping like PyOTA's `add_trits` (overflow dropped)."""
    half = (3 ** (3 * TAG_LENGTH) - 1) // 2
    return int_to_trytes((trytes_to_int(tag) + 1 + half) % (2 * half + 1) - half, TAG_LENGTH)


def finalize_bundle(transactions: Sequence[Transaction]) -> list[Transaction]:
    """Index the transactions and set a secure bundle hash, as PyOTA's `ProposedBundle.finalize`.

    PyOTA does this for every bundle, zero-value ones included: while the normalized bundle hash
    holds a 13, the tail transaction's obsolete tag is incremented and the hash recomputed.
    """
    if not transactions:
        raise ValueError("a bundle has at least one transaction")
    last = len(transactions) - 1
    bundle = [t.replace(current_index=i, last_index=last) for i, t in enumerate(transactions)]
    tail = bundle[0]
    # Only the tail's obsolete tag changes between tries (hundreds of them): cut the essence around it once.
    before = tail.address + int_to_trytes(tail.value, 27)
    after = tail.bundle_essence()[len(before) + TAG_LENGTH :] + "".join(t.bundle_essence() for t in bundle[1:])
    tag = tail.obsolete_tag
    while True:
        sponge = Kerl()
        sponge.absorb(before + tag + after)
        bundle_hash = sponge.squeeze()
        if is_secure_bundle_hash(bundle_hash):
            break
        tag = increment_tag(tag)
    bundle[0] = tail.replace(obsolete_tag=tag)
    return [t.replace(bundle_hash=bundle_hash) for t in bundle]


_OFFSETS: dict[str, tuple[int, int]] = {}
_position = 0
for _name, _length, _ in LAYOUT:
    _OFFSETS[_name] = (_position, _position + _length)
    _position += _length


def message_fields(trytes: str) -> tuple[str, str, str]:
    """(address, tag, signature_message_fragment) of transaction trytes, checking only what they
    need (length and alphabet): ~20x cheaper than `Transaction.from_trytes`, which also decodes the
    six integer fields. The tracker reads every reading's transaction through this."""
    if not is_trytes(trytes, TRANSACTION_LENGTH):
        raise InvalidTransaction(f"a transaction is {TRANSACTION_LENGTH} trytes")
    (a0, a1), (t0, t1), (f0, f1) = (_OFFSETS[n] for n in ("address", "tag", "signature_message_fragment"))
    return trytes[a0:a1], trytes[t0:t1], trytes[f0:f1]
