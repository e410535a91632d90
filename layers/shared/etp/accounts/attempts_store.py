"""The DynamoDB store of login attempts (PynamoDB). Imported on first use, not at cold start.

Table `LOGIN_ATTEMPTS_TABLE`, hash key `key`, range key `sort`:
- (`account#<account>`, `failures`) and (`source#<address>`, `failures`): the failures in a row counted
  against that counter, the moment its next attempt may be weighed (`blocked_until`) and when it is
  forgotten (`expires_at`);
- (`account#<account>`, `trust#<address>`): the account logged in from that address (until `expires_at`);
- (`account#<account>`, `trust#<address>#failures`): the failures from that address at that account
  while it is trusted (the pair's counter).
An account's trust and its pairs' failures share the account's partition and the `trust#` prefix, so
that forgetting them is one Query (and a batch delete), never a Scan. Every item carries `expires_at`
(epoch seconds), the table's TTL attribute. The TTL removes items only eventually (within days): a
record past its `expires_at` is treated as absent here, whatever the TTL has done yet.

(Before the range key, the table had `key` alone, with `trust#<account>#<address>` items: the new key
schema replaces the table on deploy, and those short-lived items go with it.)

A failure is counted with an atomic ADD, so that concurrent failures all count; only the writer of
the latest count then sets the delay it calls for (conditional on the count), so a slower writer
never shortens a delay.
"""

from collections.abc import Iterable

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from etp.accounts.attempts import Backoff, Counter, Record, Standing
from etp.dynamo import TableModel, conditional, table_meta

# A failure is counted within a few rounds however writers interleave: a round fails only when another
# writer created or expired the record meanwhile.
_ROUNDS = 4


class LoginAttemptModel(TableModel):
    Meta = table_meta("login_attempts_table")

    key = UnicodeAttribute(hash_key=True)
    sort = UnicodeAttribute(range_key=True)
    failures = NumberAttribute(null=True)
    blocked_until = NumberAttribute(null=True)
    expires_at = NumberAttribute()


FAILURES = "failures"
TRUST = "trust#"

type Key = tuple[str, str]


def _account_key(account: str) -> Key:
    return f"account#{account}", FAILURES


def _source_key(source: str) -> Key:
    return f"source#{source}", FAILURES


def _trust_key(account: str, source: str) -> Key:
    return f"account#{account}", f"{TRUST}{source}"


def _pair_key(account: str, source: str) -> Key:
    return f"account#{account}", f"{TRUST}{source}#{FAILURES}"


def _counter_key(counter: Counter, account: str, source: str) -> Key:
    if counter is Counter.ACCOUNT:
        return _account_key(account)
    if counter is Counter.SOURCE:
        return _source_key(source)
    return _pair_key(account, source)


def _record(item: LoginAttemptModel | None, now: int) -> Record | None:
    if item is None or item.failures is None:
        return None
    record = Record(int(item.failures), int(item.blocked_until or 0), int(item.expires_at))
    return record if record.live(now) else None


class DynamoLoginAttempts:
    def standing(self, account: str, source: str, now: int) -> Standing:
        """One strongly consistent BatchGetItem of the account's, the source's, the trust's and the pair's
        items (the same four reads whether the account exists or not)."""
        account_key, source_key = _account_key(account), _source_key(source)
        trust_key, pair_key = _trust_key(account, source), _pair_key(account, source)
        found = {
            (item.key, item.sort): item
            for item in LoginAttemptModel.batch_get(
                [account_key, source_key, trust_key, pair_key], consistent_read=True
            )
        }
        trust = found.get(trust_key)
        return Standing(
            account=_record(found.get(account_key), now),
            source=_record(found.get(source_key), now),
            trusted=trust is not None and now < int(trust.expires_at),
            pair=_record(found.get(pair_key), now),
        )

    def count_failure(self, account: str, source: str, counters: Iterable[tuple[Counter, Backoff]], now: int) -> None:
        for counter, backoff in counters:
            self._count(_counter_key(counter, account, source), backoff, now)

    def clear(self, account: str, source: str, trusted_until: int | None) -> None:
        """Forget the account's and the pair's failures; trust the source for it until `trusted_until` (if given)."""
        with LoginAttemptModel.batch_write() as batch:
            batch.delete(LoginAttemptModel(*_account_key(account)))
            batch.delete(LoginAttemptModel(*_pair_key(account, source)))
            if trusted_until is not None:
                batch.save(LoginAttemptModel(*_trust_key(account, source), expires_at=trusted_until))

    def forget_trust(self, account: str) -> int:
        """Delete every `trust#` item of the account (a consistent Query of its partition); how many
        sources were trusted (expired or not: the TTL may not have removed them yet)."""
        partition = _account_key(account)[0]
        found = list(
            LoginAttemptModel.query(
                partition,
                LoginAttemptModel.sort.startswith(TRUST),
                consistent_read=True,
                attributes_to_get=["key", "sort"],
            )
        )
        with LoginAttemptModel.batch_write() as batch:
            for item in found:
                batch.delete(item)
        return sum(not item.sort.endswith(f"#{FAILURES}") for item in found)

    def _count(self, key: Key, backoff: Backoff, now: int) -> None:
        for _ in range(_ROUNDS):
            failures = self._add_one(key, now)
            if failures is not None:
                record = backoff.after(failures, now)
                self._set_delay(key, record)
                return
            if self._start(key, backoff.after(1, now), now):
                return

    @staticmethod
    def _add_one(key: Key, now: int) -> int | None:
        """The live record's new count, or None when there is no live record to add to."""
        item = LoginAttemptModel(*key)
        added = conditional(
            lambda: item.update(
                actions=[LoginAttemptModel.failures.add(1)],
                condition=LoginAttemptModel.failures.exists() & (LoginAttemptModel.expires_at > now),
            )
        )
        return int(item.failures) if added else None

    @staticmethod
    def _set_delay(key: Key, record: Record) -> None:
        """Set the delay of the record's count, unless a later failure counted meanwhile (it sets its own)."""
        item = LoginAttemptModel(*key)
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
    def _start(key: Key, record: Record, now: int) -> bool:
        """Put the first failure's record, unless another writer made a live one meanwhile."""
        item = LoginAttemptModel(
            *key, failures=record.failures, blocked_until=record.blocked_until, expires_at=record.expires_at
        )
        return conditional(
            lambda: item.save(condition=LoginAttemptModel.key.does_not_exist() | (LoginAttemptModel.expires_at <= now))
        )
