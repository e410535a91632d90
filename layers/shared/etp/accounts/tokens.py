"""Bearer tokens: HS256 JWTs carrying the user id, account, the user's token version and a session id.

A login starts a session (a random id); every bearer of that session carries it. Bumping the
version stored on the user revokes every older token, except the one session a password change
keeps (see etp.accounts.service.bearer_accepted).
pyjwt is imported on first use: it pulls in `cryptography` when present, which would
otherwise be paid at every cold start of every function.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

ALGORITHM = "HS256"
ISSUER = "energy-trading-platform"


class InvalidToken(Exception):
    """Missing, malformed, badly signed or expired token (the reason is not shown to clients)."""


@dataclass(frozen=True)
class Claims:
    user_id: str
    account: str
    version: int
    session: str = ""  # bearers issued before sessions existed have none


def new_session() -> str:
    return secrets.token_urlsafe(16)


def issue(*, user_id: str, account: str, version: int, session: str, secret: str, now: datetime, ttl: timedelta) -> str:
    import jwt

    payload = {
        "sid": session,
        "sub": user_id,
        "acc": account,
        "ver": version,
        "iss": ISSUER,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def verify(token: str, *, secret: str, now: datetime) -> Claims:
    import jwt

    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["sub", "acc", "ver", "iat", "exp"], "verify_exp": False},
        )
    except jwt.PyJWTError as error:
        raise InvalidToken(type(error).__name__) from None
    # Expiry is checked against the caller's clock so tests need no clock tricks.
    if not isinstance(payload["exp"], int) or payload["exp"] <= now.timestamp():
        raise InvalidToken("expired")
    session = payload.get("sid", "")
    if not (
        isinstance(payload["sub"], str)
        and isinstance(payload["acc"], str)
        and isinstance(payload["ver"], int)
        and isinstance(session, str)
    ):
        raise InvalidToken("claim types")
    return Claims(user_id=payload["sub"], account=payload["acc"], version=payload["ver"], session=session)
