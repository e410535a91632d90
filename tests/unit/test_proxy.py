"""The :3000 proxy forwards method, path, query, headers and body, and relays the answer unchanged;
it tunnels a WebSocket upgrade of /events to the events upstream."""

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect
from websockets.sync.server import serve

from etp_local.proxy import Proxy


class Upstream(BaseHTTPRequestHandler):
    def _echo(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "auth": self.headers.get("Authorization"),
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
            websocket.send(json.dumps({"path": websocket.request.path, "message": text}))

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
