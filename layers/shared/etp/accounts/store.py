"""The DynamoDB user store (PynamoDB). Imported on first use, not at cold start.

Table `USERS_TABLE`: hash key `account` (login and token checks are strongly consistent
GetItems); GSI `by-id` (user id -> account); GSI `by-kind` (kind = "user", sorted by account)
lists accounts with a Query instead of a Scan.
"""

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from etp.accounts.users import AccountTaken, User, VersionConflict
from etp.dynamo import TableModel, conditional, table_meta


class _ById(GlobalSecondaryIndex["UserModel"]):
    class Meta:
        index_name = "by-id"
        projection = AllProjection()

    id = UnicodeAttribute(hash_key=True)


class _ByKind(GlobalSecondaryIndex["UserModel"]):
    class Meta:
        index_name = "by-kind"
        projection = AllProjection()

    kind = UnicodeAttribute(hash_key=True)
    account = UnicodeAttribute(range_key=True)


class UserModel(TableModel):
    Meta = table_meta("users_table")

    account = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute()
    kind = UnicodeAttribute(default="user")
    username = UnicodeAttribute()
    password_hash = UnicodeAttribute()
    is_aggregator = BooleanAttribute(default=False)
    avatar = UnicodeAttribute(default="")
    address = UnicodeAttribute(default="")
    eth_address = UnicodeAttribute(default="")
    balance_milli = NumberAttribute(default=0)
    token_version = NumberAttribute(default=0)
    kept_session = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()

    by_id = _ById()
    by_kind = _ByKind()


def _to_user(item: UserModel) -> User:
    return User(
        id=item.id,
        account=item.account,
        username=item.username,
        password_hash=item.password_hash,
        is_aggregator=bool(item.is_aggregator),
        avatar=item.avatar or "",
        address=item.address or "",
        eth_address=item.eth_address or "",
        balance_milli=int(item.balance_milli or 0),
        token_version=int(item.token_version or 0),
        created_at=item.created_at,
        kept_session=item.kept_session,
    )


class DynamoUserStore:
    def get(self, account: str) -> User | None:
        try:
            return _to_user(UserModel.get(account, consistent_read=True))
        except DoesNotExist:
            return None

    def get_by_id(self, user_id: str) -> User | None:
        for item in UserModel.by_id.query(user_id, limit=1):
            return _to_user(item)
        return None

    def create(self, user: User) -> None:
        item = UserModel(
            account=user.account,
            id=user.id,
            username=user.username,
            password_hash=user.password_hash,
            is_aggregator=user.is_aggregator,
            avatar=user.avatar,
            address=user.address,
            eth_address=user.eth_address,
            balance_milli=user.balance_milli,
            token_version=user.token_version,
            created_at=user.created_at,
        )
        if not conditional(lambda: item.save(condition=UserModel.account.does_not_exist())):
            raise AccountTaken(user.account)

    def set_password(self, user: User, password_hash: str, keep_session: str | None = None) -> User:
        """Store a new hash and revoke the user's sessions but `keep_session`, only if nobody changed
        them meanwhile."""
        return self._bump(user, [UserModel.password_hash.set(password_hash)], keep_session)

    def revoke_sessions(self, user: User) -> User:
        return self._bump(user, [], None)

    def _bump(self, user: User, actions: list, keep_session: str | None) -> User:
        item = UserModel(account=user.account)
        kept = UserModel.kept_session.remove() if keep_session is None else UserModel.kept_session.set(keep_session)
        changed = conditional(
            lambda: item.update(
                actions=[*actions, UserModel.token_version.set(user.token_version + 1), kept],
                condition=(UserModel.account.exists() & (UserModel.token_version == user.token_version)),
            )
        )
        if not changed:
            raise VersionConflict(user.account)
        return _to_user(item)

    def all(self) -> list[User]:
        return [_to_user(item) for item in UserModel.by_kind.query("user")]
