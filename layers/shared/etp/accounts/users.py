"""Users: the record and the store interface the domain needs (the DynamoDB store is in users_table)."""

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class User:
    id: str
    account: str
    username: str
    password_hash: str = field(repr=False)
    is_aggregator: bool = False
    avatar: str = ""
    address: str = ""
    eth_address: str = ""
    balance_milli: int = 0  # milli-NT$, exact integer money
    token_version: int = 0
    created_at: str = ""
    # The one session whose bearers outlive the last version bump: the one that changed the password.
    kept_session: str | None = None


class AccountTaken(Exception):
    pass


class VersionConflict(Exception):
    """The user changed (password or tokens) between read and write."""


class UserStore(Protocol):
    def get(self, account: str) -> User | None: ...
    def get_by_id(self, user_id: str) -> User | None: ...
    def create(self, user: User) -> None: ...
    def set_password(self, user: User, password_hash: str, keep_session: str | None = None) -> User: ...
    def revoke_sessions(self, user: User) -> User: ...
    def all(self) -> list[User]: ...
