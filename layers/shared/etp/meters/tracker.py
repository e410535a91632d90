"""The IOTA tracker: pull new readings from the node, check them one by one, store the good ones.

One run: the active addresses (today's UTC day, and yesterday's during the first hour of a day)
-> findTransactions narrowed to (address day, UTC hour) questions, addresses AND that hour's
reading tags, 1,000 addresses a request, the requests sent together from the bounded I/O pool
(etp.meters.discovery: the recent hours, the later ones, the catch-up of late readings, one swept
older hour) -> the hints drop hashes processed before, the ledger the rest of them -> getTrytes
for the new ones -> per transaction: parse, check address and tag, open
the envelope (platform key, then the owning meter's key), validate the payload, check it is
plausible (not from the future, within the meter's rated capacity), store -> the hints learn
what was processed. A bad transaction is rejected with a reason (and never refetched); it never
stops the rest of the batch. A transaction whose tag is not a reading tag is never asked for,
so it is neither fetched nor counted.

A question whose answer the node refuses as too large (IRI's --max-find-transactions) is split
in halves until it passes; one address over the limit on its own is left out of that run and
counted (`over_limit`).

"From the future" is measured against the later of the run's time and the wall clock, plus the
clock-skew allowance: a scheduled run's time IS the wall clock, and an operator's re-run as of a
past moment must not refuse (for ever: rejections are ledgered) readings that are already real.
Such a rejection is final, not retried once its time has come: a reading dated ahead of its own
ingestion comes from a meter whose clock is wrong, so its time, and the energy integrated over
it, cannot be trusted either; the meter's clock is what needs fixing.

A node that is down fails the run before anything is written, and the next run catches up
because the readings stay on the tangle.
"""

import hashlib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from etp.clock import utcnow
from etp.io_pool import io_map, parts
from etp.iota.node import OVER_LIMIT, NodeError
from etp.iota.transaction import InvalidTransaction, message_fields
from etp.iota.trytes import trytes_to_bytes
from etp.meters import discovery, openers, readings
from etp.meters.discovery import Hints, MemoryHints, Question
from etp.meters.readings import ReadingLedger, StoredReading
from etp.meters.registry import Meter

NULL_TRYTES = "9" * 2673
METERS_LOOKUP = 100  # meters a lookup: BatchGetItem's limit


class AddressBook(Protocol):
    def of_day(self, day: str) -> list: ...


class Node(Protocol):
    def find_transactions(self, *, addresses: list[str], tags: list[str]) -> list[str]: ...
    def get_trytes(self, hashes: list[str]) -> list[str]: ...


@dataclass
class RunReport:
    now: str
    addresses: int = 0
    discovered: int = 0
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: Counter = field(default_factory=Counter)
    questions: int = 0  # (address day, hour) questions asked
    find_calls: int = 0  # findTransactions requests
    over_limit: int = 0  # addresses whose answer alone exceeds the node's limit: left out
    shards: int = 0  # > 0: the run was split into that many shard invocations, and did nothing itself

    def as_dict(self) -> dict:
        return {
            **({"shards": self.shards} if self.shards else {}),
            "now": self.now,
            "addresses": self.addresses,
            "discovered": self.discovered,
            "fetched": self.fetched,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "rejected": dict(self.rejected),
            "questions": self.questions,
            "find_calls": self.find_calls,
            "over_limit": self.over_limit,
        }


@dataclass(frozen=True)
class Shard:
    """One of `of` shard invocations of a run: the addresses of the users `user_shard` puts in `index`."""

    index: int
    of: int


def user_shard(user_id: str, shards: int) -> int:
    """A user's shard, stable across runs and processes: a shard owns all its users' addresses, so it
    alone writes their readings and rollups (shards never race on a rollup)."""
    return int.from_bytes(hashlib.sha256(user_id.encode()).digest()[:8], "big") % shards


def active_days(now: datetime) -> list[date]:
    today = now.astimezone(UTC).date()
    return [today, today - timedelta(days=1)] if now.astimezone(UTC).hour == 0 else [today]


@dataclass
class Tracker:
    node: Node
    addresses: AddressBook
    meters: Callable[[list[str]], Mapping[str, Meter]]  # meter ids (at most 100) -> the meters found
    store: ReadingLedger
    platform_private_pem: str
    zone: ZoneInfo
    # How far a meter's clock may run ahead (the tracker function passes READING_CLOCK_SKEW_SECONDS).
    clock_skew: timedelta = timedelta(minutes=5)
    workers: int = 8  # I/O threads looking meters up, 100 at a time
    processes: int = field(default_factory=openers.cores)  # cores opening envelopes
    get_trytes_batch: int = 500
    find_batch: int = 1000  # addresses per findTransactions: IRI's --max-requests-list
    # What earlier runs processed (etp.meters.discovery); without one, this tracker's own memory.
    hints: Hints = field(default_factory=MemoryHints)
    # More active addresses than this and a run is split (`fan_out(now, shards)` starts the shard
    # invocations); without `fan_out`, a run does everything itself.
    addresses_per_invocation: int = 25_000
    fan_out: Callable[[str, int], None] | None = None

    def run(self, now: datetime, shard: Shard | None = None) -> RunReport:
        report = RunReport(now=now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        entries = self._entries([day.isoformat() for day in active_days(now)], shard)
        report.addresses = len(entries)
        if not entries or (shard is None and self._fanned_out(report)):
            return report
        found, new, processed = self._discover(now, entries, report)
        fetched = self._fetch(new)
        report.fetched = len(fetched)
        not_after = max(now, utcnow()) + self.clock_skew  # no reading may be dated later
        hours = self._check_and_store(report, fetched, entries, not_after, processed)
        self._learn(found, processed, hours)
        return report

    def _entries(self, days: list[str], shard: Shard | None) -> dict:
        """The address book entries of the run (of its shard's users), by address."""
        entries = {e.address: e for day in days for e in self.addresses.of_day(day)}
        if shard is None:
            return entries
        return {a: e for a, e in entries.items() if user_shard(e.user_id, shard.of) == shard.index}

    def _fanned_out(self, report: RunReport) -> bool:
        """Split a run planned beyond one invocation's share into shard invocations (each idempotent)."""
        if self.fan_out is None or report.addresses <= self.addresses_per_invocation:
            return False
        report.shards = -(-report.addresses // max(1, self.addresses_per_invocation))
        self.fan_out(report.now, report.shards)
        return True

    def _fetch(self, new: list[str]) -> list[tuple[str, str]]:
        """(hash, trytes) of each new transaction, fetched a batch at a time."""
        fetched: list[tuple[str, str]] = []
        for start in range(0, len(new), self.get_trytes_batch):
            batch = new[start : start + self.get_trytes_batch]
            fetched.extend(zip(batch, self.node.get_trytes(batch), strict=True))
        return fetched

    def _check_and_store(
        self,
        report: RunReport,
        fetched: list[tuple[str, str]],
        entries: dict,
        not_after: datetime,
        processed: set[str],
    ) -> dict[str, set[str]]:
        """Checks the fetched transactions and stores the readings that pass; adds every transaction
        with an outcome to `processed`. The address hours (per day) of what was accepted.

        Four steps: each transaction's fields, address and tag, here (CPU work gains nothing from
        threads); their meters, 100 a lookup from a pool of I/O threads; every envelope opened at
        once on all the cores (etp.meters.openers: worker processes over pipes, the RSA work being
        most of the CPU a run spends); then each payload validated, and the accepted readings stored
        in one `store_many` (which batches its writes)."""
        parsed = [_parsed(trytes, entries) for _, trytes in fetched]  # CPU: here, not in threads
        owners = self._owners(parsed)
        prepared = [_owned(step, owners) if isinstance(step, _Parsed) else step for step in parsed]
        sealed = [p for p in prepared if isinstance(p, _Sealed)]
        opened = iter(
            openers.open_all(
                [(p.raw, p.meter.public_key_pem) for p in sealed], self.platform_private_pem, self.processes
            )
        )
        hours: dict[str, set[str]] = {}
        accepted: dict[str, tuple[StoredReading, dict[str, float], str]] = {}  # by reading id
        for (tx_hash, _), step in zip(fetched, prepared, strict=True):
            result = self._finished(step, next(opened), not_after) if isinstance(step, _Sealed) else step
            if result is not None:
                processed.add(tx_hash)
                self._take(report, tx_hash, result, accepted, hours)
        self._store(report, list(accepted.values()))
        return hours

    def _discover(self, now: datetime, entries: dict, report: RunReport):
        """(hash -> its (day, hour), the hashes to fetch, the ones the ledger already has)."""
        days: dict[str, list[str]] = {}
        for entry in entries.values():
            days.setdefault(entry.day, []).append(entry.address)
        questions = discovery.plan(now, days, self.hints.seen_hours(list(days)))
        report.questions = len(questions)
        found: dict[str, tuple[str, int]] = {}
        for question, answer in self._find_all(questions):
            report.find_calls += answer.calls
            report.over_limit += answer.over_limit
            for tx_hash in answer.hashes:
                found.setdefault(tx_hash, (question.day, question.hour))
        report.discovered = len(found)
        known = self.hints.seen_hashes(sorted(set(found.values())))  # only the hours that found something
        unknown = [h for h, group in found.items() if h[: discovery.HASH_KEY] not in known[group]]
        done = self.store.processed(unknown)
        return found, [h for h in unknown if h not in done], set(done)

    def _find_all(self, questions: list[Question]) -> list[tuple[Question, "_Answer"]]:
        """Every question's answer, in requests of at most `find_batch` addresses sent from a pool of I/O
        threads (the node answers them in parallel), in the questions' order."""
        requests = [
            (question, part, discovery.tags_of_hours(question.hours))
            for question in questions
            for part in parts(question.addresses, self.find_batch)
        ]
        answers = io_map(lambda request: self._find(request[1], request[2]), requests)
        return [(question, answer) for (question, _, _), answer in zip(requests, answers, strict=True)]

    def _find(self, addresses: list[str], tags: list[str]) -> "_Answer":
        """The hashes at these addresses with these tags, the request split in halves while the node
        refuses its answer as too large."""
        answer, pending = _Answer(), [addresses]
        while pending:
            part = pending.pop()
            answer.calls += 1
            try:
                answer.hashes += self.node.find_transactions(addresses=list(part), tags=tags)
            except NodeError as error:
                if error.message != OVER_LIMIT:
                    raise
                if len(part) == 1:
                    answer.over_limit += 1  # an address flooded beyond the node's answer limit
                else:
                    pending += [part[: len(part) // 2], part[len(part) // 2 :]]
        return answer

    def _learn(self, found: dict[str, tuple[str, int]], processed: set[str], hours: dict[str, set[str]]) -> None:
        """Written after the ledger: a run that dies before this leaves hints missing, never wrong."""
        groups: dict[tuple[str, int], list[str]] = {}
        for tx_hash in processed:
            groups.setdefault(found[tx_hash], []).append(tx_hash)
        self.hints.add(groups, hours)

    def _store(self, report: RunReport, batch: list[tuple[StoredReading, dict[str, float], str]]) -> None:
        if not batch:
            return
        for (stored, _, _), outcome in zip(batch, self.store.store_many(batch), strict=True):
            if outcome == "stored":
                report.stored += 1
            elif outcome == "duplicate":
                report.duplicates += 1
            else:
                self._rejected(report, stored.tx_hash, "reading id already stored")

    def _rejected(self, report: RunReport, tx_hash: str, reason: str) -> None:
        if self.store.reject(tx_hash, reason):
            report.rejected[reason] += 1
        else:
            report.duplicates += 1  # an overlapping run got there first

    def _take(self, report: RunReport, tx_hash: str, result, accepted: dict, hours: dict[str, set[str]]) -> None:
        """Note a checked transaction's outcome: rejected, a replay of a reading accepted earlier in
        the run, or accepted (and its address hour)."""
        if isinstance(result, str):
            self._rejected(report, tx_hash, result)
            return
        reading, entry = result
        if reading.id in accepted:  # the same reading twice in one run: a replay
            self._rejected(report, tx_hash, "reading id already stored")
            return
        accepted[reading.id] = (_stored(reading, entry, tx_hash), reading.values, entry.address)
        hours.setdefault(entry.day, set()).add(discovery.address_hour(entry.address, reading.taken_at.hour))

    def _owners(self, parsed: list) -> Mapping[str, Meter]:
        """The meters with something new in this run (not every meter, every run), 100 a lookup, from a
        pool of I/O threads."""
        wanted = list(dict.fromkeys(step.entry.meter_id for step in parsed if isinstance(step, _Parsed)))
        found = io_map(self.meters, parts(wanted, METERS_LOOKUP), self.workers)
        return {meter_id: meter for meters in found for meter_id, meter in meters.items()}

    def _finished(self, sealed: "_Sealed", opened: openers.Opened, not_after: datetime):
        """(reading, address entry) or the rejection reason, once its envelope is opened."""
        ok, payload = opened
        if not ok or isinstance(payload, str):
            return str(payload)
        try:
            reading = readings.parse_payload(
                payload,
                kind=sealed.kind,
                tag_hour=sealed.hour,
                account=sealed.meter.account,
                address_day=date.fromisoformat(sealed.entry.day),
                zone=self.zone,
            )
            readings.check_plausible(reading, not_after=not_after, rated_kw=sealed.meter.rated_kw)
        except readings.ReadingRejected as reason:
            return str(reason)
        return reading, sealed.entry


@dataclass
class _Answer:
    """What the node answered to one question's part: the hashes, in how many requests, and how many
    addresses it left out as over its answer limit."""

    hashes: list[str] = field(default_factory=list)
    calls: int = 0
    over_limit: int = 0


@dataclass(frozen=True)
class _Parsed:
    """A transaction that passed every check but its meter's and its envelope's."""

    raw: bytes
    entry: Any  # the address book entry (etp.meters.store)
    kind: str
    hour: int


@dataclass(frozen=True)
class _Sealed:
    """A transaction that passed every check but its envelope's."""

    raw: bytes
    entry: Any
    kind: str
    hour: int
    meter: Meter


def _parsed(trytes: str, entries: dict) -> "_Parsed | str | None":
    """A transaction checked up to its meter, or its rejection reason, or None: not served yet."""
    if trytes == NULL_TRYTES:
        return None
    try:
        address, tag, fragment = message_fields(trytes)
    except InvalidTransaction:
        return "broken trytes"
    entry = entries.get(address)
    if entry is None:
        return "unknown address"
    try:
        kind, hour = readings.parse_tag(tag)
        raw = trytes_to_bytes(fragment)
    except readings.ReadingRejected as reason:
        return str(reason)
    except ValueError:
        return "fragment is not a byte string"
    return _Parsed(raw, entry, kind, hour)


def _owned(parsed: _Parsed, owners: Mapping[str, Meter]) -> "_Sealed | str":
    meter = owners.get(parsed.entry.meter_id)
    if meter is None or not meter.active:
        return "meter unknown or inactive"
    return _Sealed(parsed.raw, parsed.entry, parsed.kind, parsed.hour, meter)


def _stored(reading: readings.Reading, entry, tx_hash: str) -> StoredReading:
    """An accepted reading as the ledger keeps it, with its owner's and meter's ids from its address."""
    return StoredReading(
        id=reading.id,
        user_id=entry.user_id,
        meter_id=entry.meter_id,
        kind=reading.kind,
        taken_at=reading.taken_at,
        power_kw=reading.power_kw,
        tx_hash=tx_hash,
    )
