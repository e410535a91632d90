"""etp-admin: the operator's command line for a deployed stack.

    etp-admin [--env local|localstack|dev|prod] [--stack NAME] [--region R] [--endpoint-url URL] GROUP COMMAND

Each command is a function taking (stack, args); groups grow with the platform. Passwords are
read from a prompt or, with --password-stdin, from standard input: never from argv.
"""

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from pathlib import Path

from etp_admin import stack as stacks

LOCAL_STATE = Path(__file__).resolve().parents[3] / ".local"


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


def _print_json(document) -> None:
    print(json.dumps(document, indent=2, ensure_ascii=False))


# --- accounts -------------------------------------------------------------------------------


def accounts_create(stack: stacks.Stack, args: argparse.Namespace) -> None:
    from etp.accounts import service as accounts
    from etp.accounts.store import DynamoUserStore
    from etp.clock import utcnow

    spec = accounts.NewAccount(
        account=args.account,
        username=args.username or args.account,
        password=_read_password(args),
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


def accounts_list(stack: stacks.Stack, args: argparse.Namespace) -> None:
    from etp.accounts.store import DynamoUserStore

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
        _print_json(rows)
        return
    print(f"{'account':<24} {'aggregator':<10} {'id':<36} created_at")
    for row in rows:
        print(f"{row['account']:<24} {'yes' if row['is_aggregator'] else 'no':<10} {row['id']:<36} {row['created_at']}")


def accounts_reset_password(stack: stacks.Stack, args: argparse.Namespace) -> None:
    from etp.accounts import service as accounts
    from etp.accounts.attempts_store import DynamoLoginAttempts
    from etp.accounts.store import DynamoUserStore

    try:
        _, forgotten = accounts.reset_password(
            DynamoUserStore(), args.account, _read_password(args), trust=DynamoLoginAttempts()
        )
    except accounts.InvalidCredentials:
        raise CommandError(f"no account {args.account!r}") from None
    print(f"password of {args.account} reset; its existing bearers are revoked; {_trust_forgotten(forgotten)}")


def accounts_revoke_sessions(stack: stacks.Stack, args: argparse.Namespace) -> None:
    from etp.accounts import service as accounts
    from etp.accounts.attempts_store import DynamoLoginAttempts
    from etp.accounts.store import DynamoUserStore

    try:
        _, forgotten = accounts.revoke_sessions(DynamoUserStore(), args.account, trust=DynamoLoginAttempts())
    except accounts.InvalidCredentials:
        raise CommandError(f"no account {args.account!r}") from None
    print(f"every session of {args.account} is signed out: its bearers are revoked; {_trust_forgotten(forgotten)}")


def _trust_forgotten(count: int) -> str:
    return f'{count} trusted address{"" if count == 1 else "es"} forgotten (see README "Login policy")'


# --- platform key ---------------------------------------------------------------------------


def keys_init(stack: stacks.Stack, args: argparse.Namespace) -> None:
    from etp_admin import keys

    public_pem, created = keys.init(
        stack.client("secretsmanager"), stack.outputs["PlatformKeySecretArn"], rotate=args.rotate
    )
    print("platform key pair created" if created else "platform key pair already exists", file=sys.stderr)
    print(public_pem, end="")


def keys_public(stack: stacks.Stack, args: argparse.Namespace) -> None:
    from etp_admin import keys

    try:
        print(keys.public_key(stack.client("secretsmanager"), stack.outputs["PlatformKeySecretArn"]), end="")
    except keys.KeyNotInitialised as error:
        raise CommandError(str(error)) from None


# --- meters ---------------------------------------------------------------------------------


def meters_register(stack: stacks.Stack, args: argparse.Namespace) -> None:
    from etp.accounts.store import DynamoUserStore
    from etp.clock import to_utc_iso, utcnow
    from etp.meters import registry as meters
    from etp.meters.store import DynamoMeterStore

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
    print("the meter token is shown only now; configure it on the meter", file=sys.stderr)
    _print_json(
        {"id": meter.id, "account": meter.account, "name": meter.name, "rated_kw": meter.rated_kw, "token": token}
    )


def meters_set_rating(stack: stacks.Stack, args: argparse.Namespace) -> None:
    """Change a meter's rated capacity (kW): readings above it are rejected from then on."""
    from etp.meters import registry as meters
    from etp.meters.store import DynamoMeterStore

    try:
        rated_kw = meters.rated_capacity(args.rated_kw)
    except meters.InvalidRating as error:
        raise CommandError(f"--rated-kw: {error}") from None
    if not DynamoMeterStore().set_rated_kw(args.meter_id, rated_kw):
        raise CommandError(f"no meter {args.meter_id!r}")
    print(json.dumps({"id": args.meter_id, "rated_kw": rated_kw}))


def meters_list(stack: stacks.Stack, args: argparse.Namespace) -> None:
    from etp.meters.store import DynamoMeterStore

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
    _print_json(rows)


def meters_publish(stack: stacks.Stack, args: argparse.Namespace) -> None:
    """Act as a meter: publish one reading (credentials from .local/meters/<account>.json by default)."""
    from etp.clock import local_zone, utcnow
    from etp.edge.jobs import job_time
    from etp.meters import meter_client
    from etp_admin import keys

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
        platform_pem = keys.public_key(stack.client("secretsmanager"), stack.outputs["PlatformKeySecretArn"])
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
    except (keys.KeyNotInitialised, meter_client.PublishError) as error:
        raise CommandError(str(error)) from None
    _print_json({"transaction": tx_hash, "payload": json.loads(payload)})


# --- readings -------------------------------------------------------------------------------

READING_ID = "the reading's id (the `id` /power_info shows) or its transaction's hash (81 trytes)"


def _find_reading(admin, key: str):
    record = admin.record(key)
    if record is None:
        raise CommandError(f"no stored reading {key!r}: give {READING_ID}")
    return record


def _reading_json(record, *, log: bool = False) -> dict:
    from etp.clock import local_zone, to_utc_iso

    reading = record.reading
    document = {
        "id": reading.id,
        "taken_at": to_utc_iso(reading.taken_at),
        "local_time": reading.taken_at.astimezone(local_zone()).strftime("%Y/%m/%d %H:%M:%S"),
        "meter_id": reading.meter_id,
        "data_type": reading.data_type,
        "power_kw": reading.power_kw,
        "values": record.values,
        "transaction": reading.tx_hash,
        "stored_at": record.stored_at,
        "quarantined_at": record.quarantined_at,
        "quarantine_reason": record.quarantine_reason,
        "quarantined_by": record.quarantined_by,
    }
    return {**document, "log": record.log} if log else document


def _operator(stack: stacks.Stack) -> str:
    """Who acts, for the record: the AWS principal of the credentials in use, else the OS user."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return stack.client("sts").get_caller_identity()["Arn"]
    except (BotoCoreError, ClientError, KeyError):
        return f"os-user:{getpass.getuser()}"


def _corrected(admin, reading) -> dict:
    """Re-settle the settled slot the reading counts in, as its last quarantine or release leaves it
    (etp.market.settlement.correct; a repeat finishes a correction that died half way, or changes
    nothing), say so, and answer the reading with `settlement_corrections` (the slots corrected)."""
    from etp.audit.store import DynamoOutbox
    from etp.clock import local_zone, utcnow
    from etp.market import settlement
    from etp.market.store import DynamoBidStore
    from etp.meters.readings import Overlay
    from etp.meters.readings_store import DynamoReadingStore

    record = _find_reading(admin, reading.id)
    document = _reading_json(record, log=True)
    if not record.log:
        return {**document, "settlement_corrections": []}
    # the index may not show the change yet: read the readings as they are once it does
    hidden = record.quarantined
    readings = Overlay(
        DynamoReadingStore(),
        include=() if hidden else (record.reading,),
        exclude=frozenset({reading.id}) if hidden else frozenset(),
    )
    event = (record.log[-1]["action"], len(record.log))
    found = settlement.correct(
        DynamoBidStore(), readings, DynamoOutbox(), record.reading, event, utcnow(), local_zone()
    )
    corrections = [] if found is None or not found.changes else [found.as_dict()]
    _say_corrected(found)
    return {**document, "settlement_corrections": corrections}


def _say_corrected(found) -> None:
    from etp.clock import local_zone

    if found is None:
        print("the reading's slot is not settled: settlement will count it as it is now", file=sys.stderr)
        return
    slot = f"{found.slot.astimezone(local_zone()):%Y/%m/%d %H:00} (local)"
    if not found.changes:
        print(f"settled slot {slot}: its settlement already agrees, nothing to correct", file=sys.stderr)
        return
    old = sum(c.old[1] or 0 for c in found.changes) / 1000
    new = sum(c.new[1] or 0 for c in found.changes) / 1000
    record = "written" if found.recorded else "already there"
    print(
        f"settled slot {slot} corrected: {len(found.changes)} pairs re-settled, NT$ {old:g} -> NT$ {new:g} "
        f"(audit record {record})",
        file=sys.stderr,
    )


def readings_list(stack: stacks.Stack, args: argparse.Namespace) -> None:
    """A building's readings of one local day, oldest first, quarantined ones included and marked."""
    from datetime import date

    from etp.accounts.store import DynamoUserStore
    from etp.clock import day_bounds, local_zone, supported_day, utcnow
    from etp.meters.readings_store import DynamoReadingAdmin

    user = DynamoUserStore().get(args.account)
    if user is None:
        raise CommandError(f"no account {args.account!r}")
    try:
        day = date.fromisoformat(args.day) if args.day else utcnow().astimezone(local_zone()).date()
    except ValueError:
        raise CommandError(f"--day {args.day!r}: expected a local day, YYYY-MM-DD") from None
    if not supported_day(day):
        raise CommandError(f"--day {args.day!r}: out of range")
    records = DynamoReadingAdmin().window(user.id, *day_bounds(day, local_zone()))
    rows = [_reading_json(r) for r in records if args.meter in (None, r.reading.meter_id)]
    if args.json:
        _print_json(rows)
        return
    print(f"{day} (local) {args.account}: {len(rows)} readings")
    print(f"{'time':<8} {'type':<8} {'kW':>10}  {'status':<11}  {'id':<36}  meter")
    for row in rows:
        status = "QUARANTINED" if row["quarantined_at"] else "ok"
        print(
            f"{row['local_time'][-8:]:<8} {row['data_type']:<8} {row['power_kw']:>10g}  {status:<11}  "
            f"{row['id']:<36}  {row['meter_id']}" + (f"  ({row['quarantine_reason']})" if row["quarantined_at"] else "")
        )


def readings_show(stack: stacks.Stack, args: argparse.Namespace) -> None:
    from etp.meters.readings_store import DynamoReadingAdmin

    _print_json(_reading_json(_find_reading(DynamoReadingAdmin(), args.id), log=True))


def readings_quarantine(stack: stacks.Stack, args: argparse.Namespace) -> None:
    """Hide a stored reading from /power_info, settlement and the DR baseline (it stays for audit), and
    settle its slot again if it was settled."""
    from etp.clock import utcnow
    from etp.meters.readings_store import DynamoReadingAdmin

    reason = args.reason.strip()
    if not 1 <= len(reason) <= 500:
        raise CommandError("--reason: say why, in 1 to 500 characters")
    admin = DynamoReadingAdmin()
    reading = _find_reading(admin, args.id).reading
    by = _operator(stack)
    if admin.quarantine(reading, reason=reason, by=by, now=utcnow()):
        print(
            f"reading {reading.id} quarantined by {by}: {reason}. It no longer counts in /power_info, settlement "
            "or demand response (DR rates already recorded stay as they are).",
            file=sys.stderr,
        )
    else:
        print(f"reading {reading.id} was already quarantined: nothing changed", file=sys.stderr)
    _print_json(_corrected(admin, reading))


def readings_release(stack: stacks.Stack, args: argparse.Namespace) -> None:
    """Undo a quarantine: the reading counts again (a settled slot is settled again)."""
    from etp.clock import utcnow
    from etp.meters.readings_store import DynamoReadingAdmin

    admin = DynamoReadingAdmin()
    reading = _find_reading(admin, args.id).reading
    by = _operator(stack)
    reason = (args.reason or "").strip() or None
    if admin.release(reading, by=by, now=utcnow(), reason=reason):
        print(f"reading {reading.id} released by {by}: it counts again", file=sys.stderr)
    else:
        print(f"reading {reading.id} is not quarantined: nothing changed", file=sys.stderr)
    _print_json(_corrected(admin, reading))


def readings_rollup_backfill(stack: stacks.Stack, args: argparse.Namespace) -> None:
    """Compute the energy rollups (/power_info's chart, summary and table counts) of every stored
    reading: once, after upgrading from a version without rollups (`make run` does it). Idempotent."""
    from etp.meters.readings_store import backfill_rollups

    days = backfill_rollups(force=args.force)
    if days is None:
        print("rollups already backfilled: nothing to do (--force recomputes them)", file=sys.stderr)
    else:
        print(f"rollups of {days} user-days computed from the stored readings", file=sys.stderr)


def readings_backfill_indexes(stack: stacks.Stack, args: argparse.Namespace) -> None:
    """Give readings stored before the `by-user-hour` index their key (idempotent; `make run` does it)."""
    from etp.meters.readings_store import backfill_hour_keys

    print(json.dumps({"updated": backfill_hour_keys()}))


# --- jobs -----------------------------------------------------------------------------------

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


def _early(stack: stacks.Stack, args: argparse.Namespace) -> dict[str, object]:
    """The event's leave for an early seal or clear: `early`, the operator (the caller's AWS identity)
    and the reason, which --early requires; nothing without --early. CommandError before anything
    is invoked."""
    from etp.market.slots import MAX_REASON

    if not args.early:
        if args.reason is not None:
            raise CommandError("--reason is for --early (a seal or clear before the slot's gate)")
        return {}
    if args.job not in ("seal", "clear"):
        raise CommandError("--early is for seal and clear")
    reason = (args.reason or "").strip()
    if not 1 <= len(reason) <= MAX_REASON:
        raise CommandError(f"--early needs --reason: say why, in 1 to {MAX_REASON} characters")
    # the job logs who and why, and records both on the slot and in its audit record
    return {"early": True, "operator": _operator(stack), "reason": reason}


def jobs_run(stack: stacks.Stack, args: argparse.Namespace) -> None:
    """Invoke a scheduled job's function now, optionally as of an explicit time."""
    event: dict[str, object] = {"now": args.now} if args.now else {}
    if JOBS[args.job] == "MarketJobsFunctionName":
        event["job"] = args.job
        if args.slot:
            event["slot"] = args.slot
    elif args.slot:
        raise CommandError("--slot is for the market jobs (seal, clear, deliver, settle)")
    event.update(_early(stack, args))
    answer = stack.client("lambda").invoke(
        FunctionName=stack.outputs[JOBS[args.job]], Payload=json.dumps(event).encode()
    )
    result = json.loads(answer["Payload"].read() or b"null")
    _print_json(result)
    if isinstance(result, dict) and result.get("status") == "rejected":
        raise CommandError(f"job {args.job} refused: {result.get('error')}")
    if answer.get("FunctionError") or (isinstance(result, dict) and result.get("status") != "ok"):
        raise CommandError(f"job {args.job} did not complete")


# --- news and the market's outcome ----------------------------------------------------------


def news_publish(stack: stacks.Stack, args: argparse.Namespace) -> None:
    from etp.clock import utcnow
    from etp.market.news import DynamoNews

    try:
        item = DynamoNews().publish(args.content, utcnow())
    except ValueError as error:
        raise CommandError(str(error)) from None
    print(json.dumps({"id": item.id, "published_at": item.published_at.isoformat()}))


def market_show(stack: stacks.Stack, args: argparse.Namespace) -> None:
    """A slot's order book, clearing and statuses, as an operator needs to see them."""
    from etp.clock import local_zone
    from etp.edge.jobs import BadJobEvent, job_time
    from etp.market.jobs import outcome
    from etp.market.store import DynamoBidStore

    try:
        slot = job_time({"now": args.slot})
    except BadJobEvent as error:
        raise CommandError(f"--slot: {error}") from None
    book = sorted(
        DynamoBidStore().of_slot(slot),
        key=lambda b: (b.side, -b.price_milli if b.side == "buy" else b.price_milli, b.id),
    )
    zone = local_zone()
    print(f"slot {slot.astimezone(zone):%Y/%m/%d %H:00} (local)  {len(book)} bids")
    print(f"{'side':<5} {'account':<16} {'kWh':>9} {'NT$/kWh':>8} {'status':<4} {'filled kWh':>10}  pairs")
    for bid in book:
        pairs = ", ".join(
            f"{p.counterpart} {p.volume_wh / 1000:g} kWh"
            + (f" ach {p.achievement} = NT$ {p.settlement_milli / 1000:g}" if p.settlement_milli is not None else "")
            for p in bid.pairs
        )
        print(
            f"{bid.side:<5} {bid.account:<16} {bid.volume_wh / 1000:>9g} {bid.price_milli / 1000:>8g} "
            f"{bid.status:<4} {bid.fill_wh / 1000:>10g}  {pairs}"
        )
    cleared = outcome(book)
    if cleared["price_milli"] is None:
        print("not cleared (yet), or nothing crossed")
        return
    print(f"Q* = {cleared['volume_wh'] / 1000:g} kWh   p* = {cleared['price_milli'] / 1000:g} NT$/kWh")


def market_backfill_indexes(stack: stacks.Stack, args: argparse.Namespace) -> None:
    """Give bids stored before the `by-user-week` index their key, and put won bids stored before the
    latest-wins lists on their owners' lists (idempotent)."""
    from etp.market.store import DynamoBidStore

    store = DynamoBidStore()
    print(json.dumps({"updated": store.backfill_index_keys(), "win_lists": store.backfill_latest_wins()}))


# --- the audit trail ------------------------------------------------------------------------


def _recomputed(kind: str, subject: str):
    """(the record rebuilt from the stored data, the hash each covered record carries)."""
    from etp.audit import trail as audit
    from etp.clock import from_utc_iso
    from etp.dr.records import dr_result_record
    from etp.dr.store import DynamoDrStore
    from etp.market import bids, records
    from etp.market.store import DynamoBidStore

    if kind == audit.DR_RESULT:
        offer = DynamoDrStore().get_many([subject]).get(subject)
        if offer is None:
            raise CommandError(f"no DR offer {subject}")
        return dr_result_record(offer), [offer.tx_hash]
    if kind == audit.SETTLEMENT_CORRECTION:
        return None, []  # history (the old settlement): nothing to recompute it from
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


def audit_show(stack: stacks.Stack, args: argparse.Namespace) -> None:
    """A record's tangle entry, checked against the outbox and the data as stored now; exit 1 on a mismatch."""
    from etp.audit import trail as audit
    from etp.audit.store import DynamoOutbox
    from etp.clock import to_utc_iso
    from etp.edge.jobs import BadJobEvent, job_time
    from etp.iota.node import IotaNodeError, NodeClient

    subject = args.subject
    if args.kind == audit.SETTLEMENT_CORRECTION:
        slot, _, rest = subject.partition("#")
        try:
            subject = f"{to_utc_iso(job_time({'now': slot}))}#{rest}"
        except BadJobEvent as error:
            raise CommandError(f"slot: {error}") from None
    elif args.kind != audit.DR_RESULT:
        try:
            subject = to_utc_iso(job_time({"now": args.subject}))
        except BadJobEvent as error:
            raise CommandError(f"slot: {error}") from None
    stored = DynamoOutbox().get(f"{args.kind}#{subject}")
    if stored is None:
        raise CommandError(f"no audit record {args.kind}#{subject} (not decided yet, or nothing to record)")
    recomputed, covered = _recomputed(args.kind, subject)
    if recomputed is None:  # a correction: checked against its outbox message only
        body = {k: v for k, v in json.loads(stored.message).items() if k not in ("record", "subject")}
        recomputed, covered = audit.Record(args.kind, subject, body), [stored.tx_hash]
    entry = None
    if stored.tx_hash:
        try:
            found = audit.read_entries(NodeClient(args.node), [stored.tx_hash])
        except IotaNodeError as error:
            raise CommandError(f"IOTA node: {error}") from None
        entry = found[0] if found else None
    problems = audit.verify(stored.message.encode(), recomputed, stored.tx_hash, entry, covered)
    _print_json(
        {
            "record": stored.key,
            "tag": stored.tag.rstrip("9"),
            "address": recomputed.address,
            "recorded_at": stored.created_at,
            "published_at": stored.published_at,
            "transaction": stored.tx_hash,
            "message": json.loads(stored.message),
            "on_tangle": None
            if entry is None
            else {
                "address": entry.address,
                "tag": entry.tag.rstrip("9"),
                "message": entry.message.decode("utf-8", "replace") if entry.message else None,
            },
            "verified": not problems,
            "problems": problems,
        }
    )
    if problems:
        raise CommandError("the record does not verify")


# --- demo -----------------------------------------------------------------------------------


def simulate(stack: stacks.Stack, args: argparse.Namespace) -> None:
    """Run a simulator's function now, optionally as of an explicit time or for one building."""
    event = {key: value for key, value in (("now", args.now), ("building", args.building)) if value}
    function = stack.outputs["PowerSimulatorFunctionName" if args.kind == "power" else "BidSimulatorFunctionName"]
    answer = stack.client("lambda").invoke(FunctionName=function, Payload=json.dumps(event).encode())
    result = json.loads(answer["Payload"].read() or b"null")
    _print_json(result)
    if answer.get("FunctionError") or not isinstance(result, dict) or result.get("status") != "ok":
        raise CommandError(f"the {args.kind} simulator did not run")
    if result.get("failed"):
        raise CommandError(f"buildings failed: {', '.join(result['failed'])}")


def demo_seed(stack: stacks.Stack, args: argparse.Namespace) -> None:
    from etp_admin import demo

    try:
        seeded = demo.seed_stack(stack, Path(args.credentials_dir), node_url=args.node, allow_remote=args.allow_remote)
    except demo.NotLocal as error:
        raise CommandError(str(error)) from None
    for name, outcome in seeded:
        print(f"{name:<16} {outcome}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="etp-admin", description=__doc__.split("\n")[0])
    parser.add_argument("--env", default="local", help="samconfig.toml environment (default: local)")
    parser.add_argument("--stack", help="stack name (default: the environment's)")
    parser.add_argument("--region")
    parser.add_argument("--endpoint-url", help="AWS API endpoint (default: AWS_ENDPOINT_URL; MiniStack for local)")
    groups = parser.add_subparsers(dest="group", required=True)

    def group(name: str, help_text: str):
        return groups.add_parser(name, help=help_text).add_subparsers(dest="command", required=True)

    def command(parent, name: str, func: Callable, help_text: str) -> argparse.ArgumentParser:
        sub = parent.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(func=func)
        return sub

    accounts = group("accounts", "create, list and reset accounts")
    create = command(accounts, "create", accounts_create, "create an account (prompts for its password)")
    create.add_argument("account")
    create.add_argument("--username")
    create.add_argument("--aggregator", action="store_true")
    create.add_argument("--address", default="")
    create.add_argument("--avatar", default="")
    create.add_argument("--eth-address", default="")
    create.add_argument("--password-stdin", action="store_true")
    command(accounts, "list", accounts_list, "list every account").add_argument("--json", action="store_true")
    reset = command(
        accounts,
        "reset-password",
        accounts_reset_password,
        "set a new password, revoke the account's bearers and forget the addresses it is trusted from",
    )
    reset.add_argument("account")
    revoke = command(
        accounts,
        "revoke-sessions",
        accounts_revoke_sessions,
        "sign the account out everywhere: revoke all its bearers, forget the addresses it is trusted from",
    )
    revoke.add_argument("account")
    reset.add_argument("--password-stdin", action="store_true")

    keys = group("keys", "the platform's RSA key pair")
    command(keys, "init", keys_init, "create the key pair once; prints the public key").add_argument(
        "--rotate", action="store_true", help="replace an existing key pair (meters must be re-provisioned)"
    )
    command(keys, "public", keys_public, "print the public key (PEM) for provisioning meters")

    meters = group("meters", "register, list and exercise meters")
    register = command(meters, "register", meters_register, "register a meter of an account; prints its token once")
    register.add_argument("account")
    register.add_argument("--name", required=True)
    register.add_argument("--description", default="")
    register.add_argument("--public-key", required=True, help="the meter's RSA public key, PEM file")
    register.add_argument(
        "--rated-kw", type=float, help="rated capacity: readings above it are rejected (default 1000 kW)"
    )
    command(meters, "list", meters_list, "list active meters").add_argument("--account")
    rating = command(meters, "set-rating", meters_set_rating, "change a meter's rated capacity")
    rating.add_argument("meter_id")
    rating.add_argument("--rated-kw", type=float, required=True)
    publish = command(meters, "publish", meters_publish, "act as a meter: publish one reading")
    publish.add_argument("--account", default="Carlab_BEMS", help="demo meter credentials of this account")
    publish.add_argument("--credentials", help="meter credentials JSON (meter_id, token, private_key_pem, account)")
    publish.add_argument("--kind", default="Demand", choices=["Demand", "ESS", "EV", "PV", "WT"])
    publish.add_argument("--value", action="append", default=[], metavar="NAME=KW", help="e.g. grid=12.5")
    publish.add_argument("--at", help="reading time, ISO-8601 (naive = local); default now")
    publish.add_argument("--api", default="http://127.0.0.1:3000")
    publish.add_argument("--node", default="http://127.0.0.1:14265")

    stored = group("readings", "find, quarantine and release stored meter readings")
    listing = command(
        stored, "list", readings_list, "a building's readings of a local day with their ids, quarantined ones too"
    )
    listing.add_argument("--account", required=True)
    listing.add_argument("--day", help="the local day, YYYY-MM-DD (default: today)")
    listing.add_argument("--meter", help="only this meter's readings")
    listing.add_argument("--json", action="store_true")
    command(stored, "show", readings_show, "one reading, with its quarantine log").add_argument("id", help=READING_ID)
    quarantine = command(
        stored,
        "quarantine",
        readings_quarantine,
        "take a reading out of every answer, settlement and DR (kept for audit; undone by release); "
        "re-settles its slot if settled",
    )
    quarantine.add_argument("id", help=READING_ID)
    quarantine.add_argument("--reason", required=True, help="why, for the record")
    release = command(
        stored, "release", readings_release, "undo a quarantine: the reading counts again (re-settles a settled slot)"
    )
    release.add_argument("id", help=READING_ID)
    release.add_argument("--reason", help="why, for the record")
    backfill = command(
        stored,
        "rollup-backfill",
        readings_rollup_backfill,
        "compute the energy rollups /power_info reads from the stored readings (once; idempotent)",
    )
    backfill.add_argument("--force", action="store_true", help="recompute even if already done")
    command(
        stored,
        "backfill-indexes",
        readings_backfill_indexes,
        "give readings stored before the by-user-hour index its key (after an upgrade; idempotent)",
    )

    jobs = group("jobs", "run a scheduled job now")
    run = command(jobs, "run", jobs_run, "invoke a scheduled job's function")
    run.add_argument("job", choices=sorted(JOBS))
    run.add_argument("--now", help="run as of this time, ISO-8601 (naive = local time)")
    run.add_argument("--slot", help="market jobs: the slot's start, ISO-8601 (naive = local), e.g. 2026-11-26T10:00")
    run.add_argument(
        "--early", action="store_true", help="seal, clear: before the slot's gate (needs --reason; logged, recorded)"
    )
    run.add_argument(
        "--reason",
        help="with --early: why, 1-500 characters (recorded with your AWS identity on the slot and the tangle)",
    )

    news = group("news", "the news feed")
    command(news, "publish", news_publish, "publish a news item").add_argument("content")

    market = group("market", "the hourly market")
    command(market, "show", market_show, "a slot's order book, Q*, p*, pairs and statuses").add_argument(
        "--slot", required=True, help="the slot's start, ISO-8601 (naive = local), e.g. 2026-11-26T10:00"
    )
    command(market, "backfill-indexes", market_backfill_indexes, market_backfill_indexes.__doc__ or "")

    trail = group("audit", "the audit trail on the tangle")
    show = command(
        trail,
        "show",
        audit_show,
        "show a record's tangle entry and verify it against the stored data (exit 1 if it does not)",
    )
    show.add_argument("kind", choices=["dr-result", "sealed-bids", "clearing", "settlement-correction"])
    show.add_argument(
        "subject",
        help=(
            "dr-result: the offer's uuid; settlement-correction: <slot>#<reading id>#<n> (as `readings "
            "quarantine` prints it); else the slot's start, ISO-8601 (naive = local)"
        ),
    )
    show.add_argument("--node", default="http://127.0.0.1:14265", help="the IOTA node the platform writes to")

    demo = group("demo", "demo data for a local stack")
    seed = command(demo, "seed", demo_seed, "create what is missing: demo accounts, platform key, demo meters")
    seed.add_argument("--credentials-dir", default=str(LOCAL_STATE / "meters"))
    seed.add_argument("--node", default="http://127.0.0.1:14265", help="the IOTA node the simulated meters use")
    seed.add_argument(
        "--allow-remote",
        action="store_true",
        help="seed a stack that is not local too; only with DEMO_PASSWORD set to a password other than the default",
    )

    simulators = group("simulate", "run a simulator now")
    for kind, text in (
        ("power", "the meters publish their historical readings of now"),
        ("bids", "the buildings bid every hour of the next local day"),
    ):
        sim = command(simulators, kind, simulate, text)
        sim.set_defaults(kind=kind)
        sim.add_argument("--now", help="as of this time, ISO-8601 (naive = local time)")
        sim.add_argument("--building", help="only this account")
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
