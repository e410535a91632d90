"""Curl-P-81, the transaction hash of the legacy IOTA protocol, in pure Python.

Curl's 729-trit state is kept bit-sliced in two 729-bit integers, `low` (bit i clear when trit i
is 1) and `high` (bit i clear when trit i is -1), so a round is 15 big-integer operations instead
of 729 table lookups; the round function is the bit-sliced one of IOTA's C Curl (ptrit).

A round computes `new[i] = T(old[p(i)], old[p(i + 1)])` with `p(k) = 364 k mod 729` and T PyOTA's
truth table. Storing the state permuted, trit j at bit `m j mod 729`, turns that into
`new = T(old, old rotated by 364 m)` with the new multiplier `364 m`: a rotation, not a permutation.
After 81 rounds the multiplier is 364**81 mod 729, undone once per transform with a table.
"""

from operator import itemgetter

from etp.iota.trytes import ALPHABET, HASH_LENGTH, TRYTE_VALUE, int_to_trits, is_trytes

STATE_TRITS = 729
RATE_TRITS = 243
ROUNDS = 81

_MASK = (1 << STATE_TRITS) - 1
_RATE_MASK = (1 << RATE_TRITS) - 1


def _schedule() -> tuple[tuple[tuple[int, int], ...], int]:
    """Per round (right rotation, its complement), and the multiplier left after the last round."""
    rotations = []
    multiplier = 1
    for _ in range(ROUNDS):
        multiplier = multiplier * 364 % STATE_TRITS
        rotations.append((multiplier, STATE_TRITS - multiplier))
    return tuple(rotations), multiplier


_ROTATIONS, _FINAL_MULTIPLIER = _schedule()

# format(x, "0729b")[k] is bit 728 - k; trit j sits at bit (final multiplier * j) after the rounds.
_UNSCRAMBLE = itemgetter(
    *(STATE_TRITS - 1 - (_FINAL_MULTIPLIER * (STATE_TRITS - 1 - k)) % STATE_TRITS for k in range(STATE_TRITS))
)


def _bits_table(absent: int) -> dict[int, str]:
    """str.translate table: a tryte -> 3 bits (most significant first), 1 where the trit is not `absent`."""
    return {
        ord(char): "".join("0" if trit == absent else "1" for trit in reversed(int_to_trits(value, 3)))
        for char, value in TRYTE_VALUE.items()
    }


_LOW_BITS = _bits_table(1)
_HIGH_BITS = _bits_table(-1)
_TRYTE_OF_BITS = {(_LOW_BITS[ord(char)][::-1], _HIGH_BITS[ord(char)][::-1]): char for char in ALPHABET}


def _unscramble(plane: int) -> int:
    return int("".join(_UNSCRAMBLE(format(plane, "0729b"))), 2)


def _transform(low: int, high: int) -> tuple[int, int]:
    mask = _MASK
    for right, left in _ROTATIONS:
        next_low = ((low >> right) | (low << left)) & mask
        next_high = ((high >> right) | (high << left)) & mask
        delta = (low | (mask ^ next_high)) & (next_low ^ high)
        low, high = mask ^ delta, (low ^ next_high) | delta
    return _unscramble(low), _unscramble(high)


def curl_hash(trytes: str) -> str:
    """Curl-P-81 of `trytes` (zero-padded to whole 81-tryte blocks, as PyOTA), as 81 trytes."""
    if not trytes or not is_trytes(trytes):
        raise ValueError("Curl hashes a non-empty tryte string")
    trytes += "9" * (-len(trytes) % HASH_LENGTH)
    low = high = _MASK  # all trits 0
    keep = _MASK ^ _RATE_MASK
    for start in range(0, len(trytes), HASH_LENGTH):
        # Reversed so the first trit lands on bit 0 of the binary literal.
        block = trytes[start : start + HASH_LENGTH][::-1]
        low = (low & keep) | int(block.translate(_LOW_BITS), 2)
        high = (high & keep) | int(block.translate(_HIGH_BITS), 2)
        low, high = _transform(low, high)
    low_bits = format(low & _RATE_MASK, "0243b")[::-1]
    high_bits = format(high & _RATE_MASK, "0243b")[::-1]
    tryte_of = _TRYTE_OF_BITS
    return "".join(tryte_of[low_bits[i : i + 3], high_bits[i : i + 3]] for i in range(0, RATE_TRITS, 3))
