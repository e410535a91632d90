"""An IRI-compatible node for tests and local runs: the legacy HTTP API over an in-memory tangle.

It answers as IRI 1.x does (field names, `duration`, HTTP 400 with `{"error": ...}` for bad
requests, 500 with `{"exception": ...}` for an unreadable body, `X-IOTA-API-Version` required),
with these differences, all because it is a single node for development:

- attachToTangle does no proof of work (Curl in pure Python cannot do it in useful time):
  `minWeightMagnitude` must be an integer 1..243 and is otherwise ignored; the nonce is random.
- Every stored transaction is confirmed at once: getInclusionStates answers true for known
  transactions, and the latest milestone is the latest stored transaction.
- getTransactionsToApprove picks two random tips (no random walk); the null hash on an empty tangle.
- broadcastTransactions checks the trytes and does nothing else: there are no neighbours.
- getInclusionStates also takes a request without `tips` (IRI 1.x requires the key).
- Addresses with a checksum (90 trytes) are refused like IRI refuses them: clients strip it.

Its limits are IRI's defaults, and refused as IRI refuses them (400 `{"error": "Could not complete
request"}`): lists longer than `--max-requests-list` (1,000), getTrytes beyond `--max-get-trytes`,
and a findTransactions whose answer (the intersection of the kinds given) would hold more than
`--max-find-transactions` hashes (100,000; `DevNode(max_find_transactions=...)` or
`etp-devnode --max-find-transactions N` to change it).
"""

import json
import os
import random
import secrets
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from etp.iota.transaction import NULL_HASH, TRANSACTION_LENGTH, InvalidTransaction, Transaction
from etp.iota.trytes import ALPHABET, HASH_LENGTH, TAG_LENGTH, is_trytes, pad_tag, trytes_to_bytes
from etp_devnode import APP_NAME, APP_VERSION
from etp_devnode.store import Tangle, TooManyResults

# IRI's defaults (IotaConfig): maxRequestsList, maxGetTrytes, maxBodyLength, maxDepth.
MAX_REQUEST_LIST = 1000
MAX_GET_TRYTES = 10_000
MAX_FIND_TRANSACTIONS = 100_000  # IRI's --max-find-transactions: the most hashes one answer may hold
MAX_BODY_LENGTH = 1_000_000
DRAIN_LIMIT = 16 * MAX_BODY_LENGTH  # a refused body up to this size is read away before answering
MAX_DEPTH = 15
MAX_TIMESTAMP = (3**27 - 1) // 2  # attachmentTimestampUpperBound IRI writes
OVER_MAX = "Could not complete request"


class ApiError(Exception):
    """A request IRI answers with 400 `{"error": message}`."""


def _param(request: dict[str, Any], name: str) -> Any:
    if name not in request:
        raise ApiError("Invalid parameters")
    return request[name]


def _hashes(request: dict[str, Any], name: str, length: int = HASH_LENGTH) -> list[str]:
    """A list parameter of trytes of exactly `length`, within maxRequestsList (IRI's getParameterAsList)."""
    values = _param(request, name)
    if not isinstance(values, list):
        raise ApiError(f"Invalid {name} input")
    if len(values) > MAX_REQUEST_LIST:
        raise ApiError(OVER_MAX)
    if not all(is_trytes(value, length) for value in values):
        raise ApiError(f"Invalid {name} input")
    return values


def _hash(request: dict[str, Any], name: str) -> str:
    """A single hash parameter (IRI's getParameterAsStringAndValidate)."""
    value = _param(request, name)
    if not is_trytes(value, HASH_LENGTH):
        raise ApiError(f"Invalid {name} input")
    return value


def _tags(request: dict[str, Any]) -> list[str]:
    """findTransactions' tags, padded to full length, with IRI's answers to bad ones."""
    raw = _param(request, "tags")
    if not isinstance(raw, list) or not all(is_trytes(t) and len(t) <= TAG_LENGTH for t in raw):
        raise ApiError("Invalid tags input")
    if len(raw) > MAX_REQUEST_LIST:
        raise ApiError(OVER_MAX)
    tags = [pad_tag(t) for t in raw]
    if "9" * TAG_LENGTH in tags:
        raise ApiError("Invalid tag input")
    return tags


def _lookup_keys(request: dict[str, Any], name: str) -> list[str] | None:
    """findTransactions keys: absent, or hashes of which none is the null hash."""
    if name not in request:
        return None
    values = _hashes(request, name)
    if NULL_HASH in values:
        raise ApiError(f"Invalid {name} input")
    return values


def _integer(request: dict[str, Any], name: str) -> int:
    value = _param(request, name)
    # JSON numbers reach IRI as doubles; an integral one is accepted.
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise ApiError(f"Invalid {name} input")
    return int(value)


def _transactions(request: dict[str, Any]) -> list[Transaction]:
    trytes = _hashes(request, "trytes", TRANSACTION_LENGTH)
    try:
        return [Transaction.from_trytes(t) for t in trytes]
    except InvalidTransaction:
        raise ApiError("Invalid trytes input") from None


class Api:
    """The commands, as functions of the parsed request; raise ApiError for a 400."""

    def __init__(self, tangle: Tangle) -> None:
        self.tangle = tangle
        self._random = random.Random()  # noqa: S311 (tip choice, not security)
        self.commands: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "getNodeInfo": self.get_node_info,
            "findTransactions": self.find_transactions,
            "getTrytes": self.get_trytes,
            "getInclusionStates": self.get_inclusion_states,
            "getTransactionsToApprove": self.get_transactions_to_approve,
            "attachToTangle": self.attach_to_tangle,
            "storeTransactions": self.store_transactions,
            "broadcastTransactions": self.broadcast_transactions,
        }

    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        command = request.get("command")
        if not isinstance(command, str):
            raise ApiError("COMMAND parameter has not been specified in the request.")
        if command not in self.commands:
            raise ApiError(f"Command [{command}] is unknown")
        return self.commands[command](request)

    def get_node_info(self, request: dict[str, Any]) -> dict[str, Any]:
        latest, count = self.tangle.latest(), len(self.tangle)
        return {
            "appName": APP_NAME,
            "appVersion": APP_VERSION,
            "jreAvailableProcessors": os.cpu_count() or 1,
            "jreFreeMemory": 0,
            "jreMaxMemory": 0,
            "jreTotalMemory": 0,
            "jreVersion": "none (Python)",
            "latestMilestone": latest,
            "latestMilestoneIndex": count,
            "latestSolidSubtangleMilestone": latest,
            "latestSolidSubtangleMilestoneIndex": count,
            "milestoneStartIndex": 0,
            "lastSnapshottedMilestoneIndex": 0,
            "neighbors": 0,
            "packetsQueueSize": 0,
            "time": int(time.time() * 1000),
            "tips": len(self.tangle.tips()),
            "transactionsToRequest": 0,
            "features": [],
            "coordinatorAddress": NULL_HASH,
        }

    def find_transactions(self, request: dict[str, Any]) -> dict[str, Any]:
        tags = _tags(request) if "tags" in request else None
        query = {name: _lookup_keys(request, name) for name in ("addresses", "bundles", "approvees")}
        if tags is None and all(value is None for value in query.values()):
            raise ApiError("Invalid parameters")
        try:
            return {"hashes": self.tangle.find(tags=tags, **query)}
        except TooManyResults:
            raise ApiError(OVER_MAX) from None

    def get_trytes(self, request: dict[str, Any]) -> dict[str, Any]:
        hashes = _hashes(request, "hashes")
        if len(hashes) > MAX_GET_TRYTES:
            raise ApiError(OVER_MAX)
        return {"trytes": self.tangle.trytes(hashes)}

    def get_inclusion_states(self, request: dict[str, Any]) -> dict[str, Any]:
        transactions = _hashes(request, "transactions")
        tips = _hashes(request, "tips") if "tips" in request else []
        if not all(self.tangle.contains(tips)):
            raise ApiError("One of the tips is absent")
        return {"states": self.tangle.contains(transactions)}

    def get_transactions_to_approve(self, request: dict[str, Any]) -> dict[str, Any]:
        depth = _integer(request, "depth")
        if not 0 <= depth <= MAX_DEPTH:
            raise ApiError("Invalid depth input")
        tips = self.tangle.tips() or [NULL_HASH]
        trunk = self._random.choice(tips)
        if "reference" in request:
            trunk = _hash(request, "reference")
            if not all(self.tangle.contains([trunk])):
                raise ApiError("reference transaction not found")
        return {"trunkTransaction": trunk, "branchTransaction": self._random.choice(tips)}

    def attach_to_tangle(self, request: dict[str, Any]) -> dict[str, Any]:
        trunk, branch = _hash(request, "trunkTransaction"), _hash(request, "branchTransaction")
        weight = _integer(request, "minWeightMagnitude")
        if not 1 <= weight <= 243:
            raise ApiError("Invalid minWeightMagnitude input")
        attached = []
        previous = None
        for transaction in _transactions(request):
            # As IRI: the first (head) approves trunk and branch, each next one its predecessor and trunk.
            now_ms = int(time.time() * 1000)
            done = transaction.replace(
                trunk=previous.hash if previous else trunk,
                branch=trunk if previous else branch,
                tag=transaction.obsolete_tag if transaction.tag == "9" * TAG_LENGTH else transaction.tag,
                attachment_timestamp=now_ms,
                attachment_timestamp_lower=0,
                attachment_timestamp_upper=MAX_TIMESTAMP,
                nonce="".join(secrets.choice(ALPHABET) for _ in range(TAG_LENGTH)),
            )
            attached.append(done)
            previous = done
        return {"trytes": [t.as_trytes() for t in reversed(attached)]}

    def store_transactions(self, request: dict[str, Any]) -> dict[str, Any]:
        self.tangle.store(_transactions(request))
        return {}

    def broadcast_transactions(self, request: dict[str, Any]) -> dict[str, Any]:
        _transactions(request)
        return {}


def _message_text(fragment: str) -> str | None:
    try:
        return trytes_to_bytes(fragment).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = f"{APP_NAME}/{APP_VERSION}"
    timeout = 30
    api: Api  # set on the subclass DevNode makes

    def do_POST(self) -> None:
        started = time.monotonic()
        status, answer = self._answer()
        answer["duration"] = int((time.monotonic() - started) * 1000)
        self._send_json(status, json.dumps(answer).encode())

    def do_GET(self) -> None:
        """The explorer page the platform links readings to: `/explorer/transaction/<hash>` answers
        the stored transaction's fields (and its message, when it is text) as JSON."""
        prefix = "/explorer/transaction/"
        tx_hash = self.path[len(prefix) :] if self.path.startswith(prefix) else ""
        trytes = self.api.tangle.trytes([tx_hash])[0] if is_trytes(tx_hash, HASH_LENGTH) else None
        answer: dict[str, Any]
        if trytes is None or set(trytes) == {"9"}:
            status, answer = 404, {"error": "no such transaction"}
        else:
            transaction = Transaction.from_trytes(trytes)
            status, answer = (
                200,
                {
                    "hash": tx_hash,
                    "address": transaction.address,
                    "tag": transaction.tag,
                    "timestamp": transaction.timestamp,
                    "bundle": transaction.bundle_hash,
                    "message": _message_text(transaction.signature_message_fragment),
                    "trytes": trytes,
                },
            )
        self._send_json(status, json.dumps(answer, indent=2).encode())

    def _send_json(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(body)

    def _answer(self) -> tuple[int, dict[str, Any]]:
        length_header = self.headers.get("Content-Length", "0")
        if not length_header.isdigit():
            self.close_connection = True
            return 400, {"error": "Invalid Content-Length"}
        length = int(length_header)
        if "X-IOTA-API-Version" not in self.headers:
            body_unread = True
            answer: tuple[int, dict[str, Any]] = (400, {"error": "Invalid API Version"})
        elif length > MAX_BODY_LENGTH:
            body_unread = True
            answer = (400, {"error": "Request too long"})
        else:
            body_unread = False
            answer = self._process(self.rfile.read(length))
        if body_unread and length:
            self._discard(length)
        return answer

    def _discard(self, length: int) -> None:
        """Read a refused body away (up to DRAIN_LIMIT), so the client can finish sending and read the
        answer instead of meeting a reset; a larger one closes the connection unread."""
        if length > DRAIN_LIMIT:
            self.close_connection = True  # the unread body must not be taken for the next request
            return
        while length > 0:
            chunk = self.rfile.read(min(length, 64 * 1024))
            if not chunk:
                self.close_connection = True
                return
            length -= len(chunk)

    def _process(self, body: bytes) -> tuple[int, dict[str, Any]]:
        try:
            request = json.loads(body)
        except ValueError as problem:
            return 500, {"exception": f"Invalid request payload: {problem}"}
        if not isinstance(request, dict):
            return 500, {"exception": f"Invalid request payload: '{body[:100].decode('utf-8', 'replace')}'"}
        try:
            return 200, self.api.handle(request)
        except ApiError as problem:
            return 400, {"error": str(problem)}

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and `make run` would drown in access lines."""


class DevNode:
    """`DevNode(host, port, state_path).start()` ... `.stop()`; port 0 takes a free port, see `.url`."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 14265,
        state_path: str | Path | None = None,
        *,
        max_find_transactions: int = MAX_FIND_TRANSACTIONS,
        tangle: Tangle | None = None,
    ) -> None:
        """`tangle`: serve this one (e.g. one a benchmark filled directly) instead of a new one."""
        if max_find_transactions < 1:
            raise ValueError("max_find_transactions must be positive")
        self.host, self.port = host, port
        self.state_path = Path(state_path) if state_path is not None else None
        self.max_find_transactions = max_find_transactions
        self._given_tangle = tangle
        self.tangle: Tangle | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the node is not started")
        return f"http://{self.host}:{self._server.server_port}"

    def start(self) -> "DevNode":
        self.tangle = self._given_tangle or Tangle(self.state_path, max_find_transactions=self.max_find_transactions)
        handler = type("Handler", (_Handler,), {"api": Api(self.tangle)})
        try:
            self._server = ThreadingHTTPServer((self.host, self.port), handler)
        except OSError:  # e.g. the port is taken
            self.tangle.close()
            raise
        self._server.daemon_threads = True
        # A short poll interval makes stop() quick (tests start and stop many nodes).
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="etp-devnode", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self.tangle is not None:
            self.tangle.close()

    def __enter__(self) -> "DevNode":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
