"""NodeClient and send() against the dev node (a DevNode on a free loopback port), and the client's
error handling against a tiny fake HTTP server.

Expected shapes and messages are IRI's (iotaledger/iri src/main/java/com/iota/iri/service/API.java
and service/dto/*Response.java): field names, `duration`, 400 `{"error": ...}`, 500 `{"exception": ...}`.
"""

import http.client
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from etp.iota.node import NodeClient, NodeError, NodeProtocolError, NodeUnavailable
from etp.iota.send import MAX_MESSAGE_BYTES, build_message_transaction, send
from etp.iota.transaction import NULL_HASH, Transaction, finalize_bundle
from etp.iota.trytes import ALPHABET, int_to_trytes, pad_tag, trytes_to_bytes
from etp_devnode.server import MAX_TIMESTAMP, DevNode
from etp_devnode.store import CorruptState

NOW = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
# iotaledger/iota.py test/types_test.py test_checksum_valid: an address and its checksum
CHECKSUMMED = "RVORZ9SIIP9RCYMREUIXXVPQIPHVCNPQ9HZWYKFWYWZRE9JQKG9REPKIASHUUECPSQO9JT9XNMVKWYGVAITCOXAQSD"


def address(n: int) -> str:
    """A distinct address per test, so tests sharing the module's node do not see each other."""
    return int_to_trytes(n, 81)


@pytest.fixture(scope="module")
def node() -> Iterator[DevNode]:
    with DevNode(port=0) as running:
        yield running


@pytest.fixture
def client(node: DevNode) -> NodeClient:
    # generous: the dev node hashes in pure Python, and 400 transactions take seconds on a busy machine
    return NodeClient(node.url, timeout=30)


def post(url: str, body: bytes | dict, headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """A raw request, headers exactly as given (default: those every legacy client sends)."""
    if headers is None:
        headers = {"Content-Type": "application/json", "X-IOTA-API-Version": "1"}
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=5)
    try:
        connection.request("POST", "/", body if isinstance(body, bytes) else json.dumps(body).encode(), headers)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


# -- the dev node through the client ---------------------------------------------------------------


def test_node_info(client, node):
    info = client.get_node_info()
    assert info["appName"] == "etp-devnode"
    assert {
        "latestMilestone",
        "latestMilestoneIndex",
        "latestSolidSubtangleMilestone",
        "latestSolidSubtangleMilestoneIndex",
        "neighbors",
        "packetsQueueSize",
        "time",
        "tips",
        "transactionsToRequest",
        "duration",
    } <= set(info)
    assert abs(info["time"] - time.time() * 1000) < 60_000


def test_send_find_read_and_confirm(client):
    first = send(client, address(1), "BEMS9PV9DISPLAY9B", b'{"id": 1}', now=NOW)
    # The checksum is checked and stripped by the client, as PyOTA's filters do.
    second = send(client, address(1), "BEMS9EV9DISPLAY9C", b'{"id": 2}', now=NOW)
    assert client.find_transactions(addresses=[address(1)]) == [first, second]
    first_trytes, _ = client.get_trytes([first, second])
    transaction = Transaction.from_trytes(first_trytes)
    assert transaction.hash == first
    assert transaction.address == address(1) and transaction.value == 0
    assert transaction.tag == "BEMS9PV9DISPLAY9B9999999999"
    assert transaction.timestamp == int(NOW.timestamp())
    assert trytes_to_bytes(transaction.signature_message_fragment) == b'{"id": 1}'
    assert client.find_transactions(tags=["BEMS9EV9DISPLAY9C"]) == [second]
    assert client.find_transactions(bundles=[transaction.bundle_hash]) == [first]
    assert second in client.find_transactions(approvees=[first])  # the second approves the first tip
    assert client.get_inclusion_states([first, second, address(2)]) == [True, True, False]
    assert client.get_inclusion_states([first], tips=[second]) == [True]


def test_checksummed_addresses_are_stripped_by_the_client(client):
    sent = send(client, CHECKSUMMED, "BEMS9WT9DISPLAY9A", b"x", now=NOW)
    assert client.find_transactions(addresses=[CHECKSUMMED]) == [sent]
    assert client.find_transactions(addresses=[CHECKSUMMED[:81]]) == [sent]
    with pytest.raises(ValueError):
        client.find_transactions(addresses=[CHECKSUMMED[:81] + "999999999"])


def store(client: NodeClient, *transactions: Transaction) -> list[str]:
    client.store_transactions([t.as_trytes() for t in transactions])
    return [t.hash for t in transactions]


def test_find_unions_within_a_kind_and_intersects_across(client):
    a, b, c = (build_message_transaction(address(10 + i), "FINDTAG", b"%d" % i, 1) for i in range(3))
    c = c.replace(tag="OTHERTAG".ljust(27, "9"))
    hash_a, hash_b, hash_c = store(client, a, b, c)
    assert client.find_transactions(addresses=[address(10), address(11), address(12)]) == [hash_a, hash_b, hash_c]
    assert client.find_transactions(addresses=[address(10), address(12)], tags=["FINDTAG"]) == [hash_a]
    assert client.find_transactions(addresses=[address(11)], tags=["OTHERTAG"]) == []
    assert client.find_transactions(addresses=[]) == []  # an empty kind matches nothing, no request needed


def test_addresses_and_tags_answer_exactly_the_pairs_asked(client):
    """The tracker's question (addresses AND tags, answered from the node's (address, tag) index): every
    hash whose address and tag were both asked, once, whatever the repeats in either list."""
    drafts = [(a, tag) for a in (30, 31, 32) for tag in ("PAIRTAGA", "PAIRTAGB", "PAIRTAGC")]
    sent = store(client, *(build_message_transaction(address(a), tag, b"%d" % a, 1) for a, tag in drafts))
    by_pair = dict(zip(drafts, sent, strict=True))
    for asked_addresses, asked_tags in [
        ([30, 32], ["PAIRTAGA", "PAIRTAGC"]),
        ([31, 31, 33], ["PAIRTAGB", "PAIRTAGB", "NOSUCHTAG"]),
        ([30, 31, 32], ["PAIRTAGC"]),
    ]:
        answer = client.find_transactions(addresses=[address(a) for a in asked_addresses], tags=asked_tags)
        wanted = {h for (a, tag), h in by_pair.items() if a in asked_addresses and tag in asked_tags}
        assert sorted(answer) == sorted(wanted) and len(answer) == len(wanted)


def test_tags_fall_back_to_obsolete_tags_like_iri(client):
    draft = build_message_transaction(address(20), "NEWTAGXYZ", b"t", 1)
    old = draft.replace(obsolete_tag="OLDTAGXYZ".ljust(27, "9"))
    (stored,) = store(client, old)
    assert client.find_transactions(tags=["NEWTAGXYZ"]) == [stored]
    assert client.find_transactions(tags=["OLDTAGXYZ"]) == [stored]  # no tag matches: obsolete tags searched
    assert client.find_transactions(tags=["NEWTAGXYZ", "NOSUCHTAG"]) == [stored]
    assert client.find_transactions(addresses=[address(20)], tags=["OLDTAGXYZ"]) == [stored]  # with addresses too
    assert client.find_transactions(addresses=[address(21)], tags=["OLDTAGXYZ"]) == []


def test_unknown_hashes_read_as_nines_and_are_not_included(client):
    assert client.get_trytes([address(30)]) == ["9" * 2673]
    assert client.get_inclusion_states([address(30)]) == [False]
    with pytest.raises(NodeError, match="One of the tips is absent"):
        client.get_inclusion_states([address(30)], tips=[address(31)])


def test_store_keeps_broadcast_does_not(client):
    transaction = build_message_transaction(address(40), "STORE", b"s", 1)
    client.broadcast_transactions([transaction.as_trytes()])
    assert client.get_inclusion_states([transaction.hash]) == [False]
    store(client, transaction)
    store(client, transaction)  # storing a known transaction changes nothing
    assert client.find_transactions(addresses=[address(40)]) == [transaction.hash]


def test_tips_on_an_empty_tangle_are_the_null_hash():
    with DevNode(port=0) as empty:
        empty_client = NodeClient(empty.url)
        assert empty_client.get_transactions_to_approve(depth=0) == (NULL_HASH, NULL_HASH)
        assert empty_client.get_node_info()["latestMilestone"] == NULL_HASH
        with pytest.raises(NodeError, match="Invalid depth input") as refused:
            empty_client.get_transactions_to_approve(depth=16)
        assert refused.value.status == 400
        status, answer = post(empty.url, {"command": "getTransactionsToApprove", "depth": 3, "reference": "A" * 81})
        assert (status, answer["error"]) == (400, "reference transaction not found")


def test_attach_chains_a_bundle_like_iri(client):
    head_draft = build_message_transaction(address(50), "", b"head", 7)
    bundle = finalize_bundle(
        [head_draft.replace(obsolete_tag="OBS".ljust(27, "9")), head_draft.replace(address=address(51))]
    )
    trunk, branch = "T" * 81, "B" * 81
    before = int(time.time() * 1000)
    # Clients send the bundle head (last index) first; IRI answers tail first.
    tail, head = (
        Transaction.from_trytes(t)
        for t in client.attach_to_tangle(trunk, branch, 14, [t.as_trytes() for t in reversed(bundle)])
    )
    assert (head.current_index, tail.current_index) == (1, 0)
    assert (head.trunk, head.branch) == (trunk, branch)
    assert (tail.trunk, tail.branch) == (head.hash, trunk)
    # An empty tag takes the obsolete tag (which finalizing may have incremented).
    assert tail.tag == bundle[0].obsolete_tag and tail.tag.endswith("S" + "9" * 24)
    for attached, original in ((tail, bundle[0]), (head, bundle[1])):
        assert before <= attached.attachment_timestamp <= int(time.time() * 1000)
        assert (attached.attachment_timestamp_lower, attached.attachment_timestamp_upper) == (0, MAX_TIMESTAMP)
        assert attached.bundle_essence() == original.bundle_essence()
        assert attached.signature_message_fragment == original.signature_message_fragment


@pytest.mark.parametrize("weight", [0, 244, "14", 14.5, True])
def test_attach_checks_the_weight_magnitude(node, weight):
    trytes = build_message_transaction(address(60), "", b"", 1).as_trytes()
    status, answer = post(
        node.url,
        {
            "command": "attachToTangle",
            "trunkTransaction": NULL_HASH,
            "branchTransaction": NULL_HASH,
            "minWeightMagnitude": weight,
            "trytes": [trytes],
        },
    )
    assert (status, answer["error"]) == (400, "Invalid minWeightMagnitude input")


def test_send_checks_its_input(client):
    with pytest.raises(ValueError, match="does not fit"):
        send(client, address(70), "TAG", b"x" * (MAX_MESSAGE_BYTES + 1), now=NOW)
    with pytest.raises(ValueError, match="timezone"):
        send(client, address(70), "TAG", b"x", now=datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        send(client, "not an address", "TAG", b"x", now=NOW)
    with pytest.raises(ValueError):
        send(client, address(70), "T" * 28, b"x", now=NOW)
    largest = bytes(range(256)) * 4 + b"\xff" * (MAX_MESSAGE_BYTES - 1024)
    sent = send(client, address(70), "TAG", largest, now=NOW)
    (trytes,) = client.get_trytes([sent])
    assert trytes_to_bytes(Transaction.from_trytes(trytes).signature_message_fragment) == largest


def test_client_batches_long_lists(node):
    batched = NodeClient(node.url, max_request_list=2)
    sent = [send(batched, address(80 + i), "BATCH", b"%d" % i, now=NOW) for i in range(3)]
    addresses = [address(80 + i) for i in range(5)]
    assert batched.find_transactions(addresses=addresses, tags=["BATCH"]) == sent
    assert batched.get_trytes([*sent, address(99)])[3] == "9" * 2673
    assert batched.get_inclusion_states([*sent, address(99)]) == [True, True, True, False]
    with pytest.raises(ValueError, match="may exceed"):
        batched.find_transactions(addresses=addresses, bundles=[NULL_HASH.replace("9", "A")] * 3)


# -- the wire protocol, as legacy clients see it ---------------------------------------------------


def test_pyota_send_transfer_exchange(node):
    """The requests PyOTA's send_transfer and readers make, and exactly the keys IRI answers with."""
    transaction = build_message_transaction(address(100), "PYOTA", b"legacy", 1)
    status, tips = post(node.url, {"command": "getTransactionsToApprove", "depth": 3})
    assert status == 200 and set(tips) == {"trunkTransaction", "branchTransaction", "duration"}
    status, attached = post(
        node.url,
        {
            "command": "attachToTangle",
            "trunkTransaction": tips["trunkTransaction"],
            "branchTransaction": tips["branchTransaction"],
            "minWeightMagnitude": 14,
            "trytes": [transaction.as_trytes()],
        },
    )
    assert status == 200 and set(attached) == {"trytes", "duration"} and isinstance(attached["duration"], int)
    for command in ("storeTransactions", "broadcastTransactions"):
        status, answer = post(node.url, {"command": command, "trytes": attached["trytes"]})
        assert status == 200 and set(answer) == {"duration"}
    status, found = post(node.url, {"command": "findTransactions", "addresses": [address(100)]})
    assert status == 200 and set(found) == {"hashes", "duration"} and len(found["hashes"]) == 1
    status, read = post(node.url, {"command": "getTrytes", "hashes": found["hashes"]})
    assert (status, read["trytes"]) == (200, attached["trytes"])
    status, states = post(
        node.url, {"command": "getInclusionStates", "transactions": found["hashes"], "tips": [tips["trunkTransaction"]]}
    )
    assert (status, set(states), states["states"]) == (200, {"states", "duration"}, [True])


@pytest.mark.parametrize(
    ("body", "headers", "status", "key", "message"),
    [
        ({"command": "getNodeInfo"}, {"Content-Type": "application/json"}, 400, "error", "Invalid API Version"),
        ({"command": "getTips"}, None, 400, "error", "Command [getTips] is unknown"),
        ({"depth": 3}, None, 400, "error", "COMMAND parameter has not been specified in the request."),
        ({"command": "findTransactions"}, None, 400, "error", "Invalid parameters"),
        ({"command": "findTransactions", "addresses": [CHECKSUMMED]}, None, 400, "error", "Invalid addresses input"),
        ({"command": "findTransactions", "bundles": [NULL_HASH]}, None, 400, "error", "Invalid bundles input"),
        ({"command": "findTransactions", "tags": [""]}, None, 400, "error", "Invalid tag input"),
        ({"command": "findTransactions", "tags": ["lower"]}, None, 400, "error", "Invalid tags input"),
        ({"command": "getTrytes", "hashes": "A" * 81}, None, 400, "error", "Invalid hashes input"),
        ({"command": "getTrytes", "hashes": ["A" * 81] * 1001}, None, 400, "error", "Could not complete request"),
        ({"command": "storeTransactions", "trytes": ["9" * 2672]}, None, 400, "error", "Invalid trytes input"),
        ({"command": "getTransactionsToApprove"}, None, 400, "error", "Invalid parameters"),
        (
            {
                "command": "attachToTangle",
                "trunkTransaction": "A",
                "branchTransaction": NULL_HASH,
                "minWeightMagnitude": 14,
                "trytes": [],
            },
            None,
            400,
            "error",
            "Invalid trunkTransaction input",
        ),
        (b"{not json", None, 500, "exception", "Invalid request payload"),
        (b"[]", None, 500, "exception", "Invalid request payload"),
    ],
)
def test_iri_error_answers(node, body, headers, status, key, message):
    answered, answer = post(node.url, body, headers)
    assert answered == status
    assert set(answer) == {key, "duration"} and answer[key].startswith(message)


@pytest.mark.parametrize(
    ("command", "name", "item"),
    [
        ("findTransactions", "addresses", "A" * 81),
        ("findTransactions", "bundles", "A" * 81),
        ("findTransactions", "approvees", "A" * 81),
        ("findTransactions", "tags", "LIMITTAG"),
        ("getTrytes", "hashes", "A" * 81),
        ("getInclusionStates", "transactions", "A" * 81),
    ],
)
def test_lists_beyond_max_requests_list_are_refused_like_iri(node, command, name, item):
    # IRI's --max-requests-list (1,000): at the limit answered, one more refused with IRI's error.
    at_limit, _ = post(node.url, {"command": command, name: [item] * 1000})
    over, answer = post(node.url, {"command": command, name: [item] * 1001})
    assert at_limit == 200
    assert (over, answer["error"], set(answer)) == (400, "Could not complete request", {"error", "duration"})


def test_find_answers_beyond_max_find_transactions_are_refused_like_iri():
    # IRI's --max-find-transactions applies to the ANSWER (the intersection of the kinds given),
    # not to any one kind's matches; default 100,000, as IRI's.
    assert DevNode().max_find_transactions == 100_000
    with DevNode(port=0, max_find_transactions=3) as small:
        client = NodeClient(small.url, timeout=5)
        sent = store(client, *(build_message_transaction(address(600 + i), "CAPTAG", b"%d" % i, 1) for i in range(4)))
        status, answer = post(small.url, {"command": "findTransactions", "tags": ["CAPTAG"]})
        assert (status, answer["error"], set(answer)) == (400, "Could not complete request", {"error", "duration"})
        with pytest.raises(NodeError, match="Could not complete request"):
            client.find_transactions(tags=["CAPTAG"])
        three = [address(600 + i) for i in range(3)]
        assert client.find_transactions(addresses=three, tags=["CAPTAG"]) == sent[:3]  # 3 in the answer: served
        assert client.find_transactions(addresses=three, tags=["CAPTAG"] + ["NOTHING"] * 999) == sent[:3]
    with pytest.raises(ValueError):
        DevNode(max_find_transactions=0)


def test_client_keeps_trytes_requests_within_the_body_limit(client, node):
    # IRI's --max-body-length (1,000,000 bytes) holds ~370 transactions: 1,000 would be refused.
    # one built transaction (building costs a bundle's Kerl work), 400 distinct ones by their tags
    base = build_message_transaction(address(700), "BODYTAG", b"body", 1)
    many = [base.replace(tag=pad_tag("BODY" + ALPHABET[i // 27] + ALPHABET[i % 27])) for i in range(400)]
    status, answer = post(node.url, {"command": "storeTransactions", "trytes": [t.as_trytes() for t in many]})
    assert (status, answer["error"]) == (400, "Request too long")
    assert len(store(client, *many)) == 400
    assert len(client.find_transactions(addresses=[address(700)])) == 400


def test_the_audit_publisher_asks_within_the_answer_limit():
    # Each record has its own address: the publisher's one question answers that record's
    # publications only, so even a node answering at most 1 hash serves it.
    from etp.audit import trail

    with DevNode(port=0, max_find_transactions=1) as small:
        client = NodeClient(small.url, timeout=5)
        tag = pad_tag(trail.TAGS[trail.CLEARING])
        first = trail.publish(client, "clearing#2026-11-25T10:00:00Z", tag, b"{}", NOW)
        assert trail.publish(client, "clearing#2026-11-25T10:00:00Z", tag, b"{}", NOW) == first
        other = trail.publish(client, "clearing#2026-11-25T11:00:00Z", tag, b"{}", NOW)
        assert other != first
        assert len(small.tangle or []) == 2


def test_devnode_command_line_sets_the_answer_limit(monkeypatch):
    from etp_devnode import __main__ as cli

    started: list[int] = []

    class Stopped(Exception):
        pass

    def fake_node(host, port, state, *, max_find_transactions):
        started.append(max_find_transactions)
        raise Stopped

    monkeypatch.setattr(cli, "DevNode", fake_node)
    with pytest.raises(Stopped):
        cli.main(["--port", "0", "--max-find-transactions", "500"])
    with pytest.raises(Stopped):
        cli.main(["--port", "0"])
    assert started == [500, 100_000]
    with pytest.raises(SystemExit):
        cli.main(["--max-find-transactions", "0"])


def test_any_api_version_header_is_accepted_like_iri(node):
    # IRI only checks that X-IOTA-API-Version is present.
    assert post(node.url, {"command": "getNodeInfo"}, {"X-IOTA-API-Version": "2"})[0] == 200


def test_request_body_limit(node):
    status, answer = post(node.url, b" " * 1_000_001)
    assert (status, answer["error"]) == (400, "Request too long")


# -- persistence ------------------------------------------------------------------------------------


def test_state_survives_a_restart(tmp_path):
    state = tmp_path / "tangle.txt"
    with DevNode(port=0, state_path=state) as first:
        sent = [send(NodeClient(first.url), address(200), "PERSIST", b"%d" % i, now=NOW) for i in range(2)]
        before = NodeClient(first.url).get_trytes(sent)
    with DevNode(port=0, state_path=state) as second:
        again = NodeClient(second.url)
        assert again.find_transactions(addresses=[address(200)]) == sent
        assert again.get_trytes(sent) == before
        assert again.get_transactions_to_approve()[0] == sent[1]  # the only tip
        assert again.get_node_info()["latestMilestone"] == sent[1]


def test_a_torn_last_write_is_dropped_and_cut(tmp_path):
    state = tmp_path / "tangle.txt"
    with DevNode(port=0, state_path=state) as first:
        sent = send(NodeClient(first.url), address(210), "TORN", b"ok", now=NOW)
    intact = state.read_bytes()
    state.write_bytes(intact + intact[:500])  # a crash in the middle of the next write
    with DevNode(port=0, state_path=state) as second:
        assert NodeClient(second.url).find_transactions(addresses=[address(210)]) == [sent]
    assert state.read_bytes() == intact


def test_a_corrupt_line_stops_the_start(tmp_path):
    state = tmp_path / "tangle.txt"
    state.write_text("not a transaction\n")
    with pytest.raises(CorruptState):
        DevNode(port=0, state_path=state).start()


# -- the client against broken nodes ----------------------------------------------------------------


Reply = tuple[int, bytes]


@contextmanager
def fake_node(reply: Callable[[dict], Reply]) -> Iterator[tuple[str, list]]:
    """An HTTP server answering every POST with `reply(request)`; yields its URL and what it received."""
    received: list = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append((self.headers, body))  # case-insensitive, as HTTP header names are
            status, payload = reply(body)
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", received
    finally:
        server.shutdown()
        server.server_close()


def answering(status: int, payload: Any) -> Callable[[dict], Reply]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return lambda _request: (status, body)


def test_the_client_sends_the_legacy_headers():
    with fake_node(answering(200, {"hashes": [], "duration": 1})) as (url, received):
        assert NodeClient(url).find_transactions(addresses=[address(1)]) == []
    headers, body = received[0]
    assert headers["X-IOTA-API-Version"] == "1" and headers["Content-Type"] == "application/json"
    assert body == {"command": "findTransactions", "addresses": [address(1)]}


def test_node_down_is_unavailable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(NodeUnavailable):
        NodeClient(f"http://127.0.0.1:{port}").get_node_info()
    with pytest.raises(NodeUnavailable):
        NodeClient("http://iota-node.invalid:14265").get_node_info()


def test_a_slow_node_times_out():
    def slow(_request: dict) -> Reply:
        time.sleep(1)
        return 200, b"{}"

    with fake_node(slow) as (url, _), pytest.raises(NodeUnavailable):
        NodeClient(url, timeout=0.2).store_transactions(["9" * 2673])


@pytest.mark.parametrize(
    ("status", "payload", "error"),
    [
        (500, {"exception": "boom"}, NodeUnavailable),
        (503, b"maintenance", NodeUnavailable),
        (400, {"error": "Invalid depth input", "duration": 0}, NodeError),
        (401, {"error": "COMMAND getTransactionsToApprove is not available on this node"}, NodeError),
        (404, b"<html>not found</html>", NodeError),
        (302, b"", NodeProtocolError),
        (200, b"<html>hello</html>", NodeProtocolError),
        (200, [], NodeProtocolError),
        (200, {"trunkTransaction": "A" * 81}, NodeProtocolError),
        (200, {"trunkTransaction": "A" * 81, "branchTransaction": 12}, NodeProtocolError),
        (200, {"trunkTransaction": "a" * 81, "branchTransaction": "A" * 81}, NodeProtocolError),
        (200, {"error": "odd but possible"}, NodeError),
    ],
)
def test_broken_answers(status, payload, error):
    with fake_node(answering(status, payload)) as (url, _), pytest.raises(error):
        NodeClient(url).get_transactions_to_approve()


def test_node_errors_carry_the_message():
    refusal = answering(400, {"error": "Invalid depth input", "duration": 0})
    with fake_node(refusal) as (url, _), pytest.raises(NodeError) as refused:
        NodeClient(url).get_transactions_to_approve(99)
    assert (refused.value.message, refused.value.status) == ("Invalid depth input", 400)
    assert str(refused.value) == "getTransactionsToApprove: node answered 400: Invalid depth input"


@pytest.mark.parametrize(
    ("command", "payload"),
    [
        ("find", {"hashes": ["A" * 80]}),
        ("find", {"hashes": "A" * 81}),
        ("trytes", {"trytes": []}),
        ("trytes", {"trytes": ["9" * 2672]}),
        ("states", {"states": [1]}),
        ("states", {}),
        ("info", {"appName": "IRI", "appVersion": "1.8.6", "latestMilestone": "A" * 81}),
    ],
)
def test_wrong_shapes(command, payload):
    calls = {
        "find": lambda c: c.find_transactions(bundles=["A" * 81]),
        "trytes": lambda c: c.get_trytes(["A" * 81]),
        "states": lambda c: c.get_inclusion_states(["A" * 81]),
        "info": lambda c: c.get_node_info(),
    }
    with fake_node(answering(200, payload)) as (url, _), pytest.raises(NodeProtocolError):
        calls[command](NodeClient(url))


def test_a_peer_that_does_not_speak_http():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()

        def garbage() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(b"\x00\x01 this is not HTTP\r\n\r\n")

        threading.Thread(target=garbage, daemon=True).start()
        with pytest.raises(NodeProtocolError):
            NodeClient(f"http://127.0.0.1:{listener.getsockname()[1]}").get_node_info()


def test_send_refuses_a_node_that_changes_the_transaction():
    def tampering(request: dict) -> Reply:
        if request["command"] == "getTransactionsToApprove":
            return 200, json.dumps({"trunkTransaction": "A" * 81, "branchTransaction": "B" * 81}).encode()
        trytes = request["trytes"][0]
        changed = trytes[:10] + ALPHABET[(ALPHABET.index(trytes[10]) + 1) % 27] + trytes[11:]
        return 200, json.dumps({"trytes": [changed]}).encode()

    with fake_node(tampering) as (url, received), pytest.raises(NodeProtocolError, match="changed"):
        send(NodeClient(url), address(300), "TAG", b"message", now=NOW)
    assert [body["command"] for _, body in received] == ["getTransactionsToApprove", "attachToTangle"]


def test_client_refuses_bad_arguments(client):
    with pytest.raises(ValueError):
        NodeClient("ftp://node")
    with pytest.raises(ValueError):
        client.find_transactions()
    with pytest.raises(ValueError):
        client.get_trytes(["short"])
    with pytest.raises(ValueError):
        client.attach_to_tangle("A" * 81, "B" * 81, 14, ["9" * 10])


def test_the_explorer_page_shows_a_stored_transaction_and_404s_otherwise():
    from etp.iota.send import send

    with DevNode("127.0.0.1", 0) as node:
        tx_hash = send(NodeClient(node.url), "A" * 81, "EXPLORER9TEST", b'{"hello": "tangle"}')
        page = requests.get(f"{node.url}/explorer/transaction/{tx_hash}", timeout=5)
        assert page.status_code == 200
        assert page.json()["hash"] == tx_hash and page.json()["message"] == '{"hello": "tangle"}'
        assert page.json()["tag"].startswith("EXPLORER9TEST")
        for missing in ("9" * 81, "B" * 81, "not-a-hash"):
            assert requests.get(f"{node.url}/explorer/transaction/{missing}", timeout=5).status_code == 404
