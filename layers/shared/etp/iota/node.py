"""A client of the legacy IOTA node HTTP API (IRI): POST / with `{"command": ...}` JSON.

Answers are checked strictly (hashes are 81 trytes, lists as long as asked, ...): whatever the
node gets wrong surfaces as `NodeProtocolError`, never as a half-parsed value.

IRI refuses lists longer than its `maxRequestsList` (1000 by default) with "Could not complete
request". `find_transactions`, `get_trytes`, `get_inclusion_states` and the store/broadcast calls
therefore split longer lists into requests of `max_request_list` items and join the answers; a
request within the limit stays one round trip. Transactions to store or broadcast are also split
so that each request body stays within IRI's `maxBodyLength` (1,000,000 bytes: ~370 transactions).
IRI also refuses a findTransactions whose ANSWER would exceed `--max-find-transactions` (100,000
hashes by default): a caller asking broad questions must narrow them (the tracker does, see
etp.meters.tracker); the client reports the refusal as NodeError("Could not complete request").
"""

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

from etp.io_pool import parts
from etp.iota.addresses import is_address, strip_checksum
from etp.iota.transaction import TRANSACTION_LENGTH
from etp.iota.trytes import HASH_LENGTH, all_trytes, is_hash, is_tag, is_trytes, pad_tag

API_VERSION = "1"
IRI_MAX_REQUEST_LIST = 1000
IRI_MAX_BODY_LENGTH = 1_000_000
OVER_LIMIT = "Could not complete request"  # IRI's error for a request beyond one of its limits
# A storeTransactions/broadcastTransactions body: {"command": ..., "trytes": ["...", ...]}
_TRYTES_PER_BODY = (IRI_MAX_BODY_LENGTH - 100) // (TRANSACTION_LENGTH + 4)
_MAX_ANSWER_BYTES = 64 * 1024 * 1024  # 10000 transactions of getTrytes are 27 MB


class IotaNodeError(Exception):
    """Any failure to get a usable answer from the node."""


class NodeUnavailable(IotaNodeError):
    """No answer: connection refused, name not resolved, timeout, or HTTP 5xx."""


class NodeError(IotaNodeError):
    """The node refused the request (HTTP 4xx, or an error in its JSON); `message` is the node's."""

    def __init__(self, command: str, message: str, status: int | None = None) -> None:
        super().__init__(f"{command}: node answered {status or 'with an error'}: {message}")
        self.command = command
        self.message = message
        self.status = status


class NodeProtocolError(IotaNodeError):
    """The node answered something that is not the legacy API's answer (not JSON, wrong shape or types)."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirected POST would come back as a GET without its body; an IRI node never redirects.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _hashes(items: list) -> bool:
    return all_trytes(items, HASH_LENGTH)


def _transactions(items: list) -> bool:
    return all_trytes(items, TRANSACTION_LENGTH)


def _booleans(items: list) -> bool:
    return all(isinstance(item, bool) for item in items)


def _error_message(body: bytes) -> str:
    """IRI's `{"error": ...}` or `{"exception": ...}`, else the start of the body."""
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if isinstance(answer, dict):
        for key in ("error", "exception"):
            if isinstance(answer.get(key), str):
                return answer[key]
    return body[:200].decode("utf-8", "replace") or "(empty body)"


class NodeClient:
    def __init__(self, url: str, timeout: float = 10.0, *, max_request_list: int = IRI_MAX_REQUEST_LIST) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"node URL {url!r} is not http(s)")
        if max_request_list < 1:
            raise ValueError("max_request_list must be positive")
        self.url = url
        self.timeout = timeout
        self.max_request_list = max_request_list
        self._opener = urllib.request.build_opener(_NoRedirects)

    def __repr__(self) -> str:
        return f"NodeClient({self.url!r})"

    # -- transport -----------------------------------------------------------------------------

    def _call(self, command: str, **params: Any) -> dict[str, Any]:
        return _parse_answer(command, self._post(command, params))

    def _post(self, command: str, params: dict[str, Any]) -> bytes:
        """The node's answer body to one command; transport failures as this module's errors."""
        request = urllib.request.Request(  # noqa: S310 (scheme checked in __init__)
            self.url,
            data=json.dumps({"command": command, **params}).encode(),
            headers={"Content-Type": "application/json", "X-IOTA-API-Version": API_VERSION},
            method="POST",
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                body = response.read(_MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as error:
            with error:
                body = error.read(64 * 1024)
            if error.code >= 500:
                raise NodeUnavailable(f"{command}: HTTP {error.code}: {_error_message(body)}") from None
            if 400 <= error.code < 500:
                raise NodeError(command, _error_message(body), error.code) from None
            raise NodeProtocolError(f"{command}: unexpected HTTP {error.code}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            reason = getattr(error, "reason", error)
            raise NodeUnavailable(f"{command}: {self.url} unreachable: {reason}") from None
        except OSError as error:  # e.g. the connection dropped halfway through the answer
            raise NodeUnavailable(f"{command}: {self.url}: {error}") from None
        except http.client.IncompleteRead:
            raise NodeUnavailable(f"{command}: {self.url}: answer cut short") from None
        except http.client.HTTPException as error:  # the peer does not speak HTTP
            raise NodeProtocolError(f"{command}: not an HTTP answer: {error!r}") from None
        return body

    @staticmethod
    def _field(answer: dict[str, Any], command: str, name: str, kind: type | tuple[type, ...]) -> Any:
        value = answer.get(name)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise NodeProtocolError(f"{command}: '{name}' missing or of the wrong type")
        return value

    def _list(
        self, answer: dict[str, Any], command: str, name: str, length: int | None, valid: Callable[[list], bool]
    ) -> list[Any]:
        """The answer's list `name` (of `length` items, when given); `valid` checks the whole list."""
        items = self._field(answer, command, name, list)
        if length is not None and len(items) != length:
            raise NodeProtocolError(f"{command}: {len(items)} '{name}' for {length} asked")
        if not valid(items):
            raise NodeProtocolError(f"{command}: '{name}' holds an invalid item")
        return items

    # -- commands ------------------------------------------------------------------------------

    def get_node_info(self) -> dict[str, Any]:
        answer = self._call("getNodeInfo")
        for name in ("appName", "appVersion"):
            self._field(answer, "getNodeInfo", name, str)
        for name in ("latestMilestone", "latestSolidSubtangleMilestone"):
            if not is_hash(answer.get(name)):
                raise NodeProtocolError(f"getNodeInfo: '{name}' is not a hash")
        for name in (
            "latestMilestoneIndex",
            "latestSolidSubtangleMilestoneIndex",
            "neighbors",
            "packetsQueueSize",
            "time",
            "tips",
            "transactionsToRequest",
        ):
            self._field(answer, "getNodeInfo", name, int)
        return answer

    def find_transactions(
        self,
        addresses: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        bundles: Sequence[str] | None = None,
        approvees: Sequence[str] | None = None,
    ) -> list[str]:
        """Hashes of the transactions matching every given kind (IRI: union within a kind, intersection across).

        Addresses may carry their 9-tryte checksum (checked, then stripped, as PyOTA does); tags are
        padded to 27 trytes.
        """
        query = _find_query(addresses, tags, bundles, approvees)
        if not all(query.values()):
            return []  # an empty kind matches nothing, and the intersection is empty
        oversized = [name for name, values in query.items() if len(values) > self.max_request_list]
        if len(oversized) > 1:
            raise ValueError(f"only one of {oversized} may exceed {self.max_request_list} items")
        # Intersection distributes over union: splitting one kind and joining the answers is exact.
        split = oversized[0] if oversized else next(iter(query))
        found: dict[str, None] = {}
        for part in parts(query[split], self.max_request_list):
            answer = self._call("findTransactions", **{**query, split: part})
            found.update(dict.fromkeys(self._list(answer, "findTransactions", "hashes", None, _hashes)))
        return list(found)

    def get_trytes(self, hashes: Sequence[str]) -> list[str]:
        """The trytes of each hash, in order; IRI answers all-9 trytes for a hash it does not have."""
        if not _hashes(list(hashes)):
            raise ValueError("hashes must be 81-tryte hashes")
        trytes: list[str] = []
        for part in parts(hashes, self.max_request_list):
            answer = self._call("getTrytes", hashes=part)
            trytes += self._list(answer, "getTrytes", "trytes", len(part), _transactions)
        return trytes

    def get_inclusion_states(self, transactions: Sequence[str], tips: Sequence[str] | None = None) -> list[bool]:
        """Whether each transaction is confirmed (as seen from `tips`, when given)."""
        tips = list(tips or [])
        if not all(is_hash(h) for h in [*transactions, *tips]):
            raise ValueError("transactions and tips must be 81-tryte hashes")
        if len(tips) > self.max_request_list:
            raise ValueError(f"at most {self.max_request_list} tips")
        states: list[bool] = []
        for part in parts(transactions, self.max_request_list):
            # `tips` is always sent: IRI before 1.8 requires the key, later ones accept it.
            answer = self._call("getInclusionStates", transactions=part, tips=tips)
            states += self._list(answer, "getInclusionStates", "states", len(part), _booleans)
        return states

    def get_transactions_to_approve(self, depth: int = 3) -> tuple[str, str]:
        """(trunk, branch) for a new bundle."""
        answer = self._call("getTransactionsToApprove", depth=depth)
        trunk, branch = answer.get("trunkTransaction"), answer.get("branchTransaction")
        if not (is_hash(trunk) and is_hash(branch)):
            raise NodeProtocolError("getTransactionsToApprove: trunk or branch is not a hash")
        return trunk, branch

    def attach_to_tangle(self, trunk: str, branch: str, min_weight_magnitude: int, trytes: Sequence[str]) -> list[str]:
        """The node's proof of work over a bundle's trytes (head first, as IRI expects); the attached trytes."""
        if not (is_hash(trunk) and is_hash(branch)):
            raise ValueError("trunk and branch must be 81-tryte hashes")
        if not all(is_trytes(t, TRANSACTION_LENGTH) for t in trytes):
            raise ValueError(f"transactions must be {TRANSACTION_LENGTH} trytes")
        answer = self._call(
            "attachToTangle",
            trunkTransaction=trunk,
            branchTransaction=branch,
            minWeightMagnitude=min_weight_magnitude,
            trytes=list(trytes),
        )
        return self._list(answer, "attachToTangle", "trytes", len(trytes), _transactions)

    def store_transactions(self, trytes: Sequence[str]) -> None:
        self._send_trytes("storeTransactions", trytes)

    def broadcast_transactions(self, trytes: Sequence[str]) -> None:
        self._send_trytes("broadcastTransactions", trytes)

    def _send_trytes(self, command: str, trytes: Sequence[str]) -> None:
        if not all(is_trytes(t, TRANSACTION_LENGTH) for t in trytes):
            raise ValueError(f"transactions must be {TRANSACTION_LENGTH} trytes")
        for part in parts(trytes, min(self.max_request_list, _TRYTES_PER_BODY)):
            self._call(command, trytes=part)


def _parse_answer(command: str, body: bytes) -> dict[str, Any]:
    """The JSON object of a node's answer; an `error` in it as NodeError."""
    if len(body) > _MAX_ANSWER_BYTES:
        raise NodeProtocolError(f"{command}: answer larger than {_MAX_ANSWER_BYTES} bytes")
    try:
        answer = json.loads(body)
    except ValueError:
        raise NodeProtocolError(f"{command}: answer is not JSON") from None
    if not isinstance(answer, dict):
        raise NodeProtocolError(f"{command}: answer is not a JSON object")
    if "error" in answer:
        raise NodeError(command, str(answer["error"]))
    return answer


def _find_query(
    addresses: Sequence[str] | None,
    tags: Sequence[str] | None,
    bundles: Sequence[str] | None,
    approvees: Sequence[str] | None,
) -> dict[str, list[str]]:
    """findTransactions' query, each kind checked and in IRI's form (no checksums, padded tags)."""
    kinds: list[tuple[str, Sequence[str] | None, Callable[[str], bool], Callable[[str], str], str]] = [
        ("addresses", addresses, is_address, strip_checksum, "81 trytes, or 90 with a valid checksum"),
        ("tags", tags, is_tag, pad_tag, "at most 27 trytes"),
        ("bundles", bundles, is_hash, str, "81-tryte hashes"),
        ("approvees", approvees, is_hash, str, "81-tryte hashes"),
    ]
    query: dict[str, list[str]] = {}
    for name, values, valid, canonical, expected in kinds:
        if values is None:
            continue
        if not all(valid(v) for v in values):
            raise ValueError(f"{name} must be {expected}")
        query[name] = [canonical(v) for v in values]
    if not query:
        raise ValueError("find_transactions needs addresses, tags, bundles or approvees")
    return query
