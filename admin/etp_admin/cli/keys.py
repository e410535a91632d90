"""etp-admin keys: the platform's RSA key pair, which meters encrypt their readings to."""

import argparse

from etp_admin import keys as platform_key
from etp_admin.cli.common import Command, CommandError, Group, arg, say
from etp_admin.stack import Stack


def init(stack: Stack, args: argparse.Namespace) -> None:
    public_pem, created = platform_key.init(
        stack.client("secretsmanager"), stack.outputs["PlatformKeySecretArn"], rotate=args.rotate
    )
    say("platform key pair created" if created else "platform key pair already exists")
    print(public_pem, end="")


def public(stack: Stack, args: argparse.Namespace) -> None:
    try:
        print(platform_key.public_key(stack.client("secretsmanager"), stack.outputs["PlatformKeySecretArn"]), end="")
    except platform_key.KeyNotInitialised as error:
        raise CommandError(str(error)) from None


GROUP = Group(
    "keys",
    "the platform's RSA key pair",
    (
        Command(
            "init",
            init,
            "create the key pair once; prints the public key",
            (
                arg(
                    "--rotate", action="store_true", help="replace an existing key pair (meters must be re-provisioned)"
                ),
            ),
        ),
        Command("public", public, "print the public key (PEM) for provisioning meters"),
    ),
)
