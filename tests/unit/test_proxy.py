"""The :3000 proxy forwards method, path, query, headers and body, and relays the answer unchanged,
with X-Forwarded-For saying the TCP peer's address (what API Gateway takes for sourceIp); it tunnels
a WebSocket upgrade of /events to the events upstream; it holds a burst of connections in its listen
queue, and lets at most `max_upstream` requests upstream at once, the others waiting their turn."""

import json
import socket
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.sync.server import serve

from etp_local import proxy as proxies
from etp_local.proxy import Proxy


class Upstream(BaseHTTPRequestHandler):
    def _echo(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "auth": self.headers.get("Authorization"),
                "forwarded_for": self.headers.get_all("X-Forwarded-For"),
                "body": self.rfile.read(length).decode() if length else None,
            }
        ).encode()
        self.send_response(418)
        self.send_header("Content-Type", "application/json")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = do_OPTIONS = do_TRACE = do_QUERY = _echo

    def log_message(self, *args):
        pass


def test_requests_and_answers_pass_through():
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    proxy = Proxy(0, f"http://127.0.0.1:{upstream.server_address[1]}/_aws/execute-api/abc/Prod").start()
    try:
        answer = requests.delete(
            f"{proxy.url}/bidsubmit?x=1&x=2", json={"id": "b-1"}, headers={"Authorization": "Bearer t"}, timeout=5
        )
        assert answer.status_code == 418
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
        assert answer.json() == {
            "method": "DELETE",
            "path": "/_aws/execute-api/abc/Prod/bidsubmit?x=1&x=2",
            "auth": "Bearer t",
            "forwarded_for": ["127.0.0.1"],
            "body": '{"id": "b-1"}',
        }
    finally:
        proxy.stop()
        upstream.shutdown()


@pytest.mark.parametrize("method", ["TRACE", "QUERY"])
def test_any_method_goes_upstream_which_answers_it(method):
    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    proxy = Proxy(0, f"http://127.0.0.1:{upstream.server_address[1]}/_aws/execute-api/abc/Prod").start()
    try:
        answer = requests.request(method, f"{proxy.url}/user", timeout=5)
        assert answer.status_code == 418
        assert answer.json()["method"] == method
    finally:
        proxy.stop()
        upstream.shutdown()


@contextmanager
def echo_upstream(handler: type[BaseHTTPRequestHandler] = Upstream):
    upstream = proxies.Server(("127.0.0.1", 0), handler)  # a listen queue as deep as the proxy's
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{upstream.server_address[1]}/_aws/execute-api/abc/Prod"
    finally:
        upstream.shutdown()
        upstream.server_close()


def test_a_forged_x_forwarded_for_is_replaced_by_the_peer_address():
    with echo_upstream() as upstream:
        proxy = Proxy(0, upstream).start()
        try:
            forged = {"X-Forwarded-For": "203.0.113.7, 198.51.100.1", "x-forwarded-for": "192.0.2.1"}
            answer = requests.post(f"{proxy.url}/login", json={}, headers=forged, timeout=5)
        finally:
            proxy.stop()
    assert answer.json()["forwarded_for"] == ["127.0.0.1"]


def test_an_events_upgrade_says_the_peer_address_too():
    with (
        echo_server() as upstream,
        events_proxy(upstream) as events,
        connect(events, additional_headers={"X-Forwarded-For": "203.0.113.7"}, open_timeout=5) as websocket,
    ):
        websocket.send("hello")
        assert json.loads(websocket.recv(timeout=5))["forwarded_for"] == ["127.0.0.1"]


def test_a_burst_of_200_connections_waits_in_the_listen_queue_and_every_one_is_answered():
    """200 clients connect and send before the proxy accepts any: each connect completes (the listen
    queue holds it; with http.server's default of 5, the 7th connect waits for an accept that never
    comes), and once the proxy serves, every one gets its answer, none is reset."""
    with echo_upstream() as upstream:
        proxy = Proxy(0, upstream)
        port = int(proxy.url.rsplit(":", 1)[1])
        clients = []
        try:
            for n in range(200):
                client = socket.create_connection(("127.0.0.1", port), timeout=3)
                clients.append(client)
                client.sendall(f"GET /bidsubmit?n={n} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            proxy.start()
            answers = [read_answer(client) for client in clients]
        finally:
            for client in clients:
                client.close()
            proxy.stop()
    assert [answer.split(b"\r\n", 1)[0] for answer in answers] == [b"HTTP/1.1 418 I'm a Teapot"] * 200
    assert [json.loads(answer.split(b"\r\n\r\n", 1)[1])["path"].rsplit("=", 1)[1] for answer in answers] == [
        str(n) for n in range(200)
    ]


def read_answer(client: socket.socket) -> bytes:
    client.settimeout(30)
    chunks = []
    while chunk := client.recv(65536):  # a reset raises ConnectionResetError
        chunks.append(chunk)
    return b"".join(chunks)


class SlowUpstream(Upstream):
    """Answers after 0.2 s, counting the requests it holds at once."""

    lock = threading.Lock()
    now = 0
    most = 0

    def _echo(self):
        with SlowUpstream.lock:
            SlowUpstream.now += 1
            SlowUpstream.most = max(SlowUpstream.most, SlowUpstream.now)
        time.sleep(0.2)
        with SlowUpstream.lock:
            SlowUpstream.now -= 1
        super()._echo()

    do_GET = _echo


def test_at_most_max_upstream_requests_go_upstream_at_once_the_others_wait_their_turn():
    SlowUpstream.most = 0
    with echo_upstream(SlowUpstream) as upstream:
        proxy = Proxy(0, upstream, max_upstream=2).start()
        statuses: list[int] = []
        try:
            burst = [
                threading.Thread(
                    target=lambda: statuses.append(requests.get(f"{proxy.url}/user", timeout=30).status_code)
                )
                for _ in range(8)
            ]
            for thread in burst:
                thread.start()
            for thread in burst:
                thread.join()
        finally:
            proxy.stop()
    assert statuses == [418] * 8
    assert SlowUpstream.most == 2


def test_a_request_that_finds_no_free_slot_in_time_gets_api_gateways_429(monkeypatch):
    monkeypatch.setattr(proxies, "QUEUE_WAIT", 0.1)
    with echo_upstream(SlowUpstream) as upstream:
        proxy = Proxy(0, upstream, max_upstream=1).start()
        try:
            held = threading.Thread(target=requests.get, args=(f"{proxy.url}/user",), kwargs={"timeout": 30})
            held.start()
            while SlowUpstream.now == 0:
                time.sleep(0.01)
            answer = requests.get(f"{proxy.url}/user", timeout=30)
            held.join()
        finally:
            proxy.stop()
    assert answer.status_code == 429
    assert answer.json() == {"message": "Too Many Requests"}
    assert answer.headers["Retry-After"] == "1"


def test_a_dead_upstream_gives_502():
    proxy = Proxy(0, "http://127.0.0.1:9/_aws/execute-api/abc/Prod").start()
    try:
        assert requests.get(f"{proxy.url}/user", timeout=5).status_code == 502
    finally:
        proxy.stop()


# The /events WebSocket: the upgrade goes to the events upstream (path rewritten, query kept), then
# frames pass both ways; a refused handshake comes back as the upstream answered it.


@contextmanager
def echo_server():
    """A loopback WebSocket server that echoes each message with the path it was reached on.

    `?refuse` in the query refuses the handshake with 403, as MiniStack does when $connect is not 2xx.
    """

    def refuse(connection, request):
        if "refuse" in request.path:
            return connection.respond(403, "refused\n")
        return None

    def echo(websocket):
        for message in websocket:
            text = message if isinstance(message, str) else f"{len(message)} bytes, ending {message[-3:]!r}"
            forwarded = websocket.request.headers.get_all("X-Forwarded-For")
            websocket.send(json.dumps({"path": websocket.request.path, "message": text, "forwarded_for": forwarded}))

    with serve(echo, "127.0.0.1", 0, process_request=refuse) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}/_aws/execute-api/ws1/Prod"
        finally:
            server.shutdown()


@contextmanager
def events_proxy(events: str):
    proxy = Proxy(0, "http://127.0.0.1:9/_aws/execute-api/abc/Prod", events=events).start()
    try:
        yield proxy.url.replace("http://", "ws://") + "/events"
    finally:
        proxy.stop()


def test_an_events_upgrade_is_tunnelled_to_the_websocket_upstream():
    with (
        echo_server() as upstream,
        events_proxy(upstream) as events,
        connect(f"{events}?token=a.b%2Bc", open_timeout=5) as websocket,
    ):
        websocket.send("hello")
        assert json.loads(websocket.recv(timeout=5)) == {
            "path": "/_aws/execute-api/ws1/Prod?token=a.b%2Bc",
            "message": "hello",
            "forwarded_for": ["127.0.0.1"],
        }
        websocket.send(b"\x00\x01" + b"x" * 200_000 + b"end")  # a large frame, in many chunks
        assert json.loads(websocket.recv(timeout=5))["message"] == "200005 bytes, ending b'end'"


def test_a_refused_handshake_reaches_the_client():
    with echo_server() as upstream, events_proxy(upstream) as events:
        with pytest.raises(InvalidStatus) as refused:
            connect(f"{events}?refuse=1", open_timeout=5)
        assert refused.value.response.status_code == 403


def test_events_without_an_upgrade_or_upstream():
    with events_proxy("ws://127.0.0.1:9/_aws/execute-api/ws1/Prod") as events:
        http_url = events.replace("ws://", "http://")
        assert requests.get(http_url, timeout=5).status_code == 426
        with pytest.raises(InvalidStatus) as unavailable:
            connect(f"{events}?token=t", open_timeout=5)
        assert unavailable.value.response.status_code == 502
