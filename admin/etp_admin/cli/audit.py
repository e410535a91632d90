"""etp-admin audit: a record's tangle entry, checked against the outbox and the stored data."""

import argparse
import json

from etp.audit import trail as audit
from etp.audit.store import DynamoOutbox
from etp.clock import from_utc_iso, to_utc_iso
from etp.dr.records import dr_result_record
from etp.dr.store import DynamoDrStore
from etp.iota.node import IotaNodeError, NodeClient
from etp.market import bids, records
from etp.market.store import DynamoBidStore
from etp_admin.cli.common import DEFAULT_NODE, JSON_ALREADY, Command, CommandError, Group, arg, print_json, slot_time
from etp_admin.stack import Stack

KINDS = ["dr-result", "sealed-bids", "clearing", "settlement-correction"]


def _recomputed(kind: str, subject: str):
    """(the record rebuilt from the stored data, the hash each covered record carries)."""
    if kind == audit.DR_RESULT:
        return _dr_result(subject)
    if kind == audit.SETTLEMENT_CORRECTION:
        return None, []  # history (the old settlement): nothing to recompute it from
    return _market_record(kind, subject)


def _dr_result(subject: str):
    """(offer `subject`'s DR result record rebuilt, its hash)."""
    offer = DynamoDrStore().get_many([subject]).get(subject)
    if offer is None:
        raise CommandError(f"no DR offer {subject}")
    return dr_result_record(offer), [offer.tx_hash]


def _market_record(kind: str, subject: str):
    """(slot `subject`'s sealed-bids or clearing record rebuilt from its bids, each covered bid's hash)."""
    slot = from_utc_iso(subject)
    store = DynamoBidStore()
    book = store.of_slot(slot)
    state = store.slot_state(slot)
    if kind == audit.SEALED:
        sealed = [b for b in book if b.status != bids.SUBMITTED]
        record = records.sealed_bids_record(slot, sealed, early=state.early, leave=state.sealed_by)
        return record, [b.seal_tx for b in sealed]
    decided = [b for b in book if b.status not in (bids.SUBMITTED, bids.SEALED)]
    return records.clearing_record(slot, decided, leave=state.cleared_by), [b.clear_tx for b in decided]


def _subject(kind: str, given: str) -> str:
    """The record's subject as stored: a slot's start in UTC (a correction's slot too), or an offer's uuid."""
    if kind == audit.DR_RESULT:
        return given
    if kind == audit.SETTLEMENT_CORRECTION:
        slot, _, rest = given.partition("#")
        return f"{to_utc_iso(slot_time(slot, 'slot'))}#{rest}"
    return to_utc_iso(slot_time(given, "slot"))


def show(stack: Stack, args: argparse.Namespace) -> None:
    """A record's tangle entry, checked against the outbox and the data as stored now; exit 1 on a
    mismatch. JSON is this command's only output."""
    subject = _subject(args.kind, args.subject)
    stored = DynamoOutbox().get(f"{args.kind}#{subject}")
    if stored is None:
        raise CommandError(f"no audit record {args.kind}#{subject} (not decided yet, or nothing to record)")
    recomputed, covered = _recomputed(args.kind, subject)
    if recomputed is None:  # a correction: checked against its outbox message only
        body = {k: v for k, v in json.loads(stored.message).items() if k not in ("record", "subject")}
        recomputed, covered = audit.Record(args.kind, subject, body), [stored.tx_hash]
    entry = _tangle_entry(args.node, stored.tx_hash)
    problems = audit.verify(stored.message.encode(), recomputed, stored.tx_hash, entry, covered)
    print_json(
        {
            "record": stored.key,
            "tag": stored.tag.rstrip("9"),
            "address": recomputed.address,
            "recorded_at": stored.created_at,
            "published_at": stored.published_at,
            "transaction": stored.tx_hash,
            "message": json.loads(stored.message),
            "on_tangle": _on_tangle(entry),
            "verified": not problems,
            "problems": problems,
        }
    )
    if problems:
        raise CommandError("the record does not verify")


def _tangle_entry(node: str, tx_hash: str):
    """The tangle's entry of transaction `tx_hash` (None if it has none, or the record is unpublished)."""
    if not tx_hash:
        return None
    try:
        found = audit.read_entries(NodeClient(node), [tx_hash])
    except IotaNodeError as error:
        raise CommandError(f"IOTA node: {error}") from None
    return found[0] if found else None


def _on_tangle(entry) -> dict | None:
    """A tangle entry as `show` prints it."""
    if entry is None:
        return None
    return {
        "address": entry.address,
        "tag": entry.tag.rstrip("9"),
        "message": entry.message.decode("utf-8", "replace") if entry.message else None,
    }


SUBJECT_HELP = (
    "dr-result: the offer's uuid; settlement-correction: <slot>#<reading id>#<n> (as `readings "
    "quarantine` prints it); else the slot's start, ISO-8601 (naive = local)"
)

GROUP = Group(
    "audit",
    "the audit trail on the tangle",
    (
        Command(
            "show",
            show,
            "show a record's tangle entry and verify it against the stored data (JSON; exit 1 if it does not)",
            (
                arg("kind", choices=KINDS),
                arg("subject", help=SUBJECT_HELP),
                arg("--node", default=DEFAULT_NODE, help="the IOTA node the platform writes to"),
                JSON_ALREADY,
            ),
        ),
    ),
)
