from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from etp.accounts import tokens

NOW = datetime(2026, 3, 12, 14, 15, tzinfo=UTC)
SECRET = "s" * 64


def issue(**overrides: Any) -> str:
    args: dict[str, Any] = dict(
        user_id="u-1", account="Carlab_BEMS", version=3, session="s-1", secret=SECRET, now=NOW, ttl=timedelta(hours=24)
    )
    args.update(overrides)
    return tokens.issue(**args)


def test_round_trip_carries_id_account_version_and_session():
    claims = tokens.verify(issue(), secret=SECRET, now=NOW + timedelta(hours=23, minutes=59))
    assert claims == tokens.Claims(user_id="u-1", account="Carlab_BEMS", version=3, session="s-1")


def test_a_bearer_from_before_sessions_has_none():
    import jwt

    old = jwt.encode({"sub": "u-1", "acc": "A", "ver": 0, "iss": tokens.ISSUER, "iat": 1, "exp": 2**31}, SECRET)
    assert tokens.verify(old, secret=SECRET, now=NOW).session == ""


def test_every_login_is_a_new_session():
    assert len({tokens.new_session() for _ in range(100)}) == 100


def test_expires_after_its_lifetime():
    token = issue()
    with pytest.raises(tokens.InvalidToken, match="expired"):
        tokens.verify(token, secret=SECRET, now=NOW + timedelta(hours=24))


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-jwt",
        issue(secret="another secret of sufficient length for hs256!!"),
        jwt.encode(
            {"sub": "u-1", "acc": "a", "ver": 1, "iss": tokens.ISSUER, "iat": 1, "exp": 9999999999},
            SECRET,
            algorithm="HS512",
        ),
        jwt.encode({"sub": "u-1", "acc": "a", "iss": tokens.ISSUER, "iat": 1, "exp": 9999999999}, SECRET),
        jwt.encode({"sub": "u-1", "acc": "a", "ver": "1", "iss": tokens.ISSUER, "iat": 1, "exp": 9999999999}, SECRET),
        jwt.encode({"sub": "u-1", "acc": "a", "ver": 1, "iss": "someone-else", "iat": 1, "exp": 9999999999}, SECRET),
    ],
    ids=["empty", "garbage", "wrong-key", "wrong-alg", "no-version", "string-version", "wrong-issuer"],
)
def test_rejects_forged_or_malformed_tokens(token):
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(token, secret=SECRET, now=NOW)


def test_unsigned_alg_none_token_is_rejected():
    header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"  # {"alg":"none","typ":"JWT"}
    body = jwt.utils.base64url_encode(
        b'{"sub":"u-1","acc":"a","ver":1,"iss":"energy-trading-platform","iat":1,"exp":9999999999}'
    ).decode()
    with pytest.raises(tokens.InvalidToken):
        tokens.verify(f"{header}.{body}.", secret=SECRET, now=NOW)
