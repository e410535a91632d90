"""Account rules: login, password change, account creation and the views the API returns.

Pure domain logic: no HTTP, no AWS. The store and the token issuer are passed in.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from etp.accounts import passwords
from etp.accounts.attempts import LoginGate, TrustedSources
from etp.accounts.tokens import Claims
from etp.accounts.users import AccountTaken, User, UserStore, VersionConflict
from etp.clock import to_utc_iso

# A bearer for a user: of the given session, or (None) of a new one.
TokenIssuer = Callable[[User, str | None], str]


class InvalidCredentials(Exception):
    """Unknown account or wrong password: deliberately one error for both."""


class NotAllowed(Exception):
    """The caller is authenticated but lacks the right (an aggregator-only action)."""


class WrongOriginalPassword(Exception):
    pass


class AccountExists(Exception):
    pass


@dataclass(frozen=True)
class NewAccount:
    account: str
    username: str
    password: str
    is_aggregator: bool = False
    address: str = ""
    avatar: str = ""
    eth_address: str = ""


def login(
    store: UserStore, account: str, password: str, issue_token: TokenIssuer, *, gate: LoginGate | None = None
) -> tuple[User, str]:
    """A user and a bearer of a new session. With a gate (the API's logins; see etp.accounts.attempts),
    an attempt that must wait raises TooManyAttempts before any password is hashed, a failure is
    counted whether the account exists or not, and a success clears the account's failures and
    trusts the source for it."""
    standing = gate.check(account) if gate is not None else None
    user = _verified(store, account, password)
    if user is None:
        if gate is not None and standing is not None:
            gate.failed(account, standing)
        raise InvalidCredentials
    if gate is not None:
        gate.succeeded(account)
    return user, issue_token(user, None)


def _verified(store: UserStore, account: str, password: str) -> User | None:
    """The user whose password this is, or None: an unknown account costs the same scrypt as a known one."""
    user = store.get(account)
    if user is None:
        passwords.verify_password(password, passwords.dummy_hash())  # same cost as a real check
        return None
    return user if passwords.verify_password(password, user.password_hash) else None


def bearer_accepted(user: User, claims: Claims) -> bool:
    """A verified bearer still stands for `user`: issued since the last revocation, or of the session
    that changed the password last (as on the big sites: "sign out the other sessions")."""
    if user.id != claims.user_id:
        return False
    return claims.version == user.token_version or (bool(claims.session) and claims.session == user.kept_session)


def change_password(
    store: UserStore, user: User, session: str, original: str, new: str, issue_token: TokenIssuer
) -> str:
    """Replace the password and revoke every session but the caller's; return a fresh bearer of it."""
    if not passwords.verify_password(original, user.password_hash):
        raise WrongOriginalPassword
    try:
        updated = store.set_password(user, passwords.hash_password(new), keep_session=session or None)
    except VersionConflict:
        # Another change won the race and revoked the others; the old password is refused now anyway.
        raise WrongOriginalPassword from None
    return issue_token(updated, session or None)


def create_account(store: UserStore, caller: User | None, spec: NewAccount, now: datetime) -> User:
    """Create an account. Over the API only aggregators may; the operator CLI passes caller=None."""
    if caller is not None and not caller.is_aggregator:
        raise NotAllowed
    user = User(
        id=str(uuid.uuid4()),
        account=spec.account,
        username=spec.username,
        password_hash=passwords.hash_password(spec.password),
        is_aggregator=spec.is_aggregator,
        avatar=spec.avatar,
        address=spec.address,
        eth_address=spec.eth_address,
        created_at=to_utc_iso(now),
    )
    try:
        store.create(user)
    except AccountTaken:
        raise AccountExists(spec.account) from None
    return user


def reset_password(store: UserStore, account: str, new: str, *, trust: TrustedSources) -> tuple[User, int]:
    """Operator reset: new hash, every session of the account is revoked and every source it logged in
    from is trusted no more; the user, and how many sources were forgotten."""
    user = store.get(account)
    if user is None:
        raise InvalidCredentials
    # the password first: once trust is forgotten, only the new password earns it again
    updated = store.set_password(user, passwords.hash_password(new))
    return updated, trust.forget_trust(account)


def revoke_sessions(store: UserStore, account: str, *, trust: TrustedSources) -> tuple[User, int]:
    """Sign out everywhere: every bearer of the account stops working and every source it logged in
    from is trusted no more; the user, and how many sources were forgotten."""
    user = store.get(account)
    if user is None:
        raise InvalidCredentials
    updated = store.revoke_sessions(user)
    return updated, trust.forget_trust(account)


def profile(user: User) -> dict:
    return {
        "account": user.account,
        "username": user.username,
        "avatar": user.avatar,
        "balance": user.balance_milli / 1000,
        "address": user.address,
        "eth_address": user.eth_address,
        "is_aggregator": user.is_aggregator,
    }


def participants(store: UserStore) -> list[dict]:
    return [{"id": user.id, "name": user.username} for user in store.all()]
