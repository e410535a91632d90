"""The audit trail: records of outcomes that matter, published as zero-value IOTA transactions.

A record is a small canonical JSON document with a tag per record type:

  kind         tag                     subject       written when
  sealed-bids  ETP9SEALED9BIDS         slot (UTC)    the seal job closed a slot with bids
  clearing     ETP9CLEARING9RESULT     slot (UTC)    the clear job wrote every bid's outcome
  dr-result    ETP9DR9RESULT           offer uuid    a DR offer was accepted, or its day passed
  settlement-  ETP9SETTLEMENT9         slot#reading  quarantining or releasing a reading changed
  correction   CORRECTION              #sequence     the settlement of an already settled slot

Each record goes to its own address, derived from its key (`<kind>#<subject>`), so anyone can find
it and the publisher can see whether an earlier run already published it. Producers put records in
an outbox in the same step as the outcome; the publisher (every minute) sends what is pending:
a node outage only delays a record, and a record is published once even when runs overlap or a run
dies between sending and noting the hash. Records carry digests where the covered data is long, so
that verification recomputes them from the stored data.
"""

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from etp.iota.trytes import bytes_to_trytes, pad_tag, trytes_to_bytes

if TYPE_CHECKING:  # the node client (urllib) is imported when publishing, not by the market jobs
    from etp.iota.node import NodeClient

SEALED, CLEARING, DR_RESULT = "sealed-bids", "clearing", "dr-result"
SETTLEMENT_CORRECTION = "settlement-correction"
TAGS = {
    SEALED: "ETP9SEALED9BIDS",
    CLEARING: "ETP9CLEARING9RESULT",
    DR_RESULT: "ETP9DR9RESULT",
    SETTLEMENT_CORRECTION: "ETP9SETTLEMENT9CORRECTION",
}


@dataclass(frozen=True)
class Record:
    kind: str
    subject: str
    body: dict = field(hash=False)

    @property
    def key(self) -> str:
        return f"{self.kind}#{self.subject}"

    @property
    def tag(self) -> str:
        return pad_tag(TAGS[self.kind])

    @property
    def address(self) -> str:
        return record_address(self.key)

    def message(self) -> bytes:
        return canonical({"record": self.kind, "subject": self.subject, **self.body})


def canonical(document: dict) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def record_address(key: str) -> str:
    """81 trytes from SHA-256 of the key: public and stable, one address per record."""
    return bytes_to_trytes(hashlib.sha256(key.encode()).digest()).ljust(81, "9")


def digest(rows: Iterable[list]) -> str:
    """SHA-256 of rows in a canonical order: a record covers long data by its digest."""
    return hashlib.sha256(canonical({"rows": sorted(rows)})).hexdigest()


@dataclass(frozen=True)
class Entry:
    """A transaction as found on the tangle."""

    hash: str
    address: str
    tag: str
    message: bytes | None  # None when the fragment is not a message


def read_entries(node: "NodeClient", hashes: list[str]) -> list[Entry]:
    from etp.iota.transaction import message_fields

    entries = []
    for tx_hash, trytes in zip(hashes, node.get_trytes(hashes), strict=True):
        if set(trytes) == {"9"}:
            continue  # IRI answers 9s for a hash it does not hold
        address, tag, fragment = message_fields(trytes)
        try:
            message: bytes | None = trytes_to_bytes(fragment)
        except ValueError:
            message = None
        entries.append(Entry(tx_hash, address, tag, message))
    return entries


def matches(entry: Entry, record_key: str, tag: str, message: bytes) -> bool:
    return entry.address == record_address(record_key) and entry.tag == tag and entry.message == message


def publish(node: "NodeClient", key: str, tag: str, message: bytes, when: datetime) -> str:
    """The hash of `message` on the tangle at the record's address: an earlier publication of the
    same message when there is one, else a new zero-value transaction (timestamp `when`)."""
    from etp.iota.send import send

    address = record_address(key)
    for entry in read_entries(node, node.find_transactions(addresses=[address])):
        if matches(entry, key, tag, message):
            return entry.hash
    return send(node, address, tag, message, now=when)


@dataclass(frozen=True)
class Pending:
    key: str
    tag: str
    message: bytes
    created_at: datetime


class Outbox(Protocol):
    def pending(self, limit: int) -> list[Pending]: ...
    def claim(self, key: str, now: datetime) -> bool: ...
    def mark_published(self, key: str, tx_hash: str, now: datetime) -> None: ...
    def release(self, key: str) -> None: ...


@dataclass
class PublishReport:
    published: int = 0
    still_pending: int = 0
    node_error: str | None = None

    def as_dict(self) -> dict:
        return {"published": self.published, "still_pending": self.still_pending, "node_error": self.node_error}


# Writes a published record's transaction hash onto what the record covers: (subject, tx_hash).
Stamp = Callable[[str, str], None]


def publish_pending(
    outbox: Outbox, node: "NodeClient", stamps: Mapping[str, Stamp], now: datetime, limit: int = 200
) -> PublishReport:
    """Publish what the outbox holds, oldest first. Each record is claimed for a while first, so that
    overlapping runs do not both send it; its hash is written onto the records it covers (by the
    `stamps` of its kind, which the covering contexts provide) before the record counts as published.
    A node error ends the run: what is left waits for the next one."""
    from etp.iota.node import IotaNodeError

    report = PublishReport()
    waiting = outbox.pending(limit)
    for index, record in enumerate(waiting):
        if not outbox.claim(record.key, now):
            continue  # another run holds it
        try:
            tx_hash = publish(node, record.key, record.tag, record.message, record.created_at)
        except IotaNodeError as problem:
            outbox.release(record.key)
            report.node_error = str(problem)
            report.still_pending = len(waiting) - index
            return report
        kind, _, subject = record.key.partition("#")
        stamps[kind](subject, tx_hash)
        outbox.mark_published(record.key, tx_hash, now)
        report.published += 1
    return report


def verify(
    stored: bytes, recomputed: Record, tx_hash: str | None, entry: Entry | None, covered: list[str | None]
) -> list[str]:
    """What is wrong with a record (empty: verified): `stored` is the message the outbox holds,
    `recomputed` the record rebuilt from the data as stored now, `entry` what the node holds under
    `tx_hash`, `covered` the hash each covered record carries."""
    problems = []
    if recomputed.message() != stored:
        problems.append("the stored data no longer matches the recorded message")
    if tx_hash is None:
        return [*problems, "not published yet"]
    if entry is None:
        return [*problems, f"transaction {tx_hash} is not on the node"]
    if entry.address != recomputed.address:
        problems.append("the transaction is at another address")
    if entry.tag != recomputed.tag:
        problems.append("the transaction has another tag")
    if entry.message != stored:
        problems.append("the transaction's message differs from the recorded message")
    if not covered or any(h != tx_hash for h in covered):
        problems.append("not every covered record carries the transaction hash")
    return problems
