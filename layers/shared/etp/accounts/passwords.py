"""Password hashing with scrypt and a per-user salt (stdlib only, so it costs nothing at import)."""

import base64
import functools
import hashlib
import hmac
import secrets

# n=2**14, r=8 uses 16 MiB and ~50 ms per hash: the OWASP minimum for scrypt, safe in a 256 MB Lambda.
_N, _R, _P = 2**14, 8, 1
_SCHEME = "scrypt"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """Return `scrypt$n$r$p$salt$digest`, the only form a password is ever stored in."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"{_SCHEME}${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != _SCHEME:
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
            maxmem=64 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@functools.cache
def dummy_hash() -> str:
    """Checked against when an account does not exist, so that a wrong account and a wrong
    password take the same time and give the same answer. Built on first use, not at import."""
    return hash_password(secrets.token_urlsafe(16))
