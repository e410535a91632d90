"""The tracker's discovery hints in DynamoDB (PynamoDB), beside its ledger. Imported on first use.

Items of the ledger table (hash key `key`), next to the `tx#<hash>` markers, each a string set
`items` grown with ADD (idempotent: overlapping runs add the same elements):

- `seen#<day>#<HH>#<t><n>`: the first 27 trytes of every processed hash found by a question of
  (address day, UTC hour HH) whose hash starts with tryte t and whose second tryte is in the n-th
  (0..8) third of the alphabet (243 items per hour, each a 9th of what an item of one tryte held:
  those grew 27 bytes a reading, to ~40 KB by the hour's end at 10,000 meters publishing every 15
  minutes, so to DynamoDB's 400 KB at 100,000; a 9th stays under 100 KB there, and a run updates
  at most 243 of them, not 729 as by tryte pair). Items of the older layout
  (`seen#<day>#<HH>#<t>`) are read by nothing: a run that finds no hint for a hash looks it
  up in the ledger, as the hints are only ever missing, never wrong, and the TTL deletes them.
- `hours#<day>#<HH>#<t>`: `<12 trytes of the address><hour letter>` for every address of that day
  starting with tryte t that has a stored reading of UTC hour HH (27 items per hour: ~4.7 KB each
  at 10,000 meters, and an update, which pays for the whole item, pays for one hour's shard, not
  the day's). An older version kept one item per day and tryte, `hours#<day>#<t>`, every hour in
  it (~119 KB each by the evening at 10,000 meters, 400 KB at ~30,000); the migration
  `0005_hints_hour_shards` (`etp-admin migrate`) moves what is left of those into the hour items.

The `hours#` items are then the largest (13 bytes an address with a reading in the hour: ten times
the 10,000 meters' at 100,000). Every write sets `expires_at`:
the TTL deletes a hint etp.retention.HINTS_KEPT after its day.

See etp.meters.discovery for how the tracker uses them.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute

from etp.dynamo import TableModel, table_meta
from etp.io_pool import io_map, parts
from etp.iota.trytes import ALPHABET
from etp.meters.discovery import HASH_KEY, hour_of
from etp.retention import hint_expires_at

BATCH_GET = 100


class HintModel(TableModel):
    Meta = table_meta("ledger_table")

    key = UnicodeAttribute(hash_key=True)
    items = UnicodeSetAttribute(null=True)
    expires_at = NumberAttribute(null=True)  # the TTL (epoch seconds)


SEEN_SPLIT = 9  # `seen#` items per first tryte: the second tryte's alphabet in ninths
SHARDS = [first + str(n) for first in ALPHABET for n in range(SEEN_SPLIT)]  # the `seen#` items of an hour


def _shard(tx_hash: str) -> str:
    return tx_hash[0] + str(ALPHABET.index(tx_hash[1]) * SEEN_SPLIT // len(ALPHABET))


def _seen_key(day: str, hour: int, shard: str) -> str:
    return f"seen#{day}#{hour:02d}#{shard}"


def _hours_key(day: str, hour: int, tryte: str) -> str:
    return f"hours#{day}#{hour:02d}#{tryte}"


class DynamoHints:
    def __init__(self) -> None:
        self.items_read = 0
        self.items_written = 0

    def _get(self, keys: list[str]) -> dict[str, set[str]]:
        """These items (BatchGetItem, 100 keys a request, from a bounded pool of I/O threads)."""
        answers = io_map(lambda chunk: list(HintModel.batch_get(chunk)), parts(keys, BATCH_GET))
        found = {item.key: set(item.items or ()) for answer in answers for item in answer}
        self.items_read += len(found)
        return found

    def _add(self, key: str, elements: set[str], day: str) -> None:
        HintModel(key).update(actions=[HintModel.items.add(elements), HintModel.expires_at.set(hint_expires_at(day))])

    def _add_all(self, updates: list[tuple[str, set[str], str]]) -> None:
        """ADD to each item's set (one UpdateItem each: a BatchWriteItem would replace the items, and
        a transaction would pay twice), sent by a bounded pool of I/O threads."""
        updates = [update for update in updates if update[1]]
        io_map(lambda update: self._add(*update), updates)
        self.items_written += len(updates)

    def seen_hashes(self, groups: list[tuple[str, int]]) -> dict[tuple[str, int], set[str]]:
        keys = {_seen_key(day, hour, shard): (day, hour) for day, hour in groups for shard in SHARDS}
        seen: dict[tuple[str, int], set[str]] = {group: set() for group in groups}
        for key, elements in self._get(list(keys)).items():
            seen[keys[key]] |= elements
        return seen

    def seen_hours(self, days: list[str]) -> dict[str, set[str]]:
        keys = {_hours_key(day, hour, t): day for day in days for hour in range(24) for t in ALPHABET}
        seen: dict[str, set[str]] = {day: set() for day in days}
        for key, elements in self._get(list(keys)).items():
            seen[keys[key]] |= elements
        return seen

    def add(self, hashes: Mapping[tuple[str, int], Iterable[str]], hours: Mapping[str, Iterable[str]]) -> None:
        """A run's hints, every item's update sent by one bounded pool (not a pool per hour)."""
        shards: dict[tuple[str, int, str], set[str]] = defaultdict(set)
        for (day, hour), found in hashes.items():
            for tx_hash in found:
                shards[day, hour, _shard(tx_hash)].add(tx_hash[:HASH_KEY])
        updates = [(_seen_key(day, hour, shard), elements, day) for (day, hour, shard), elements in shards.items()]
        by_letter: dict[tuple[str, int, str], set[str]] = defaultdict(set)
        for day, pairs in hours.items():
            for pair in pairs:
                by_letter[day, hour_of(pair), pair[0]].add(pair)
        updates += [(_hours_key(day, hour, t), elements, day) for (day, hour, t), elements in by_letter.items()]
        self._add_all(updates)

    def add_hashes(self, day: str, hour: int, hashes: Iterable[str]) -> None:
        self.add({(day, hour): hashes}, {})

    def add_hours(self, day: str, pairs: Iterable[str]) -> None:
        self.add({}, {day: pairs})
