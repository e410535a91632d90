"""etp-admin migrate: the pending data migrations (etp_admin.migrations), in order, each recorded in
the ledger table once run; run after every deployment (`make run` runs them too)."""

import argparse

from etp_admin import migrations
from etp_admin.cli.common import JSON, Command, Progress, arg, operator, print_json
from etp_admin.stack import Stack


def migrate(stack: Stack, args: argparse.Namespace) -> None:
    """Run the pending migrations in order, recording each; --dry-run says what each would do, writing
    nothing; --list shows every migration and whether it ran. Progress goes to stderr."""
    if args.list:
        _list(migrations.status(), as_json=args.json)
        return
    done = migrations.run_pending(dry_run=args.dry_run, by=operator(stack), counter=Progress)
    if args.json:
        print_json({"dry_run": args.dry_run, "migrations": done})
        return
    if not done:
        print("no pending migrations")
    verb = "would do" if args.dry_run else "did"
    for entry in done:
        print(f"{entry['id']:<28} {verb}: {_counts(entry['result'])}")


def _counts(result: dict) -> str:
    return ", ".join(f"{name} {value}" for name, value in result.items()) or "nothing"


def _list(rows: list[dict], *, as_json: bool) -> None:
    if as_json:
        print_json(rows)
        return
    print(f"{'migration':<28} {'applied (UTC)':<20}  description")
    for row in rows:
        applied = row["applied"]["at"] if row["applied"] else "pending"
        print(f"{row['id']:<28} {applied:<20}  {row['description']}")


COMMAND = Command(
    "migrate",
    migrate,
    "run the pending data migrations in order (after every deployment; each recorded once run)",
    (
        arg("--dry-run", action="store_true", help="say what each pending migration would do; write nothing"),
        arg("--list", action="store_true", help="every migration, and when it ran (or pending)"),
        JSON,
    ),
)
