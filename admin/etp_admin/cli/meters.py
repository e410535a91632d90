"""etp-admin meters: register, list and rate meters, and act as one."""

import argparse
import json
from pathlib import Path

from etp.accounts.store import DynamoUserStore
from etp.clock import local_zone, to_utc_iso, utcnow
from etp.edge.jobs import job_time
from etp.meters import meter_client
from etp.meters import registry as meters
from etp.meters.store import DynamoMeterStore
from etp_admin import keys as platform_key
from etp_admin.cli.common import (
    DEFAULT_NODE,
    JSON_ALREADY,
    LOCAL_STATE,
    Command,
    CommandError,
    Group,
    arg,
    print_json,
    say,
)
from etp_admin.stack import Stack


def register(stack: Stack, args: argparse.Namespace) -> None:
    user = DynamoUserStore().get(args.account)
    if user is None:
        raise CommandError(f"no account {args.account!r}")
    try:
        public_pem = Path(args.public_key).read_text()
    except OSError as error:
        raise CommandError(f"cannot read {args.public_key}: {error.strerror}") from None
    try:
        meter, token = meters.register(
            DynamoMeterStore(),
            user_id=user.id,
            account=user.account,
            name=args.name,
            description=args.description,
            public_key_pem=public_pem,
            now_iso=to_utc_iso(utcnow()),
            rated_kw=meters.DEFAULT_RATED_KW if args.rated_kw is None else args.rated_kw,
        )
    except meters.InvalidPublicKey as error:
        raise CommandError(f"{args.public_key}: {error}") from None
    except meters.InvalidRating as error:
        raise CommandError(f"--rated-kw: {error}") from None
    say("the meter token is shown only now; configure it on the meter")
    print_json(
        {"id": meter.id, "account": meter.account, "name": meter.name, "rated_kw": meter.rated_kw, "token": token}
    )


def set_rating(stack: Stack, args: argparse.Namespace) -> None:
    """Change a meter's rated capacity (kW): readings above it are rejected from then on."""
    try:
        rated_kw = meters.rated_capacity(args.rated_kw)
    except meters.InvalidRating as error:
        raise CommandError(f"--rated-kw: {error}") from None
    if not DynamoMeterStore().set_rated_kw(args.meter_id, rated_kw):
        raise CommandError(f"no meter {args.meter_id!r}")
    print(json.dumps({"id": args.meter_id, "rated_kw": rated_kw}))


def list_meters(stack: Stack, args: argparse.Namespace) -> None:
    """The active meters, as JSON: this command's only output."""
    rows = [
        {
            "id": m.id,
            "account": m.account,
            "name": m.name,
            "description": m.description,
            "rated_kw": m.rated_kw,
            "active": m.active,
            "created_at": m.created_at,
        }
        for m in DynamoMeterStore().all_active()
        if args.account in (None, m.account)
    ]
    print_json(rows)


def publish(stack: Stack, args: argparse.Namespace) -> None:
    """Act as a meter: publish one reading (credentials from .local/meters/<account>.json by default)."""
    path = Path(args.credentials) if args.credentials else LOCAL_STATE / "meters" / f"{args.account}.json"
    try:
        credentials = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise CommandError(f"meter credentials {path}: {error}") from None
    taken_at = job_time({"now": args.at}) if args.at else utcnow()
    values = {}
    for pair in args.value:
        name, _, number = pair.partition("=")
        try:
            values[name] = float(number)
        except ValueError:
            raise CommandError(f"--value {pair!r}: expected name=number") from None
    try:
        platform_pem = platform_key.public_key(stack.client("secretsmanager"), stack.outputs["PlatformKeySecretArn"])
        payload = meter_client.payload_for(args.kind, credentials["account"], values, taken_at, local_zone())
        tx_hash = meter_client.publish(
            api_url=args.api,
            node_url=args.node,
            meter_token=credentials["token"],
            meter_private_pem=credentials["private_key_pem"],
            platform_public_pem=platform_pem,
            payload=payload,
            kind=args.kind,
            taken_at=taken_at,
        )
    except (platform_key.KeyNotInitialised, meter_client.PublishError) as error:
        raise CommandError(str(error)) from None
    print_json({"transaction": tx_hash, "payload": json.loads(payload)})


RATED_KW_HELP = "rated capacity: readings above it are rejected (default 1000 kW)"

GROUP = Group(
    "meters",
    "register, list and exercise meters",
    (
        Command(
            "register",
            register,
            "register a meter of an account; prints its token once",
            (
                arg("account"),
                arg("--name", required=True),
                arg("--description", default=""),
                arg("--public-key", required=True, help="the meter's RSA public key, PEM file"),
                arg("--rated-kw", type=float, help=RATED_KW_HELP),
            ),
        ),
        Command("list", list_meters, "list active meters (JSON)", (arg("--account"), JSON_ALREADY)),
        Command(
            "set-rating",
            set_rating,
            "change a meter's rated capacity",
            (arg("meter_id"), arg("--rated-kw", type=float, required=True)),
        ),
        Command(
            "publish",
            publish,
            "act as a meter: publish one reading",
            (
                arg("--account", default="Carlab_BEMS", help="demo meter credentials of this account"),
                arg("--credentials", help="meter credentials JSON (meter_id, token, private_key_pem, account)"),
                arg("--kind", default="Demand", choices=["Demand", "ESS", "EV", "PV", "WT"]),
                arg("--value", action="append", default=[], metavar="NAME=KW", help="e.g. grid=12.5"),
                arg("--at", help="reading time, ISO-8601 (naive = local); default now"),
                arg("--api", default="http://127.0.0.1:3000"),
                arg("--node", default=DEFAULT_NODE),
            ),
        ),
    ),
)
