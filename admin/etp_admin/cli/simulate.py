"""etp-admin simulate: run a simulator's function now."""

import argparse
import json

from etp_admin.cli.common import Command, CommandError, Group, arg, print_json
from etp_admin.stack import Stack

FUNCTIONS = {"power": "PowerSimulatorFunctionName", "bids": "BidSimulatorFunctionName"}


def simulate(stack: Stack, args: argparse.Namespace) -> None:
    """Run a simulator's function now, optionally as of an explicit time or for one building."""
    event = {key: value for key, value in (("now", args.now), ("building", args.building)) if value}
    answer = stack.client("lambda").invoke(
        FunctionName=stack.outputs[FUNCTIONS[args.kind]], Payload=json.dumps(event).encode()
    )
    result = json.loads(answer["Payload"].read() or b"null")
    print_json(result)
    if answer.get("FunctionError") or not isinstance(result, dict) or result.get("status") != "ok":
        raise CommandError(f"the {args.kind} simulator did not run")
    if result.get("failed"):
        raise CommandError(f"buildings failed: {', '.join(result['failed'])}")


ARGS = (
    arg("--now", help="as of this time, ISO-8601 (naive = local time)"),
    arg("--building", help="only this account"),
)

GROUP = Group(
    "simulate",
    "run a simulator now",
    (
        Command("power", simulate, "the meters publish their historical readings of now", ARGS, {"kind": "power"}),
        Command("bids", simulate, "the buildings bid every hour of the next local day", ARGS, {"kind": "bids"}),
    ),
)
