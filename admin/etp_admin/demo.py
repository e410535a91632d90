"""Demo data for a local stack, seeded idempotently: existing accounts are left exactly as they are."""

import os

from etp import accounts
from etp.clock import utcnow
from etp.users import UserStore

DEFAULT_DEMO_PASSWORD = "energy-demo"  # noqa: S105 (documented demo default, local stacks only)
DEMO_BEMS = ("Carlab_BEMS", "NCKU_BEMS", "SGESC_C_BEMS", "SGESC_D_BEMS", "ABRI_BEMS")
DEMO_AGGREGATOR = "Aggregator"


def demo_password() -> str:
    return os.environ.get("DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD


def seed_accounts(store: UserStore, password: str) -> dict[str, str]:
    """Create each demo account that does not exist yet; return account -> 'created' | 'exists'."""
    outcome = {}
    specs = [accounts.NewAccount(account=name, username=name, password=password) for name in DEMO_BEMS]
    specs.append(accounts.NewAccount(account=DEMO_AGGREGATOR, username=DEMO_AGGREGATOR, password=password,
                                     is_aggregator=True))
    for spec in specs:
        try:
            accounts.create_account(store, None, spec, utcnow())
            outcome[spec.account] = "created"
        except accounts.AccountExists:
            outcome[spec.account] = "exists"
    return outcome
