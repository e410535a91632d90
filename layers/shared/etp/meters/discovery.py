"""Where the tracker looks for new readings on the tangle, and its hints of what it already saw. Pure logic.

IRI's findTransactions answers only hashes, and refuses an answer beyond `--max-find-transactions`
(100,000): asking for every active address answers every hash of the day (~900,000 by the evening
at 10,000 meters). So the tracker asks narrower questions, each one (address day, UTC hour): the
addresses of that day (at most 1,000 per request) AND the five reading tags of that hour (a
reading's tag carries the UTC hour it was TAKEN, docs/api.md). IRI answers the intersection, so an
answer holds at most one hour of readings of 1,000 meters.

Which (day, hour) questions one run asks (`plan`):

- recent: the current UTC hour and the previous one, every address: everything published on time.
  The current hour's question also asks for every later hour of the day (normally nothing; but
  a meter whose clock runs ahead must still be found, rejected and counted as `from the future`,
  and an operator's re-run as of a past moment must find what was taken after that moment).
- catch-up: a late reading (a meter back from hours offline publishing its backlog) carries an
  old hour. Per address and day the hints keep the hours that address has readings for; an older
  hour is asked for the addresses that have no reading in it (a gap), or none in the hour after it
  (the meter went quiet: the hour may be partial). A meter that publishes its backlog oldest first
  is caught up in the first run that sees it, gaps and the partial hour before them included.
- sweep: at most one older hour per run, every address, in rotation (`sweep_hour`), a safety net
  for what the catch-up rule cannot see (a straggler published out of order into an hour that
  already has readings and a following one). It reaches every older hour within 24 runs (2 hours).

A run's answers are so O(meters) (2 hours of readings, one swept hour, and the gaps) plus O(new
readings), whatever the day's total; the questions are at most 3 + 22 per 1,000 addresses, the
22 only for meters with gaps (silent meters: empty answers). Ledger lookups are O(new readings).
What still grows with the hours gone by is small: the (address, hour) hints read each run (~13
bytes per meter-hour) and, on the node's side, IRI's own work per request (it loads each asked
address's hashes before intersecting with the tags).

At 10,000 meters one invocation does a busy run with ample room (bench/tracker_scale.py, docs/testing.md);
when one no longer can, the questions split by address shard across invocations unchanged (the
hints are keyed by hash and address prefixes, the ledger is exact under overlap).

The hints (`Hints`, kept in the ledger table, see etp.meters.discovery_store) are what make an
idle run cheap: per (address day, hour), the hashes already processed (their first 27 trytes), so
the hashes a question returns need no ledger lookup each; and per address day, the (address,
hour) pairs with a stored reading, for the catch-up rule. The ledger stays the truth (every
storing and rejecting is conditional on its `tx#<hash>` marker): a hash not in the hints is looked
up in the ledger before it is fetched, and hints are written only after the ledger, with set
additions (DynamoDB ADD), so double and overlapping runs, or a run that dies between the two, can
only leave hints missing (more lookups), never wrong.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from typing import Protocol

from etp.iota.trytes import ALPHABET
from etp.meters.readings import TYPES

HASH_KEY = 27  # trytes of a hash kept in the hints (~128 bits: no two hashes of a day share them)
ADDRESS_KEY = 12  # trytes of an address in an (address, hour) hint (unique among a day's addresses)
RECENT_HOURS = 2
RUN_EVERY = timedelta(minutes=5)
_address_key = itemgetter(slice(0, ADDRESS_KEY))  # address[:ADDRESS_KEY], called from C


def hour_letter(hour: int) -> str:
    return ALPHABET[1 + hour]


def tags_of_hours(hours: Iterable[int]) -> list[str]:
    """The five reading tags of each UTC hour (as meters set them: readings.tag_for)."""
    return [(prefix + hour_letter(hour)).ljust(27, "9") for hour in hours for prefix, *_ in TYPES.values()]


def address_hour(address: str, hour: int) -> str:
    return address[:ADDRESS_KEY] + hour_letter(hour)


def hour_of(pair: str) -> int:
    """The hour of an `address_hour` pair."""
    return ALPHABET.index(pair[-1]) - 1


@dataclass(frozen=True)
class Question:
    day: str  # the addresses' UTC day
    hours: tuple[int, ...]  # the UTC hours of the readings' tags
    addresses: tuple[str, ...]
    why: str  # recent | sweep | catch-up

    @property
    def hour(self) -> int:
        """The hour the hints keep what this question found under (a reading from a later hour
        is kept there too: when its hour comes, the ledger has it)."""
        return self.hours[0]


class Hints(Protocol):
    def seen_hashes(self, groups: list[tuple[str, int]]) -> dict[tuple[str, int], set[str]]:
        """Per (day, hour): the HASH_KEY-tryte prefixes of the hashes processed before."""
        ...

    def seen_hours(self, days: list[str]) -> dict[str, set[str]]:
        """Per day: the `address_hour` pairs that have a stored reading."""
        ...

    def add(self, hashes: Mapping[tuple[str, int], Iterable[str]], hours: Mapping[str, Iterable[str]]) -> None:
        """What a run processed: the hashes per (day, hour), and per day the `address_hour` pairs it stored."""
        ...


class MemoryHints:
    """Hints of one process (tests, benchmarks); the tracker function uses DynamoHints."""

    def __init__(self) -> None:
        self.hashes: dict[tuple[str, int], set[str]] = {}
        self.hours: dict[str, set[str]] = {}

    def seen_hashes(self, groups: list[tuple[str, int]]) -> dict[tuple[str, int], set[str]]:
        return {group: set(self.hashes.get(group, ())) for group in groups}

    def seen_hours(self, days: list[str]) -> dict[str, set[str]]:
        return {day: set(self.hours.get(day, ())) for day in days}

    def add(self, hashes: Mapping[tuple[str, int], Iterable[str]], hours: Mapping[str, Iterable[str]]) -> None:
        for group, found in hashes.items():
            self.hashes.setdefault(group, set()).update(h[:HASH_KEY] for h in found)
        for day, pairs in hours.items():
            self.hours.setdefault(day, set()).update(pairs)


def _hour_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def recent_hours(now: datetime) -> list[int]:
    start = _hour_start(now)
    return [(start - timedelta(hours=back)).hour for back in range(RECENT_HOURS)]


def _day_start(day: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), datetime.min.time(), tzinfo=UTC)


def older_hours(day: str, now: datetime) -> list[int]:
    """The hours of an address day that are over and older than the recent ones."""
    recent = set(recent_hours(now))
    newest = _hour_start(now) - timedelta(hours=RECENT_HOURS)
    first = _day_start(day)
    return [h for h in range(24) if first + timedelta(hours=h) <= newest and h not in recent]


def later_hours(day: str, now: datetime) -> list[int]:
    """The hours of an address day that start after the current one."""
    first, current = _day_start(day), _hour_start(now)
    return [h for h in range(24) if first + timedelta(hours=h) > current]


def sweep_hour(day: str, now: datetime) -> int | None:
    """The older hour this run sweeps whole: hour (run number mod 24), when it is an older one; so
    any 24 consecutive runs (two hours) sweep every hour that is older throughout them."""
    run = int(now.timestamp() // RUN_EVERY.total_seconds())
    hour = run % 24
    return hour if hour in older_hours(day, now) else None


def catch_up(addresses: Sequence[str], hour: int, seen: Mapping[str, set[str]]) -> tuple[str, ...]:
    """The addresses that may have readings of `hour` not processed yet: none seen in that hour,
    or none in the hour after (the meter went quiet, so `hour` may be partial). `seen`: by hour
    letter, the address keys seen then (by_hour_letter)."""
    complete = seen.get(hour_letter(hour), set())
    if hour != 23:  # the day's last hour has no hour after it in this day
        complete = complete & seen.get(hour_letter(hour + 1), set())
    if not complete:
        return tuple(addresses)
    if complete.issuperset(map(_address_key, addresses)):
        return ()  # the common case, in one C-level pass: every address complete in that hour
    return tuple(a for a in addresses if a[:ADDRESS_KEY] not in complete)


def by_hour_letter(pairs: Iterable[str]) -> dict[str, set[str]]:
    """`address_hour` pairs grouped by their hour letter: {letter: address keys}."""
    grouped: dict[str, set[str]] = defaultdict(set)
    for pair in pairs:
        grouped[pair[-1]].add(pair[:-1])
    return grouped


def plan(now: datetime, days: Mapping[str, list[str]], seen: Mapping[str, set[str]]) -> list[Question]:
    """Every question of one run, for the addresses of each active day (see the module's doc)."""
    questions: list[Question] = []
    for day, addresses in days.items():
        if not addresses:
            continue
        everyone = tuple(addresses)
        current, *earlier = recent_hours(now)
        questions.append(Question(day, (current, *later_hours(day, now)), everyone, "recent"))
        questions += [Question(day, (hour,), everyone, "recent") for hour in earlier]
        swept = sweep_hour(day, now)
        if swept is not None:
            questions.append(Question(day, (swept,), everyone, "sweep"))
        seen_by_hour = by_hour_letter(seen.get(day, ()))
        for hour in older_hours(day, now):
            late = catch_up(addresses, hour, seen_by_hour) if hour != swept else ()
            if late:
                questions.append(Question(day, (hour,), late, "catch-up"))
    return questions
