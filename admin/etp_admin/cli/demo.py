"""etp-admin demo: the demo data of a local stack."""

import argparse
from pathlib import Path

from etp_admin import demo
from etp_admin.cli.common import DEFAULT_NODE, LOCAL_STATE, Command, CommandError, Group, arg
from etp_admin.stack import Stack


def seed(stack: Stack, args: argparse.Namespace) -> None:
    try:
        seeded = demo.seed_stack(stack, Path(args.credentials_dir), node_url=args.node, allow_remote=args.allow_remote)
    except demo.NotLocal as error:
        raise CommandError(str(error)) from None
    for name, outcome in seeded:
        print(f"{name:<16} {outcome}")


GROUP = Group(
    "demo",
    "demo data for a local stack",
    (
        Command(
            "seed",
            seed,
            "create what is missing: demo accounts, platform key, demo meters",
            (
                arg("--credentials-dir", default=str(LOCAL_STATE / "meters")),
                arg("--node", default=DEFAULT_NODE, help="the IOTA node the simulated meters use"),
                arg(
                    "--allow-remote",
                    action="store_true",
                    help="seed a stack that is not local too; only with DEMO_PASSWORD set to a password other "
                    "than the default",
                ),
            ),
        ),
    ),
)
