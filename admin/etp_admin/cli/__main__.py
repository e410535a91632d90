"""python -m etp_admin.cli: the same as etp-admin."""

import sys

from etp_admin.cli import main

sys.exit(main())
