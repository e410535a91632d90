"""Kerl, the Keccak-384 sponge of the legacy IOTA protocol (bundle hashes, address checksums).

As PyOTA's `iota.crypto.kerl`: each 243-trit (81-tryte) block, its last trit zeroed, is read as a
balanced ternary integer and absorbed as 48 big-endian two's-complement bytes; a squeeze turns the
digest back into 243 trits (last trit zeroed) and restarts the sponge on the digest's complemented
bytes. This sponge takes and gives trytes: the integers convert 27 at a time, not 3.
Keccak-384 is the original Keccak (pad byte 0x01), not SHA3-384 (0x06), so hashlib cannot serve.
"""

from etp.iota.trytes import ALPHABET, CHECKSUM_LENGTH, HASH_LENGTH, TRYTE_VALUE, int_to_trytes, is_trytes, trytes_to_int

DIGEST_BYTES = 48
_LAST_TRIT = 3**242
_RATE_BYTES = 200 - 2 * DIGEST_BYTES
_LANE_MASK = (1 << 64) - 1


def _round_constants() -> tuple[int, ...]:
    """The 24 iota-step constants, from the degree-8 LFSR of the Keccak reference."""
    constants = []
    register = 1
    for _ in range(24):
        constant = 0
        for bit in range(7):
            register = ((register << 1) ^ ((register >> 7) * 0x71)) & 0xFF
            if register & 2:
                constant |= 1 << ((1 << bit) - 1)
        constants.append(constant)
    return tuple(constants)


_ROUND_CONSTANTS = _round_constants()


def _keccak_f1600(lanes: list[int]) -> list[int]:
    """Keccak-f[1600] on 25 64-bit lanes (lane x + 5 y is `a<x+5y>`), written out lane by lane:
    CPython is fastest on local variables, and the secure-bundle-hash search runs this hundreds of
    times per bundle. The numbers are the reference rho offsets and pi positions (B[y, 2x+3y] = A[x, y]
    rotated), checked by the test vectors and against hashlib's SHA3."""
    # fmt: off
    (a00, a01, a02, a03, a04, a05, a06, a07, a08, a09, a10, a11, a12,
     a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24) = lanes
    # fmt: on
    mask = _LANE_MASK
    for constant in _ROUND_CONSTANTS:
        c0 = a00 ^ a05 ^ a10 ^ a15 ^ a20
        c1 = a01 ^ a06 ^ a11 ^ a16 ^ a21
        c2 = a02 ^ a07 ^ a12 ^ a17 ^ a22
        c3 = a03 ^ a08 ^ a13 ^ a18 ^ a23
        c4 = a04 ^ a09 ^ a14 ^ a19 ^ a24
        d0 = c4 ^ ((c1 << 1 | c1 >> 63) & mask)
        d1 = c0 ^ ((c2 << 1 | c2 >> 63) & mask)
        d2 = c1 ^ ((c3 << 1 | c3 >> 63) & mask)
        d3 = c2 ^ ((c4 << 1 | c4 >> 63) & mask)
        d4 = c3 ^ ((c0 << 1 | c0 >> 63) & mask)
        b00 = a00 ^ d0
        b01 = ((t := a06 ^ d1) << 44 | t >> 20) & mask
        b02 = ((t := a12 ^ d2) << 43 | t >> 21) & mask
        b03 = ((t := a18 ^ d3) << 21 | t >> 43) & mask
        b04 = ((t := a24 ^ d4) << 14 | t >> 50) & mask
        b05 = ((t := a03 ^ d3) << 28 | t >> 36) & mask
        b06 = ((t := a09 ^ d4) << 20 | t >> 44) & mask
        b07 = ((t := a10 ^ d0) << 3 | t >> 61) & mask
        b08 = ((t := a16 ^ d1) << 45 | t >> 19) & mask
        b09 = ((t := a22 ^ d2) << 61 | t >> 3) & mask
        b10 = ((t := a01 ^ d1) << 1 | t >> 63) & mask
        b11 = ((t := a07 ^ d2) << 6 | t >> 58) & mask
        b12 = ((t := a13 ^ d3) << 25 | t >> 39) & mask
        b13 = ((t := a19 ^ d4) << 8 | t >> 56) & mask
        b14 = ((t := a20 ^ d0) << 18 | t >> 46) & mask
        b15 = ((t := a04 ^ d4) << 27 | t >> 37) & mask
        b16 = ((t := a05 ^ d0) << 36 | t >> 28) & mask
        b17 = ((t := a11 ^ d1) << 10 | t >> 54) & mask
        b18 = ((t := a17 ^ d2) << 15 | t >> 49) & mask
        b19 = ((t := a23 ^ d3) << 56 | t >> 8) & mask
        b20 = ((t := a02 ^ d2) << 62 | t >> 2) & mask
        b21 = ((t := a08 ^ d3) << 55 | t >> 9) & mask
        b22 = ((t := a14 ^ d4) << 39 | t >> 25) & mask
        b23 = ((t := a15 ^ d0) << 41 | t >> 23) & mask
        b24 = ((t := a21 ^ d1) << 2 | t >> 62) & mask
        a00 = b00 ^ (~b01 & b02)
        a01 = b01 ^ (~b02 & b03)
        a02 = b02 ^ (~b03 & b04)
        a03 = b03 ^ (~b04 & b00)
        a04 = b04 ^ (~b00 & b01)
        a05 = b05 ^ (~b06 & b07)
        a06 = b06 ^ (~b07 & b08)
        a07 = b07 ^ (~b08 & b09)
        a08 = b08 ^ (~b09 & b05)
        a09 = b09 ^ (~b05 & b06)
        a10 = b10 ^ (~b11 & b12)
        a11 = b11 ^ (~b12 & b13)
        a12 = b12 ^ (~b13 & b14)
        a13 = b13 ^ (~b14 & b10)
        a14 = b14 ^ (~b10 & b11)
        a15 = b15 ^ (~b16 & b17)
        a16 = b16 ^ (~b17 & b18)
        a17 = b17 ^ (~b18 & b19)
        a18 = b18 ^ (~b19 & b15)
        a19 = b19 ^ (~b15 & b16)
        a20 = b20 ^ (~b21 & b22)
        a21 = b21 ^ (~b22 & b23)
        a22 = b22 ^ (~b23 & b24)
        a23 = b23 ^ (~b24 & b20)
        a24 = b24 ^ (~b20 & b21)
        a00 ^= constant
    # fmt: off
    return [a00, a01, a02, a03, a04, a05, a06, a07, a08, a09, a10, a11, a12,
            a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24]
    # fmt: on


def keccak_384(data: bytes) -> bytes:
    """Keccak-384 with the original padding (pysha3's `keccak_384`)."""
    return _keccak_384(data, 0x01)


def _keccak_384(data: bytes, pad: int) -> bytes:
    """The Keccak-384 sponge; `pad` is the first padding byte (0x01 Keccak, 0x06 SHA3-384)."""
    padded = bytearray(data)
    padded.append(pad)
    padded.extend(bytes(-len(padded) % _RATE_BYTES))
    padded[-1] |= 0x80
    lanes = [0] * 25
    for start in range(0, len(padded), _RATE_BYTES):
        block = padded[start : start + _RATE_BYTES]
        for i in range(_RATE_BYTES // 8):
            lanes[i] ^= int.from_bytes(block[8 * i : 8 * i + 8], "little")
        lanes = _keccak_f1600(lanes)
    return b"".join(lane.to_bytes(8, "little") for lane in lanes)[:DIGEST_BYTES]


def _last_trit(tryte: str) -> int:
    """The most significant of a tryte's 3 trits."""
    return (TRYTE_VALUE[tryte] + 13) // 9 - 1


class Kerl:
    """The sponge; absorbs trytes in 81-tryte blocks, squeezes 81 trytes at a time."""

    def __init__(self) -> None:
        self._absorbed = bytearray()

    def absorb(self, trytes: str) -> None:
        """Absorb `trytes`, zero-padded to whole blocks as PyOTA does."""
        if not trytes or not is_trytes(trytes):
            raise ValueError("Kerl absorbs a non-empty tryte string")
        trytes += "9" * (-len(trytes) % HASH_LENGTH)
        for start in range(0, len(trytes), HASH_LENGTH):
            block = trytes[start : start + HASH_LENGTH]
            value = trytes_to_int(block) - _last_trit(block[-1]) * _LAST_TRIT
            self._absorbed += value.to_bytes(DIGEST_BYTES, "big", signed=True)

    def squeeze(self) -> str:
        digest = keccak_384(bytes(self._absorbed))
        self._absorbed = bytearray(byte ^ 0xFF for byte in digest)
        # A signed 384-bit integer always fits in 243 trits; then the last trit is zeroed.
        trytes = int_to_trytes(int.from_bytes(digest, "big", signed=True), HASH_LENGTH)
        return trytes[:-1] + ALPHABET[TRYTE_VALUE[trytes[-1]] - 9 * _last_trit(trytes[-1])]


def kerl_hash(trytes: str) -> str:
    """One Kerl squeeze after absorbing `trytes`, as 81 trytes."""
    sponge = Kerl()
    sponge.absorb(trytes)
    return sponge.squeeze()


def address_checksum(address: str) -> str:
    """The 9-tryte checksum of an 81-tryte address: the end of its Kerl hash (PyOTA's `AddressChecksum`)."""
    if len(address) != HASH_LENGTH:
        raise ValueError("an address without checksum is 81 trytes")
    return kerl_hash(address)[-CHECKSUM_LENGTH:]
