"""etp-admin jobs: run a scheduled job's function now."""

import argparse
import json

from etp.market.slots import MAX_REASON, BadLeave, early_leave
from etp_admin.cli.common import SLOT_HELP, Command, CommandError, Group, arg, operator, print_json
from etp_admin.stack import Stack

# job -> the stack output naming the function that runs it
JOBS = {
    "tracker": "TrackerFunctionName",
    "addresses": "AddressesFunctionName",
    "seal": "MarketJobsFunctionName",
    "clear": "MarketJobsFunctionName",
    "deliver": "MarketJobsFunctionName",
    "settle": "MarketJobsFunctionName",
    "audit": "AuditFunctionName",
    "dr-close": "DrJobsFunctionName",
}


# the job's rule (etp.market.slots.early_leave) in the command line's words
_REFUSALS = {
    "unasked": "--reason is for --early (a seal or clear before the slot's gate)",
    "job": "--early is for seal and clear",
    "reason": f"--early needs --reason: say why, in 1 to {MAX_REASON} characters",
}


def _early(stack: Stack, args: argparse.Namespace) -> dict[str, object]:
    """The event's leave for an early seal or clear: `early`, the operator (the caller's AWS identity)
    and the reason, which --early requires; nothing without --early. CommandError before anything
    is invoked."""
    early = True if args.early else None
    try:
        leave = early_leave(args.job, early, operator(stack) if early else None, args.reason)
    except BadLeave as bad:
        raise CommandError(_REFUSALS.get(bad.part, str(bad))) from None
    if leave is None:
        return {}
    # the job logs who and why, and records both on the slot and in its audit record
    return {"early": True, "operator": leave.by, "reason": leave.reason}


def run(stack: Stack, args: argparse.Namespace) -> None:
    """Invoke a scheduled job's function now, optionally as of an explicit time."""
    event = _event(args)
    event.update(_early(stack, args))
    answer = stack.client("lambda").invoke(
        FunctionName=stack.outputs[JOBS[args.job]], Payload=json.dumps(event).encode()
    )
    result = json.loads(answer["Payload"].read() or b"null")
    print_json(result)
    _check_outcome(args.job, answer, result)


def _event(args: argparse.Namespace) -> dict[str, object]:
    """The job's event without its leave: the explicit time, and a market job's name and slot."""
    event: dict[str, object] = {"now": args.now} if args.now else {}
    if JOBS[args.job] == "MarketJobsFunctionName":
        event["job"] = args.job
        if args.slot:
            event["slot"] = args.slot
    elif args.slot:
        raise CommandError("--slot is for the market jobs (seal, clear, deliver, settle)")
    return event


def _check_outcome(job: str, answer: dict, result: object) -> None:
    """CommandError unless the job ran and answered `ok`: refused (its error said), or not complete."""
    if isinstance(result, dict) and result.get("status") == "rejected":
        raise CommandError(f"job {job} refused: {result.get('error')}")
    if answer.get("FunctionError") or (isinstance(result, dict) and result.get("status") != "ok"):
        raise CommandError(f"job {job} did not complete")


GROUP = Group(
    "jobs",
    "run a scheduled job now",
    (
        Command(
            "run",
            run,
            "invoke a scheduled job's function",
            (
                arg("job", choices=sorted(JOBS)),
                arg("--now", help="run as of this time, ISO-8601 (naive = local time)"),
                arg("--slot", help=f"market jobs: {SLOT_HELP}"),
                arg(
                    "--early",
                    action="store_true",
                    help="seal, clear: before the slot's gate (needs --reason; logged, recorded)",
                ),
                arg(
                    "--reason",
                    help="with --early: why, 1-500 characters "
                    "(recorded with your AWS identity on the slot and the tangle)",
                ),
            ),
        ),
    ),
)
