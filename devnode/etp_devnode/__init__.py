"""etp-devnode: an IRI-compatible IOTA node for tests and local runs (see `server` for how it differs)."""

APP_NAME = "etp-devnode"
APP_VERSION = "0.1.0"
