"""etp-admin: the operator's command line for a deployed stack.

    etp-admin [--env local|localstack|dev|prod] [--stack NAME] [--region R] [--endpoint-url URL] GROUP COMMAND
    etp-admin [...] status
    etp-admin [...] migrate [--dry-run] [--list] [--json]

Each command group is a module of this package with a table of its commands (`GROUP`); a command is
a function taking (stack, args). A command of no group (`COMMANDS`: status, migrate) has a module
with `COMMAND`, beside the groups. Passwords are read from a prompt or, with --password-stdin, from
standard input: never from argv.
"""

import argparse
import os
import sys

from etp_admin import stack as stacks
from etp_admin.cli import accounts, audit, demo, jobs, keys, market, meters, migrate, news, readings, simulate, status
from etp_admin.cli.common import Command, CommandError, Group

GROUPS: tuple[Group, ...] = (
    accounts.GROUP,
    keys.GROUP,
    meters.GROUP,
    readings.GROUP,
    jobs.GROUP,
    news.GROUP,
    market.GROUP,
    audit.GROUP,
    demo.GROUP,
    simulate.GROUP,
)
COMMANDS: tuple[Command, ...] = (status.COMMAND, migrate.COMMAND)  # commands of no group, beside the groups


def _add_command(commands: argparse._SubParsersAction, command: Command) -> None:
    parser = commands.add_parser(command.name, help=command.help, description=command.help)
    parser.set_defaults(func=command.handler, **command.defaults)
    for argument in command.args:
        parser.add_argument(*argument.flags, **argument.options)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="etp-admin", description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--env", default="local", help="samconfig.toml environment (default: local)")
    parser.add_argument("--stack", help="stack name (default: the environment's)")
    parser.add_argument("--region")
    parser.add_argument("--endpoint-url", help="AWS API endpoint (default: AWS_ENDPOINT_URL; MiniStack for local)")
    groups = parser.add_subparsers(dest="group", required=True)
    for group in GROUPS:
        commands = groups.add_parser(group.name, help=group.help).add_subparsers(dest="command", required=True)
        for command in group.commands:
            _add_command(commands, command)
    for command in COMMANDS:
        _add_command(groups, command)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; 0 if it did what was asked, 1 (with one line on stderr) if not.

    A reader that closes the pipe early (`etp-admin market show ... | head -1`) ends the command
    quietly, as Python's documentation recommends (signal, "Note on SIGPIPE"): no traceback, the rest
    of the output to /dev/null, exit status 1, as Python's own on EPIPE."""
    try:
        code = _run(build_parser().parse_args(argv))
        sys.stdout.flush()  # a closed pipe shows here, inside the try, rather than at exit
        return code
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        for stream in (sys.stdout, sys.stderr):  # `2>&1 | head -1` closes stderr's pipe too
            os.dup2(devnull, stream.fileno())
        return 1


def _run(args: argparse.Namespace) -> int:
    try:
        stack = stacks.resolve(args.env, stack_name=args.stack, region=args.region, endpoint_url=args.endpoint_url)
        stack.bind_data_layer()
        args.func(stack, args)
    except (stacks.StackNotFound, CommandError) as error:
        print(f"etp-admin: {error}", file=sys.stderr)
        return 1
    return 0
