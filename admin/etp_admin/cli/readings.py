"""etp-admin readings: find, quarantine and release stored meter readings."""

import argparse
from datetime import date, datetime, time
from pathlib import Path

from etp.accounts.store import DynamoUserStore
from etp.audit.store import DynamoOutbox
from etp.clock import day_bounds, local_zone, supported_day, to_utc_iso, utcnow
from etp.market import settlement
from etp.market.store import DynamoBidStore
from etp.meters.readings import Overlay
from etp.meters.readings_admin import DynamoReadingAdmin
from etp.meters.readings_items import ReadingRecord
from etp.meters.readings_store import DynamoReadingStore
from etp_admin import plots  # matplotlib itself only once something is drawn
from etp_admin.cli.common import (
    JSON,
    JSON_ALREADY,
    Command,
    CommandError,
    Group,
    arg,
    operator,
    print_json,
    say,
)
from etp_admin.stack import Stack

READING_ID = "the reading's id (the `id` /power_info shows) or its transaction's hash (81 trytes)"


def _find_reading(admin: DynamoReadingAdmin, key: str) -> ReadingRecord:
    record = admin.record(key)
    if record is None:
        raise CommandError(f"no stored reading {key!r}: give {READING_ID}")
    return record


def _reading_json(record: ReadingRecord, *, log: bool = False) -> dict:
    reading = record.reading
    document = {
        "id": reading.id,
        "taken_at": to_utc_iso(reading.taken_at),
        "local_time": reading.taken_at.astimezone(local_zone()).strftime("%Y/%m/%d %H:%M:%S"),
        "meter_id": reading.meter_id,
        "data_type": reading.data_type,
        "power_kw": reading.power_kw,
        "values": record.values,
        "transaction": reading.tx_hash,
        "stored_at": record.stored_at,
        "quarantined_at": record.quarantined_at,
        "quarantine_reason": record.quarantine_reason,
        "quarantined_by": record.quarantined_by,
    }
    return {**document, "log": record.log} if log else document


def _corrected(admin: DynamoReadingAdmin, reading) -> dict:
    """Re-settle the settled slot the reading counts in, as its last quarantine or release leaves it
    (etp.market.settlement.correct; a repeat finishes a correction that died half way, or changes
    nothing), say so, and answer the reading with `settlement_corrections` (the slots corrected)."""
    record = _find_reading(admin, reading.id)
    document = _reading_json(record, log=True)
    if not record.log:
        return {**document, "settlement_corrections": []}
    # the index may not show the change yet: read the readings as they are once it does
    hidden = record.quarantined
    readings = Overlay(
        DynamoReadingStore(),
        include=() if hidden else (record.reading,),
        exclude=frozenset({reading.id}) if hidden else frozenset(),
    )
    event = (record.log[-1]["action"], len(record.log))
    found = settlement.correct(
        DynamoBidStore(), readings, DynamoOutbox(), record.reading, event, utcnow(), local_zone()
    )
    corrections = [] if found is None or not found.changes else [found.as_dict()]
    _say_corrected(found)
    return {**document, "settlement_corrections": corrections}


def _say_corrected(found) -> None:
    if found is None:
        say("the reading's slot is not settled: settlement will count it as it is now")
        return
    slot = f"{found.slot.astimezone(local_zone()):%Y/%m/%d %H:00} (local)"
    if not found.changes:
        say(f"settled slot {slot}: its settlement already agrees, nothing to correct")
        return
    old = sum(c.old[1] or 0 for c in found.changes) / 1000
    new = sum(c.new[1] or 0 for c in found.changes) / 1000
    record = "written" if found.recorded else "already there"
    say(
        f"settled slot {slot} corrected: {len(found.changes)} pairs re-settled, NT$ {old:g} -> NT$ {new:g} "
        f"(audit record {record})"
    )


def _day_records(args: argparse.Namespace) -> tuple[date, list[ReadingRecord]]:
    """The local day `--day` names (default: today) and `--account`'s readings of it, oldest first."""
    user = DynamoUserStore().get(args.account)
    if user is None:
        raise CommandError(f"no account {args.account!r}")
    day = _local_day(args.day)
    return day, DynamoReadingAdmin().window(user.id, *day_bounds(day, local_zone()))


def power_series(day: date, records: list[ReadingRecord]) -> dict[str, list[tuple[float, float]]]:
    """A day's power by type, as the readings store holds it: a Demand reading's fields each (`grid`,
    `pv`, `building`, `ess`, `ev`), another type's one value by its data type (`ESS`, `EV`, `PV`,
    `WT`), each series of (local hour of the day, kW) points. Quarantined readings do not count."""
    midnight = datetime.combine(day, time(), local_zone())
    series: dict[str, list[tuple[float, float]]] = {}
    for record in records:
        if record.quarantined:
            continue
        reading = record.reading
        hour = (reading.taken_at - midnight).total_seconds() / 3600
        values = record.values if reading.kind == "Demand" and record.values else {reading.data_type: reading.power_kw}
        for label, kw in values.items():
            series.setdefault(label, []).append((hour, kw))
    return series


def chart(stack: Stack, args: argparse.Namespace) -> None:
    """Draw a building's power of one local day by type to a PNG (etp_admin.plots.day_power)."""
    day, records = _day_records(args)
    series = power_series(day, records)
    drawn = plots.day_power(Path(args.plot), title=f"{args.account} {day} (local): power by type", series=series)
    shown = sum(len(points) for points in series.values())
    say(f"{len(series)} series, {shown} points of {len(records)} readings drawn to {args.plot}")
    if args.json:
        print_json({"day": str(day), "account": args.account, "plot": plots.as_json(drawn)})


def list_readings(stack: Stack, args: argparse.Namespace) -> None:
    """A building's readings of one local day, oldest first, quarantined ones included and marked."""
    day, records = _day_records(args)
    rows = [_reading_json(r) for r in records if args.meter in (None, r.reading.meter_id)]
    if args.json:
        print_json(rows)
        return
    _print_readings(f"{day} (local) {args.account}: {len(rows)} readings", rows)


def _local_day(given: str | None) -> date:
    """--day's local day (today's when not given)."""
    try:
        day = date.fromisoformat(given) if given else utcnow().astimezone(local_zone()).date()
    except ValueError:
        raise CommandError(f"--day {given!r}: expected a local day, YYYY-MM-DD") from None
    if not supported_day(day):
        raise CommandError(f"--day {given!r}: out of range")
    return day


def _print_readings(title: str, rows: list[dict]) -> None:
    """`list_readings`' table: one line a reading, a quarantined one with its reason."""
    print(title)
    print(f"{'time':<8} {'type':<8} {'kW':>10}  {'status':<11}  {'id':<36}  meter")
    for row in rows:
        status = "QUARANTINED" if row["quarantined_at"] else "ok"
        print(
            f"{row['local_time'][-8:]:<8} {row['data_type']:<8} {row['power_kw']:>10g}  {status:<11}  "
            f"{row['id']:<36}  {row['meter_id']}" + (f"  ({row['quarantine_reason']})" if row["quarantined_at"] else "")
        )


def show(stack: Stack, args: argparse.Namespace) -> None:
    """One reading with its quarantine log, as JSON: this command's only output."""
    print_json(_reading_json(_find_reading(DynamoReadingAdmin(), args.id), log=True))


def quarantine(stack: Stack, args: argparse.Namespace) -> None:
    """Hide a stored reading from /power_info, settlement and the DR baseline (it stays for audit), and
    settle its slot again if it was settled."""
    reason = args.reason.strip()
    if not 1 <= len(reason) <= 500:
        raise CommandError("--reason: say why, in 1 to 500 characters")
    admin = DynamoReadingAdmin()
    reading = _find_reading(admin, args.id).reading
    by = operator(stack)
    if admin.quarantine(reading, reason=reason, by=by, now=utcnow()):
        say(
            f"reading {reading.id} quarantined by {by}: {reason}. It no longer counts in /power_info, settlement "
            "or demand response (DR rates already recorded stay as they are)."
        )
    else:
        say(f"reading {reading.id} was already quarantined: nothing changed")
    print_json(_corrected(admin, reading))


def release(stack: Stack, args: argparse.Namespace) -> None:
    """Undo a quarantine: the reading counts again (a settled slot is settled again)."""
    admin = DynamoReadingAdmin()
    reading = _find_reading(admin, args.id).reading
    by = operator(stack)
    reason = (args.reason or "").strip() or None
    if admin.release(reading, by=by, now=utcnow(), reason=reason):
        say(f"reading {reading.id} released by {by}: it counts again")
    else:
        say(f"reading {reading.id} is not quarantined: nothing changed")
    print_json(_corrected(admin, reading))


GROUP = Group(
    "readings",
    "find, quarantine and release stored meter readings",
    (
        Command(
            "list",
            list_readings,
            "a building's readings of a local day with their ids, quarantined ones too",
            (
                arg("--account", required=True),
                arg("--day", help="the local day, YYYY-MM-DD (default: today)"),
                arg("--meter", help="only this meter's readings"),
                JSON,
            ),
        ),
        Command(
            "chart",
            chart,
            "draw a building's power of a local day by type (grid, pv, ess, ...) to a PNG file",
            (
                arg("--account", required=True),
                arg("--day", help="the local day, YYYY-MM-DD (default: today)"),
                arg("--plot", required=True, metavar="FILE.png", help="the PNG file to write"),
                arg(
                    "--json",
                    action="store_true",
                    help="also print the lines drawn (local hour, kW) as one JSON document",
                ),
            ),
        ),
        Command(
            "show", show, "one reading, with its quarantine log (JSON)", (arg("id", help=READING_ID), JSON_ALREADY)
        ),
        Command(
            "quarantine",
            quarantine,
            "take a reading out of every answer, settlement and DR (kept for audit; undone by release); "
            "re-settles its slot if settled",
            (arg("id", help=READING_ID), arg("--reason", required=True, help="why, for the record")),
        ),
        Command(
            "release",
            release,
            "undo a quarantine: the reading counts again (re-settles a settled slot)",
            (arg("id", help=READING_ID), arg("--reason", help="why, for the record")),
        ),
    ),
)
