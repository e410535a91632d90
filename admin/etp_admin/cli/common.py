"""What every command group shares: the command tables, errors, output, progress and the operator."""

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from etp.edge.jobs import BadJobEvent, job_time
from etp_admin.stack import Stack

LOCAL_STATE = Path(__file__).resolve().parents[3] / ".local"
DEFAULT_NODE = "http://127.0.0.1:14265"
SLOT_HELP = "the slot's start, ISO-8601 (naive = local), e.g. 2026-11-26T10:00"

Handler = Callable[[Stack, argparse.Namespace], None]


class CommandError(Exception):
    """A command cannot do what was asked: main prints `etp-admin: <message>` and exits 1."""


# --- the command tables ---------------------------------------------------------------------


@dataclass(frozen=True)
class Arg:
    """One argparse argument: the flags (or the positional name) and add_argument's keywords."""

    flags: tuple[str, ...]
    options: dict[str, Any]


def arg(*flags: str, **options: Any) -> Arg:
    return Arg(flags, options)


JSON = arg("--json", action="store_true", help="print one JSON document on stdout instead of the text")
# a list or show whose only output is JSON takes --json too, so that scripts can pass it to every one
JSON_ALREADY = arg("--json", action="store_true", help="the output is one JSON document already (the default)")


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    help: str
    args: tuple[Arg, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Group:
    name: str
    help: str
    commands: tuple[Command, ...]


# --- output ---------------------------------------------------------------------------------


def print_json(document: object) -> None:
    print(json.dumps(document, indent=2, ensure_ascii=False))


def say(message: str) -> None:
    """A note for the operator, on stderr: stdout stays the command's answer."""
    print(message, file=sys.stderr, flush=True)


class Progress:
    """Counts the items a long command goes through and says so on stderr every `every` items and at
    the end, so a migration over a large table shows it is moving; stdout is left alone."""

    EVERY = 500

    def __init__(self, what: str, every: int | None = None) -> None:
        self.what = what
        self.every = every or self.EVERY
        self.count = 0

    def __call__(self) -> None:
        self.count += 1
        if self.count % self.every == 0:
            say(f"{self.what}: {self.count} so far")

    def done(self) -> None:
        say(f"{self.what}: {self.count} in all")


# --- input ----------------------------------------------------------------------------------


def read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise CommandError("passwords differ")
    if not 8 <= len(password) <= 256:
        raise CommandError("a password has 8 to 256 characters")
    return password


def slot_time(text: str, flag: str = "--slot") -> datetime:
    """A slot's start as given on the command line (ISO-8601, naive = local), in UTC."""
    try:
        return job_time({"now": text})
    except BadJobEvent as error:
        raise CommandError(f"{flag}: {error}") from None


def operator(stack: Stack) -> str:
    """Who acts, for the record: the AWS principal of the credentials in use, else the OS user."""
    try:
        return stack.client("sts").get_caller_identity()["Arn"]
    except (BotoCoreError, ClientError, KeyError):
        return f"os-user:{getpass.getuser()}"
