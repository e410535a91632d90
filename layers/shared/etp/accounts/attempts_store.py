"""The DynamoDB store of login attempts (PynamoDB). Imported on first use, not at cold start.

Table `LOGIN_ATTEMPTS_TABLE`, hash key `key`:
- `account#<account>` and `source#<address>`: the failures in a row counted against that key, the
  moment its next attempt may be weighed (`blocked_until`) and when it is forgotten (`expires_at`);
- `trust#<account>#<address>`: the account logged in from that address (until `expires_at`).
Every item carries `expires_at` (epoch seconds), the table's TTL attribute. The TTL removes items
only eventually (within days): a record past its `expires_at` is treated as absent here, whatever
the TTL has done yet.

A failure is counted with an atomic ADD, so that concurrent failures all count; only the writer of
the latest count then sets the delay it calls for (conditional on the count), so a slower writer
never shortens a delay.
"""

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.models import Model

from etp.accounts.attempts import Backoff, Policy, Record, Standing
from etp.dynamo import aws_region, conditional
from etp.settings import settings

# A failure is counted within a few rounds however writers interleave: a round fails only when another
# writer created or expired the record meanwhile.
_ROUNDS = 4


class LoginAttemptModel(Model):
    class Meta:
        table_name = settings().login_attempts_table
        region = aws_region()
        host: str | None = None

    key = UnicodeAttribute(hash_key=True)
    failures = NumberAttribute(null=True)
    blocked_until = NumberAttribute(null=True)
    expires_at = NumberAttribute()


def _account_key(account: str) -> str:
    return f"account#{account}"


def _source_key(source: str) -> str:
    return f"source#{source}"


def _trust_key(account: str, source: str) -> str:
    return f"trust#{account}#{source}"


def _record(item: LoginAttemptModel | None, now: int) -> Record | None:
    if item is None or item.failures is None:
        return None
    record = Record(int(item.failures), int(item.blocked_until or 0), int(item.expires_at))
    return record if record.live(now) else None


class DynamoLoginAttempts:
    def standing(self, account: str, source: str, now: int) -> Standing:
        """One strongly consistent BatchGetItem of the account's, the source's and the trust's items."""
        keys = [_account_key(account), _source_key(source), _trust_key(account, source)]
        found = {item.key: item for item in LoginAttemptModel.batch_get(keys, consistent_read=True)}
        trust = found.get(keys[2])
        return Standing(
            account=_record(found.get(keys[0]), now),
            source=_record(found.get(keys[1]), now),
            trusted=trust is not None and now < int(trust.expires_at),
        )

    def count_failure(self, account: str, source: str, policy: Policy, now: int) -> None:
        self._count(_account_key(account), policy.account, now)
        self._count(_source_key(source), policy.source, now)

    def clear(self, account: str, source: str, trusted_until: int | None) -> None:
        """Forget the account's failures; trust the source for it until `trusted_until` (if given)."""
        with LoginAttemptModel.batch_write() as batch:
            batch.delete(LoginAttemptModel(_account_key(account)))
            if trusted_until is not None:
                batch.save(LoginAttemptModel(_trust_key(account, source), expires_at=trusted_until))

    def _count(self, key: str, backoff: Backoff, now: int) -> None:
        for _ in range(_ROUNDS):
            failures = self._add_one(key, now)
            if failures is not None:
                record = backoff.after(failures, now)
                self._set_delay(key, record)
                return
            if self._start(key, backoff.after(1, now), now):
                return

    @staticmethod
    def _add_one(key: str, now: int) -> int | None:
        """The live record's new count, or None when there is no live record to add to."""
        item = LoginAttemptModel(key)
        added = conditional(
            lambda: item.update(
                actions=[LoginAttemptModel.failures.add(1)],
                condition=LoginAttemptModel.failures.exists() & (LoginAttemptModel.expires_at > now),
            )
        )
        return int(item.failures) if added else None

    @staticmethod
    def _set_delay(key: str, record: Record) -> None:
        """Set the delay of the record's count, unless a later failure counted meanwhile (it sets its own)."""
        item = LoginAttemptModel(key)
        conditional(
            lambda: item.update(
                actions=[
                    LoginAttemptModel.blocked_until.set(record.blocked_until),
                    LoginAttemptModel.expires_at.set(record.expires_at),
                ],
                condition=LoginAttemptModel.failures == record.failures,
            )
        )

    @staticmethod
    def _start(key: str, record: Record, now: int) -> bool:
        """Put the first failure's record, unless another writer made a live one meanwhile."""
        item = LoginAttemptModel(
            key, failures=record.failures, blocked_until=record.blocked_until, expires_at=record.expires_at
        )
        return conditional(
            lambda: item.save(condition=LoginAttemptModel.key.does_not_exist() | (LoginAttemptModel.expires_at <= now))
        )
