"""etp-admin accounts: create, list, reset a password, sign an account out everywhere."""

import argparse
import json

from etp.accounts import service as accounts
from etp.accounts.attempts_store import DynamoLoginAttempts
from etp.accounts.store import DynamoUserStore
from etp.clock import utcnow
from etp_admin.cli.common import JSON, Command, CommandError, Group, arg, print_json, read_password
from etp_admin.stack import Stack


def create(stack: Stack, args: argparse.Namespace) -> None:
    spec = accounts.NewAccount(
        account=args.account,
        username=args.username or args.account,
        password=read_password(args),
        is_aggregator=args.aggregator,
        address=args.address,
        avatar=args.avatar,
        eth_address=args.eth_address,
    )
    try:
        user = accounts.create_account(DynamoUserStore(), None, spec, utcnow())
    except accounts.AccountExists:
        raise CommandError(f"account {args.account!r} already exists") from None
    print(json.dumps({"id": user.id, "account": user.account, "is_aggregator": user.is_aggregator}))


def list_accounts(stack: Stack, args: argparse.Namespace) -> None:
    rows = [
        {
            "id": u.id,
            "account": u.account,
            "username": u.username,
            "is_aggregator": u.is_aggregator,
            "created_at": u.created_at,
        }
        for u in DynamoUserStore().all()
    ]
    if args.json:
        print_json(rows)
        return
    print(f"{'account':<24} {'aggregator':<10} {'id':<36} created_at")
    for row in rows:
        print(f"{row['account']:<24} {'yes' if row['is_aggregator'] else 'no':<10} {row['id']:<36} {row['created_at']}")


def reset_password(stack: Stack, args: argparse.Namespace) -> None:
    try:
        _, forgotten = accounts.reset_password(
            DynamoUserStore(), args.account, read_password(args), trust=DynamoLoginAttempts()
        )
    except accounts.InvalidCredentials:
        raise CommandError(f"no account {args.account!r}") from None
    print(f"password of {args.account} reset; its existing bearers are revoked; {_trust_forgotten(forgotten)}")


def revoke_sessions(stack: Stack, args: argparse.Namespace) -> None:
    try:
        _, forgotten = accounts.revoke_sessions(DynamoUserStore(), args.account, trust=DynamoLoginAttempts())
    except accounts.InvalidCredentials:
        raise CommandError(f"no account {args.account!r}") from None
    print(f"every session of {args.account} is signed out: its bearers are revoked; {_trust_forgotten(forgotten)}")


def _trust_forgotten(count: int) -> str:
    return f'{count} trusted address{"" if count == 1 else "es"} forgotten (see README "Login policy")'


PASSWORD_STDIN = arg("--password-stdin", action="store_true")

GROUP = Group(
    "accounts",
    "create, list and reset accounts",
    (
        Command(
            "create",
            create,
            "create an account (prompts for its password)",
            (
                arg("account"),
                arg("--username"),
                arg("--aggregator", action="store_true"),
                arg("--address", default=""),
                arg("--avatar", default=""),
                arg("--eth-address", default=""),
                PASSWORD_STDIN,
            ),
        ),
        Command("list", list_accounts, "list every account", (JSON,)),
        Command(
            "reset-password",
            reset_password,
            "set a new password, revoke the account's bearers and forget the addresses it is trusted from",
            (arg("account"), PASSWORD_STDIN),
        ),
        Command(
            "revoke-sessions",
            revoke_sessions,
            "sign the account out everywhere: revoke all its bearers, forget the addresses it is trusted from",
            (arg("account"),),
        ),
    ),
)
