"""Who a request is: bearers (issued, read from a header, verified against the user's sessions),
the users' store, and the current request's caller and session (set by `web.handle`)."""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter

from etp.accounts import tokens
from etp.accounts.service import bearer_accepted
from etp.accounts.users import User, UserStore
from etp.clock import utcnow
from etp.edge import secrets
from etp.settings import settings

logger = Logger()

# Who a request's headers authenticate (a user's Bearer, or a Meter on /address), or None.
Authenticator = Callable[[dict[str, str] | None], Any]


# --- services, created on first use (never at import, so tests can start moto first) ---


@functools.cache
def user_store() -> UserStore:
    from etp.accounts.store import DynamoUserStore

    return DynamoUserStore()


def people() -> Callable[[str], tuple[str, str]]:
    """(username, address) of a user id, each user read once per request ("" for an unknown id)."""

    @functools.cache
    def lookup(user_id: str) -> tuple[str, str]:
        user = user_store().get_by_id(user_id)
        return (user.username, user.address) if user else ("", "")

    return lookup


def token_ttl() -> timedelta:
    return timedelta(hours=settings().token_ttl_hours)


def issue_token(user: User, session: str | None = None) -> str:
    """A bearer for `user`, of `session`, or of a new session (a login)."""
    return tokens.issue(
        user_id=user.id,
        account=user.account,
        version=user.token_version,
        session=session or tokens.new_session(),
        secret=secrets.jwt_secret(),
        now=utcnow(),
        ttl=token_ttl(),
    )


def bearer_token(headers: dict[str, str] | None) -> str | None:
    header = next((v for k, v in (headers or {}).items() if k.lower() == "authorization"), "") or ""
    scheme, _, token = header.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


@dataclass(frozen=True)
class Bearer:
    """Who a user's bearer stands for, and which of their sessions (logins) it belongs to."""

    user: User
    session: str


def verify_bearer(token: str) -> Bearer | None:
    """The user and session of a bearer token (a header's, or a WebSocket's `?token=`), or None for
    any kind of bad, expired or revoked token."""
    try:
        claims = tokens.verify(token, secret=secrets.jwt_secret(), now=utcnow())
    except tokens.InvalidToken as reason:
        logger.info("token rejected", extra={"reason": str(reason)})
        return None
    user = user_store().get(claims.account)
    if user is None or not bearer_accepted(user, claims):
        logger.info("token rejected", extra={"reason": "revoked or unknown user"})
        return None
    return Bearer(user, claims.session)


def authenticate(headers: dict[str, str] | None) -> Bearer | None:
    """The user behind `Authorization: Bearer <jwt>`, or None."""
    token = bearer_token(headers)
    return None if token is None else verify_bearer(token)


def session(app: BaseRouter) -> str:
    """The session of the current request's bearer ("" for a bearer from before sessions)."""
    return app.context.get("session", "")


def caller(app: BaseRouter) -> Any:
    """Who the current request authenticated as (set by `handle`): a User, or a Meter on /address."""
    return app.context["principal"]
