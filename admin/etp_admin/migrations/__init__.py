"""Versioned, idempotent data migrations, run by `etp-admin migrate` after every deployment.

One module per migration, `m<NNNN>_<name>.py`, whose id is `<NNNN>_<name>`; they run in the order of
their numbers. A module has `DESCRIPTION` (one line), `PROGRESS` (what its progress counts, e.g.
"readings read") and `run(dry_run, progress) -> dict`: what it did (or, with `dry_run`, would do),
as counts, writing nothing when `dry_run`. `progress` is called once per item it goes through.

Each one is idempotent: run again (because the ledger item was not written, or by hand), it finds
nothing left to do. Once run, it is recorded in the ledger table as an item `migration#<id>`
(etp_admin.migrations.ledger) and skipped from then on.
"""

import importlib
import pkgutil
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Protocol

from etp.clock import to_utc_iso, utcnow
from etp_admin.migrations import ledger

MODULE_NAME = re.compile(r"\Am(\d{4})_(\w+)\Z")


class Counter(Protocol):
    def __call__(self) -> object: ...

    def done(self) -> object: ...


class _Quiet:
    def __call__(self) -> None:
        pass

    def done(self) -> None:
        pass


@dataclass(frozen=True)
class Migration:
    id: str  # e.g. 0001_readings_hour_keys
    description: str
    progress: str
    run: Callable[[bool, Callable[[], object]], dict]


def _migration(module: ModuleType, name: str) -> Migration:
    return Migration(id=name[1:], description=module.DESCRIPTION, progress=module.PROGRESS, run=module.run)


def all_migrations() -> list[Migration]:
    """Every migration of this package, in order."""
    names = sorted(info.name for info in pkgutil.iter_modules(__path__) if MODULE_NAME.match(info.name))
    return [_migration(importlib.import_module(f"{__name__}.{name}"), name) for name in names]


def status() -> list[dict]:
    """Each migration, oldest first, with its ledger record (None while it is pending)."""
    migrations = all_migrations()
    records = ledger.records([m.id for m in migrations])
    return [{"id": m.id, "description": m.description, "applied": records.get(m.id)} for m in migrations]


def run_pending(
    *, dry_run: bool = False, by: str = "", counter: Callable[[str], Counter] = lambda _: _Quiet()
) -> list[dict]:
    """Run the migrations the ledger does not record, in order, and record each (not with `dry_run`,
    which writes nothing and says what each would do). `counter(label)` makes each one's progress
    counter (etp-admin's counts on stderr). What each did: its id, description and result."""
    done = []
    migrations = all_migrations()
    recorded = ledger.records([m.id for m in migrations])
    pending = [m for m in migrations if m.id not in recorded]
    for migration in pending:
        progress = counter(f"{migration.id}: {migration.progress}")
        started = time.monotonic()
        result = migration.run(dry_run, progress)
        progress.done()
        entry = {"id": migration.id, "description": migration.description, "result": result}
        if not dry_run:
            ledger.record(
                migration.id,
                at=to_utc_iso(utcnow()),
                by=by,
                description=migration.description,
                result=result,
                seconds=round(time.monotonic() - started, 3),
            )
        done.append(entry)
    return done
