"""etp-admin: the operator's command line for a deployed stack.

    etp-admin [--env local|localstack|dev|prod] [--stack NAME] [--region R] [--endpoint-url URL] GROUP COMMAND

Each command group is a module of this package with a table of its commands (`GROUP`); a command is
a function taking (stack, args). Passwords are read from a prompt or, with --password-stdin, from
standard input: never from argv.
"""

import argparse
import sys

from etp_admin import stack as stacks
from etp_admin.cli import accounts, audit, demo, jobs, keys, market, meters, news, readings, simulate
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        stack = stacks.resolve(args.env, stack_name=args.stack, region=args.region, endpoint_url=args.endpoint_url)
        stack.bind_data_layer()
        args.func(stack, args)
    except (stacks.StackNotFound, CommandError) as error:
        print(f"etp-admin: {error}", file=sys.stderr)
        return 1
    return 0
