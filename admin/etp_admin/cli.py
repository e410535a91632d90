"""etp-admin: the operator's command line for a deployed stack.

    etp-admin [--env local|localstack|dev|prod] [--stack NAME] [--region R] [--endpoint-url URL] GROUP COMMAND

Groups add commands as the platform grows; each command is a function taking (stack, args).
Passwords are read from a prompt or, with --password-stdin, from standard input: never argv.
"""

import argparse
import getpass
import json
import sys
from collections.abc import Callable

from etp_admin import stack as stacks


class CommandError(Exception):
    pass


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise CommandError("passwords differ")
    if not 8 <= len(password) <= 256:
        raise CommandError("a password has 8 to 256 characters")
    return password


def accounts_create(stack: stacks.Stack, args: argparse.Namespace) -> None:
    from etp import accounts
    from etp.clock import utcnow
    from etp.users_table import DynamoUserStore

    spec = accounts.NewAccount(
        account=args.account, username=args.username or args.account, password=_read_password(args),
        is_aggregator=args.aggregator, address=args.address, avatar=args.avatar, eth_address=args.eth_address,
    )
    try:
        user = accounts.create_account(DynamoUserStore(), None, spec, utcnow())
    except accounts.AccountExists:
        raise CommandError(f"account {args.account!r} already exists") from None
    print(json.dumps({"id": user.id, "account": user.account, "is_aggregator": user.is_aggregator}))


def accounts_list(stack: stacks.Stack, args: argparse.Namespace) -> None:
    from etp.users_table import DynamoUserStore

    rows = [
        {"id": u.id, "account": u.account, "username": u.username, "is_aggregator": u.is_aggregator,
         "created_at": u.created_at}
        for u in DynamoUserStore().all()
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'account':<24} {'aggregator':<10} {'id':<36} created_at")
    for row in rows:
        print(f"{row['account']:<24} {'yes' if row['is_aggregator'] else 'no':<10} {row['id']:<36} {row['created_at']}")


def accounts_reset_password(stack: stacks.Stack, args: argparse.Namespace) -> None:
    from etp import accounts
    from etp.users_table import DynamoUserStore

    try:
        accounts.reset_password(DynamoUserStore(), args.account, _read_password(args))
    except accounts.InvalidCredentials:
        raise CommandError(f"no account {args.account!r}") from None
    print(f"password of {args.account} reset; its existing bearers are revoked")


def demo_seed(stack: stacks.Stack, args: argparse.Namespace) -> None:
    from etp.users_table import DynamoUserStore
    from etp_admin import demo

    for account, outcome in demo.seed_accounts(DynamoUserStore(), demo.demo_password()).items():
        print(f"{account:<16} {outcome}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="etp-admin", description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="local", help="samconfig.toml environment (default: local)")
    parser.add_argument("--stack", help="stack name (default: the environment's)")
    parser.add_argument("--region")
    parser.add_argument("--endpoint-url", help="AWS API endpoint (default: AWS_ENDPOINT_URL; MiniStack for local)")
    groups = parser.add_subparsers(dest="group", required=True)

    def command(group, name: str, func: Callable, help_text: str) -> argparse.ArgumentParser:
        sub = group.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(func=func)
        return sub

    accounts = groups.add_parser("accounts", help="create, list and reset accounts").add_subparsers(
        dest="command", required=True)
    create = command(accounts, "create", accounts_create, "create an account (prompts for its password)")
    create.add_argument("account")
    create.add_argument("--username")
    create.add_argument("--aggregator", action="store_true")
    create.add_argument("--address", default="")
    create.add_argument("--avatar", default="")
    create.add_argument("--eth-address", default="")
    create.add_argument("--password-stdin", action="store_true")
    listing = command(accounts, "list", accounts_list, "list every account")
    listing.add_argument("--json", action="store_true")
    reset = command(accounts, "reset-password", accounts_reset_password,
                    "set a new password and revoke the account's bearers")
    reset.add_argument("account")
    reset.add_argument("--password-stdin", action="store_true")

    demo = groups.add_parser("demo", help="demo data for a local stack").add_subparsers(dest="command", required=True)
    command(demo, "seed", demo_seed, "create the demo accounts that are missing (DEMO_PASSWORD)")
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


if __name__ == "__main__":
    sys.exit(main())
