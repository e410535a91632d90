"""Demo data for a local stack, seeded idempotently: existing accounts are left exactly as they are.

Only a local stack is seeded: elsewhere the demo accounts (an aggregator among them) and their published
password would be a way in (check_target)."""

import json
import os
from pathlib import Path

from etp.accounts import service as accounts
from etp.accounts.users import UserStore
from etp.clock import to_utc_iso, utcnow

DEFAULT_DEMO_PASSWORD = "energy-demo"  # noqa: S105 (documented demo default, local stacks only)
DEMO_BEMS = ("Carlab_BEMS", "NCKU_BEMS", "SGESC_C_BEMS", "SGESC_D_BEMS", "ABRI_BEMS")
DEMO_AGGREGATOR = "Aggregator"
# The demo meters' rated capacity (kW): the buildings' histories peak at 27.5 kW (ABRI) and the old
# service's samples at 22 kW, so 100 kW never refuses a simulated reading yet refuses a broken one.
DEMO_RATED_KW = 100.0


def demo_password() -> str:
    return os.environ.get("DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD


class NotLocal(Exception):
    """Demo data was asked of a stack that is not a local one, without the explicit override."""


def check_target(stack, allow_remote: bool = False) -> None:
    """Refuse to write demo data anywhere but a local stack (an emulator on this machine), unless
    `allow_remote` is given and DEMO_PASSWORD is a password of the operator's own: the demo accounts
    include an aggregator, and the default password is published in the README."""
    if stack.local:
        return
    where = f"stack {stack.name!r} at {stack.endpoint_url or f'AWS {stack.region}'}"
    if not allow_remote:
        raise NotLocal(
            f"{where} is not a local stack: demo data (accounts with a published password) is written to a"
            " local stack only; to seed it anyway, pass --allow-remote with DEMO_PASSWORD set to a password"
            " of your own. Nothing was written"
        )
    password = os.environ.get("DEMO_PASSWORD") or ""
    if password in ("", DEFAULT_DEMO_PASSWORD) or not 8 <= len(password) <= 256:
        raise NotLocal(
            f"--allow-remote seeds {where} only with DEMO_PASSWORD set to a password of your own (8 to 256"
            f" characters, not the published {DEFAULT_DEMO_PASSWORD!r}). Nothing was written"
        )


def seed_accounts(store: UserStore, password: str) -> dict[str, str]:
    """Create each demo account that does not exist yet; return account -> 'created' | 'exists'."""
    outcome = {}
    specs = [accounts.NewAccount(account=name, username=name, password=password) for name in DEMO_BEMS]
    specs.append(
        accounts.NewAccount(account=DEMO_AGGREGATOR, username=DEMO_AGGREGATOR, password=password, is_aggregator=True)
    )
    for spec in specs:
        try:
            accounts.create_account(store, None, spec, utcnow())
            outcome[spec.account] = "created"
        except accounts.AccountExists:
            outcome[spec.account] = "exists"
    return outcome


def seed_meters(users: UserStore, meters, credentials_dir: Path) -> dict[str, str]:
    """One meter per demo BEMS. Its private key and token stay in `credentials_dir` (git-ignored)
    for the simulators; a meter whose credentials file and record both exist is left alone."""
    from etp.meters import envelope
    from etp.meters import registry as meter_rules

    credentials_dir.mkdir(parents=True, exist_ok=True)
    outcome = {}
    for account in DEMO_BEMS:
        path = credentials_dir / f"{account}.json"
        known = json.loads(path.read_text()) if path.is_file() else None
        if known and meters.get(known["meter_id"]) is not None:
            outcome[account] = "exists"
            continue
        user = users.get(account)
        if user is None:
            outcome[account] = "no such account"
            continue
        private_pem, public_pem = envelope.new_key_pair()
        meter, token = meter_rules.register(
            meters,
            user_id=user.id,
            account=account,
            name=f"{account} main meter",
            description="Demo smart meter (AMI) at the building's grid connection",
            public_key_pem=public_pem,
            now_iso=to_utc_iso(utcnow()),
            rated_kw=DEMO_RATED_KW,
        )
        write_private(path, {"account": account, "meter_id": meter.id, "token": token, "private_key_pem": private_pem})
        outcome[account] = "created"
    return outcome


def write_private(path: Path, document: dict) -> None:
    """Write a credentials file readable by its owner only."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump(document, handle, indent=2)


# The demo buildings' bid plans: PV-heavy SGESC sites sell, the others buy (kWh, NT$/kWh).
DEMO_BIDS = {
    "Carlab_BEMS": {"type": "buy", "volume": 8, "price": 3.2, "jitter": 0.1},
    "NCKU_BEMS": {"type": "buy", "volume": 1, "price": 3.5, "jitter": 0.1},
    "SGESC_C_BEMS": {"type": "sell", "volume": 10, "price": 2.4, "jitter": 0.1},
    "SGESC_D_BEMS": {"type": "sell", "volume": 6, "price": 2.6, "jitter": 0.1},
    "ABRI_BEMS": {"type": "buy", "volume": 15, "price": 3.0, "jitter": 0.1},
}


def simulator_config(api_url: str, node_url: str, credentials_dir: Path, password: str) -> dict:
    """The simulators' document for the demo buildings (it holds meter keys: it goes to Secrets Manager)."""
    buildings = []
    for account in DEMO_BEMS:
        path = credentials_dir / f"{account}.json"
        if not path.is_file():
            continue
        meter = json.loads(path.read_text())
        buildings.append(
            {
                "account": account,
                "csv": f"demo:{account}.csv",
                "meter_token": meter["token"],
                "meter_private_key_pem": meter["private_key_pem"],
                "password": password,
                "bid": DEMO_BIDS[account],
            }
        )
    return {"api_url": api_url, "node_url": node_url, "buildings": buildings}


def seed_stack(
    stack, credentials_dir: Path, node_url: str = "http://127.0.0.1:14265", *, allow_remote: bool = False
) -> list[tuple[str, str]]:
    """Everything a local stack needs, idempotently: demo accounts, the platform key, one meter per
    demo BEMS, the simulators' configuration, and today's addresses (by running the daily address job's
    function once). Any other stack is refused before anything is written (see check_target). The
    data migrations run before it, as after every deployment (etp_admin.migrations; `make run`)."""
    check_target(stack, allow_remote)
    from etp.accounts.store import DynamoUserStore
    from etp.meters.store import DynamoMeterStore
    from etp_admin import keys

    users = DynamoUserStore()
    done = [(account, f"account {outcome}") for account, outcome in seed_accounts(users, demo_password()).items()]
    _, created = keys.init(stack.client("secretsmanager"), stack.outputs["PlatformKeySecretArn"])
    done.append(("platform key", "created" if created else "exists"))
    done += [
        (account, f"meter {outcome}")
        for account, outcome in seed_meters(users, DynamoMeterStore(), credentials_dir).items()
    ]
    if "SimulatorSecretArn" in stack.outputs:
        api_url = (
            f"{stack.endpoint_url}/_aws/execute-api/{stack.outputs['ApiId']}/{stack.outputs['ApiStage']}"
            if stack.endpoint_url
            else stack.outputs["ApiUrl"]
        )
        config = simulator_config(api_url, node_url, credentials_dir, demo_password())
        stack.client("secretsmanager").put_secret_value(
            SecretId=stack.outputs["SimulatorSecretArn"], SecretString=json.dumps(config)
        )
        done.append(("simulators", f"{len(config['buildings'])} buildings"))
    answer = stack.client("lambda").invoke(FunctionName=stack.outputs["AddressesFunctionName"], Payload=b"{}")
    done.append(("addresses", "recorded" if "FunctionError" not in answer else "job failed"))
    return done
