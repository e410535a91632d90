"""The dev node's tangle: transactions in memory with IRI's indexes, optionally kept in a file.

The state file is append-only, one line per transaction: its 81-tryte hash, a space, its 2673
trytes. Each storeTransactions batch is written with one `write` and fsync'ed before the node
answers, so a crash loses nothing acknowledged; a torn last line (a crash mid-write) is dropped,
and cut from the file, at the next start. The hash is kept so a restart need not re-run Curl.
"""

import os
import threading
from collections.abc import Iterable, Sequence
from itertools import product
from pathlib import Path

from etp.iota.transaction import NULL_HASH, TRANSACTION_LENGTH, Transaction
from etp.iota.trytes import HASH_LENGTH, is_hash, is_trytes

_LINE_LENGTH = HASH_LENGTH + 1 + TRANSACTION_LENGTH


class CorruptState(Exception):
    """A complete line of the state file is not `hash trytes`."""


class TooManyResults(Exception):
    """More matches than the node returns at once (IRI's maxFindTransactions)."""


def _index[K](index: dict[K, dict[str, None]], key: K, tx_hash: str) -> None:
    index.setdefault(key, {})[tx_hash] = None


class Tangle:
    def __init__(self, state_path: Path | None = None, *, max_find_transactions: int = 100_000) -> None:
        self.max_find_transactions = max_find_transactions
        self._lock = threading.Lock()
        self._trytes: dict[str, str] = {}
        self._by_address: dict[str, dict[str, None]] = {}
        self._by_bundle: dict[str, dict[str, None]] = {}
        self._by_tag: dict[str, dict[str, None]] = {}
        self._by_obsolete_tag: dict[str, dict[str, None]] = {}
        # findTransactions by addresses AND tags (the tracker's every question) answered from the pairs
        # asked, not by intersecting two unions of the day's hashes: same answers, a fraction of the CPU
        # the node would otherwise take from the tracker on a machine they share.
        self._by_address_tag: dict[tuple[str, str], dict[str, None]] = {}
        self._approvers: dict[str, dict[str, None]] = {}
        self._tips: dict[str, None] = {}
        self._file: int | None = None
        if state_path is not None:
            self._load(state_path)
            self._file = os.open(state_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                os.close(self._file)
                self._file = None

    def _load(self, path: Path) -> None:
        if not path.exists():
            return
        data = path.read_bytes()
        good = data.rfind(b"\n") + 1  # whatever follows the last newline is a torn write
        for number, line in enumerate(data[:good].decode("ascii", "replace").splitlines(), start=1):
            tx_hash, _, trytes = line.partition(" ")
            if len(line) != _LINE_LENGTH or not is_hash(tx_hash) or not is_trytes(trytes, TRANSACTION_LENGTH):
                raise CorruptState(f"{path}:{number} is not '<hash> <trytes>'")
            self._insert(tx_hash, Transaction.from_trytes(trytes), trytes)
        if good < len(data):
            os.truncate(path, good)

    def _insert(self, tx_hash: str, transaction: Transaction, trytes: str) -> None:
        self._trytes[tx_hash] = trytes
        _index(self._by_address, transaction.address, tx_hash)
        _index(self._by_bundle, transaction.bundle_hash, tx_hash)
        _index(self._by_tag, transaction.tag, tx_hash)
        _index(self._by_address_tag, (transaction.address, transaction.tag), tx_hash)
        _index(self._by_obsolete_tag, transaction.obsolete_tag, tx_hash)
        for approved in (transaction.trunk, transaction.branch):
            _index(self._approvers, approved, tx_hash)
            self._tips.pop(approved, None)
        if tx_hash not in self._approvers:
            self._tips[tx_hash] = None

    def store(self, transactions: Sequence[Transaction]) -> list[str]:
        """Keep the transactions (known ones are ignored, as IRI does); their hashes, in order."""
        hashes = [transaction.hash for transaction in transactions]  # Curl outside the lock
        with self._lock:
            new = {h: t for h, t in zip(hashes, transactions, strict=True) if h not in self._trytes}
            if self._file is not None and new:
                lines = "".join(f"{h} {t.as_trytes()}\n" for h, t in new.items())
                os.write(self._file, lines.encode("ascii"))
                os.fsync(self._file)
            for tx_hash, transaction in new.items():
                self._insert(tx_hash, transaction, transaction.as_trytes())
        return hashes

    def preload(self, hashes: Sequence[str], addresses: Sequence[str], tags: Sequence[str]) -> None:
        """Index transactions WITHOUT their trytes, in memory only (benchmarks: a day of a large
        fleet in little memory). findTransactions finds them as any others; getTrytes answers all
        9s for them, as a node that pruned them would. Hashes must be new."""
        with self._lock:
            for tx_hash, address, tag in zip(hashes, addresses, tags, strict=True):
                _index(self._by_address, address, tx_hash)
                _index(self._by_tag, tag, tx_hash)
                _index(self._by_address_tag, (address, tag), tx_hash)

    def store_trusted(self, items: Sequence[tuple[str, str]]) -> None:
        """Keep (hash, trytes) pairs whose hash the caller vouches for, in memory only (benchmarks:
        Curl-P-81 in Python costs ~4.5 ms a transaction)."""
        with self._lock:
            for tx_hash, trytes in items:
                if tx_hash not in self._trytes:
                    self._insert(tx_hash, Transaction.from_trytes(trytes), trytes)

    def trytes(self, hashes: Iterable[str]) -> list[str]:
        """The trytes of each hash; all 9s for an unknown one (IRI's answer)."""
        null = "9" * TRANSACTION_LENGTH
        with self._lock:
            return [self._trytes.get(h, null) for h in hashes]

    def contains(self, hashes: Iterable[str]) -> list[bool]:
        with self._lock:
            return [h in self._trytes for h in hashes]

    def tips(self) -> list[str]:
        with self._lock:
            return list(self._tips)

    def latest(self) -> str:
        """The most recently stored transaction's hash, or the null hash."""
        with self._lock:
            return next(reversed(self._trytes), NULL_HASH)

    def __len__(self) -> int:
        return len(self._trytes)

    def find(
        self,
        *,
        addresses: Sequence[str] | None = None,
        bundles: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        approvees: Sequence[str] | None = None,
    ) -> list[str]:
        """IRI's findTransactions: the union within each given kind, the intersection across kinds.

        Tags are 27 trytes; when no transaction has one of them as its tag, IRI falls back to
        the obsolete tags, and so does this.
        """
        if addresses is not None and tags is not None and bundles is None and approvees is None:
            with self._lock:
                # Some transaction has one of the tags (else IRI falls back to the obsolete tags, the
                # general way below): the (address, tag) index has the answer.
                if any(tag in self._by_tag for tag in tags):
                    return self._limited(self._union(self._by_address_tag, product(addresses, tags)))
        return self._limited(self._intersection(addresses, bundles, tags, approvees))

    def _intersection(
        self,
        addresses: Sequence[str] | None,
        bundles: Sequence[str] | None,
        tags: Sequence[str] | None,
        approvees: Sequence[str] | None,
    ) -> dict[str, None]:
        with self._lock:
            kinds = []
            for values, index in (
                (bundles, self._by_bundle),
                (addresses, self._by_address),
                (approvees, self._approvers),
            ):
                if values is not None:
                    kinds.append(self._union(index, values))
            if tags is not None:
                kinds.append(self._union(self._by_tag, tags) or self._union(self._by_obsolete_tag, tags))
        if not kinds:
            raise ValueError("find needs at least one kind")
        found = kinds[0]
        for other in kinds[1:]:
            found = {h: None for h in found if h in other}
        return found

    def _limited(self, found: dict[str, None]) -> list[str]:
        if len(found) > self.max_find_transactions:
            raise TooManyResults
        return list(found)

    @staticmethod
    def _union[K](index: dict[K, dict[str, None]], keys: Iterable[K]) -> dict[str, None]:
        union: dict[str, None] = {}
        for key in keys:
            union.update(index.get(key, {}))
        return union
