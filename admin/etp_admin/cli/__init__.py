"""etp-admin, the operator's command line (being split into one module per command group)."""

from etp_admin.cli.readings import main

__all__ = ["main"]
