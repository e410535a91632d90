"""Trytes, trits and the bytes codec of the legacy IOTA protocol, as PyOTA defines them.

A tryte is one character of `ALPHABET`; its value is balanced (-13..13: `9`=0, `A`=1 .. `M`=13,
`N`=-13 .. `Z`=-1) and it stands for 3 trits, least significant first. Integers are balanced
ternary, least significant trit first (PyOTA's `trits_from_int` / `int_from_trits`).
"""

import re
from collections.abc import Sequence
from typing import TypeGuard

ALPHABET = "9ABCDEFGHIJKLMNOPQRSTUVWXYZ"
HASH_LENGTH = 81  # trytes of a hash or an address
CHECKSUM_LENGTH = 9  # trytes of an address checksum
TAG_LENGTH = 27

TRYTE_VALUE = {char: (index if index <= 13 else index - 27) for index, char in enumerate(ALPHABET)}
_ALPHABET_SET = frozenset(ALPHABET)


class TrytesDecodeError(ValueError):
    """Trytes that are not a byte string in the two-trytes-per-byte codec."""


def is_trytes(text: object, length: int | None = None) -> TypeGuard[str]:
    """A string of tryte characters (of exactly `length`, when given)."""
    if not isinstance(text, str) or (length is not None and len(text) != length):
        return False
    return _ALPHABET_SET.issuperset(text)


def is_hash(text: object) -> TypeGuard[str]:
    """81 trytes: a transaction, bundle or milestone hash (no checksum)."""
    return is_trytes(text, HASH_LENGTH)


def is_tag(text: object) -> TypeGuard[str]:
    """At most 27 trytes; shorter tags mean the same right-padded with `9`."""
    return is_trytes(text) and len(text) <= TAG_LENGTH


def pad_tag(tag: str) -> str:
    if not is_tag(tag):
        raise ValueError("a tag is at most 27 trytes")
    return tag.ljust(TAG_LENGTH, "9")


def trytes_to_trits(trytes: str) -> list[int]:
    trits_of = _TRITS
    return [trit for char in trytes for trit in trits_of[char]]


def trits_to_trytes(trits: Sequence[int]) -> str:
    if len(trits) % 3:
        raise ValueError("trits must come in groups of 3")
    char_of = _CHAR_OF_TRITS
    return "".join(char_of[tuple(trits[i : i + 3])] for i in range(0, len(trits), 3))  # type: ignore[index]


def int_to_trits(value: int, length: int) -> list[int]:
    """`value` in balanced ternary, least significant trit first, exactly `length` trits."""
    trits = []
    rest = value
    for _ in range(length):
        rest, digit = divmod(rest, 3)
        if digit == 2:
            digit, rest = -1, rest + 1
        trits.append(digit)
    if rest:
        raise ValueError(f"{value} does not fit in {length} trits")
    return trits


_TRITS = {char: tuple(int_to_trits(value, 3)) for char, value in TRYTE_VALUE.items()}
_CHAR_OF_TRITS = {trits: char for char, trits in _TRITS.items()}


def trits_to_int(trits: Sequence[int]) -> int:
    value = 0
    for trit in reversed(trits):
        value = value * 3 + trit
    return value


def int_to_trytes(value: int, length: int) -> str:
    """`value` in balanced base 27 (a tryte per digit), least significant first, exactly `length` trytes."""
    digits = []
    rest = value
    for _ in range(length):
        rest, digit = divmod(rest, 27)
        if digit > 13:
            digit, rest = digit - 27, rest + 1
        digits.append(ALPHABET[digit])  # a negative digit indexes from the end: -1 is 'Z'
    if rest:
        raise ValueError(f"{value} does not fit in {length} trytes")
    return "".join(digits)


def trytes_to_int(trytes: str) -> int:
    value = 0
    for char in reversed(trytes):
        value = value * 27 + TRYTE_VALUE[char]
    return value


def bytes_to_trytes(data: bytes) -> str:
    """Two trytes per byte: `ALPHABET[b % 27]` then `ALPHABET[b // 27]` (PyOTA's `TryteString.from_bytes`)."""
    return "".join(ALPHABET[byte % 27] + ALPHABET[byte // 27] for byte in data)


def trytes_to_bytes(trytes: str) -> bytes:
    """The bytes of `trytes`, ignoring the `9` padding of a message fragment.

    As PyOTA's `TryteString.decode` (strip_padding=True): trailing `9`s are dropped, one is put
    back when that leaves an odd count, then pairs decode strictly. So the result loses only
    trailing NUL bytes (`99` pairs) and keeps NUL bytes inside the message.
    """
    if not is_trytes(trytes):
        raise TrytesDecodeError("not trytes")
    body = trytes.rstrip("9")
    body += "9" * (len(body) % 2)
    try:
        # One dict lookup per pair: the tracker decodes every reading's fragment with this.
        return bytes(map(_BYTE_OF_PAIR.__getitem__, _PAIRS.findall(body)))
    except KeyError as error:
        at = _PAIRS.findall(body).index(error.args[0]) * 2
        raise TrytesDecodeError(f"trytes {error.args[0]} at {at} are not a byte") from None


_PAIRS = re.compile("..", re.DOTALL)
_BYTE_OF_PAIR = {ALPHABET[value % 27] + ALPHABET[value // 27]: value for value in range(256)}
