"""A thin HTTP proxy: 127.0.0.1:3000/<path> -> MiniStack's execute-api URL of the deployed API.

It forwards method, path, query, headers (X-Forwarded-For aside, below) and body unchanged, so a
browser front end can use http://127.0.0.1:3000 as its API base URL (the CORS answers come from the
functions).

A WebSocket upgrade of /events (`ws://127.0.0.1:3000/events?token=<bearer>`) goes to the events
upstream instead (MiniStack's ws URL of the WebSocket API, `.../_aws/execute-api/<id>/Prod`): the
handshake is sent on with the path rewritten and the query kept, and from then on the bytes are
relayed both ways unchanged, the handshake's answer (101, or the refusal) included.

What API Gateway would see of the client, the upstream sees: any `X-Forwarded-For` the client sent
is replaced by the TCP peer's address (MiniStack makes the first address of that header the event's
`requestContext.identity.sourceIp`, where API Gateway takes the TCP peer; a client could otherwise
name any address it likes, and the login policy counts failures by source address).

It holds up to LISTEN_BACKLOG connections waiting to be accepted (http.server's default is 5: a
burst of clients got resets), and passes at most `max_upstream` requests on at a time (None: no
limit): MiniStack refuses a Lambda invocation past its concurrency cap with 429, so the requests
past it wait here, in arrival order, for up to QUEUE_WAIT seconds, and then get API Gateway's own
throttle answer, 429 `{"message": "Too Many Requests"}`.
"""

import contextlib
import http.client
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import SplitResult, urlsplit

log = logging.getLogger("etp.proxy")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"}


EVENTS_PATH = "/events"
RELAY_CHUNK = 65536
LISTEN_BACKLOG = 1024
QUEUE_WAIT = 60.0
THROTTLED = b'{"message": "Too Many Requests"}'


def _end_sending(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)


def _relay(source: socket.socket, sink: socket.socket, first: Callable[[bytes], None]) -> None:
    """Copies bytes from `source` to `sink` until `source` ends (`first` sees the first chunk), then ends `sink`."""
    with contextlib.suppress(OSError):
        if chunk := source.recv(RELAY_CHUNK):
            first(chunk)
            sink.sendall(chunk)
            while chunk := source.recv(RELAY_CHUNK):
                sink.sendall(chunk)
    _end_sending(sink)


def forwarded_headers(headers: Message, peer: str, drop: set[str]) -> dict[str, str]:
    """The client's headers but `drop`, with X-Forwarded-For saying the TCP peer's address only."""
    kept = {k: v for k, v in headers.items() if k.lower() not in drop and k.lower() != "x-forwarded-for"}
    return kept | {"X-Forwarded-For": peer}


def _upgrade_request(path: str, headers: Message, target: SplitResult, peer: str) -> bytes:
    """The client's upgrade request, for `target`: its path (the query kept), Host and X-Forwarded-For;
    other headers as sent."""
    query = urlsplit(path).query
    lines = [f"GET {target.path.rstrip('/') or '/'}{'?' + query if query else ''} HTTP/1.1", f"Host: {target.netloc}"]
    lines += [f"{name}: {value}" for name, value in forwarded_headers(headers, peer, {"host"}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def tunnel(handler: BaseHTTPRequestHandler, target: SplitResult) -> None:
    """A WebSocket upgrade: the request on to `target`, then bytes both ways until either side ends."""
    started = time.monotonic()
    if "websocket" not in (handler.headers.get("Upgrade") or "").lower():
        handler.send_error(426, "a WebSocket upgrade is expected here")
        return
    try:
        remote = socket.create_connection((target.hostname or "127.0.0.1", target.port or 80), timeout=10)
    except OSError as error:
        handler.send_error(502, f"events upstream unavailable: {error}")
        return
    handler.close_connection = True  # the client's connection belongs to the tunnel from here on
    status: list[str] = []

    def note_status(chunk: bytes) -> None:
        first_line = chunk.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
        status.append(first_line[1] if len(first_line) > 1 else "?")
        log.info("WS %s -> %s (%.0f ms)", EVENTS_PATH, status[0], (time.monotonic() - started) * 1000)

    with remote:
        remote.settimeout(None)
        remote.sendall(_upgrade_request(handler.path, handler.headers, target, handler.client_address[0]))
        back = threading.Thread(target=_relay, args=(remote, handler.connection, note_status), daemon=True)
        back.start()
        with contextlib.suppress(OSError):  # client -> upstream, starting with what the reader buffered
            while chunk := handler.rfile.read1(RELAY_CHUNK):
                remote.sendall(chunk)
        _end_sending(remote)
        back.join()
    if status == ["101"]:
        log.info("WS %s closed after %.0f s", EVENTS_PATH, time.monotonic() - started)


class Throttled(Exception):
    """No upstream slot freed within QUEUE_WAIT."""


@contextlib.contextmanager
def upstream_slot(gate: threading.BoundedSemaphore | None) -> Iterator[None]:
    """One of the `max_upstream` slots, waited for in arrival order (none to wait for without a gate)."""
    if gate is None:
        yield
        return
    if not gate.acquire(timeout=QUEUE_WAIT):
        raise Throttled
    try:
        yield
    finally:
        gate.release()


class Forward(BaseHTTPRequestHandler):
    """Forwards every request to `target` (make_handler sets it), /events to `events_target`."""

    protocol_version = "HTTP/1.1"
    target: SplitResult
    events_target: SplitResult | None = None
    gate: threading.BoundedSemaphore | None = None

    def _forward(self) -> None:
        if self.events_target is not None and urlsplit(self.path).path.rstrip("/") == EVENTS_PATH:
            tunnel(self, self.events_target)
            return
        started = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        try:
            with upstream_slot(self.gate):
                status, headers, payload = self._upstream(body)
        except Throttled:
            status, headers, payload = 429, [("Content-Type", "application/json"), ("Retry-After", "1")], THROTTLED
        except OSError as error:
            self.send_error(502, f"upstream unavailable: {error}")
            return
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in HOP_BY_HOP and name.lower() not in ("date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        path = self.path.split("?")[0]
        log.info("%s %s -> %s (%.0f ms)", self.command, path, status, (time.monotonic() - started) * 1000)

    def _upstream(self, body: bytes | None) -> tuple[int, list[tuple[str, str]], bytes]:
        headers = forwarded_headers(self.headers, self.client_address[0], HOP_BY_HOP)
        target = self.target
        connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=60)
        try:
            connection.request(self.command, target.path.rstrip("/") + self.path, body=body, headers=headers)
            answer = connection.getresponse()
            return answer.status, answer.getheaders(), answer.read()
        finally:
            connection.close()

    def __getattr__(self, name: str):
        # every method goes upstream (TRACE, QUERY, ... too): API Gateway, not this proxy, answers
        # one that no route takes, with a 4xx (http.server alone would answer 501)
        if name.startswith("do_"):
            return self._forward
        raise AttributeError(name)

    def log_message(self, format: str, *args) -> None:  # the forward logs one line itself
        pass


def make_handler(
    upstream: str, events: str | None = None, gate: threading.BoundedSemaphore | None = None
) -> type[BaseHTTPRequestHandler]:
    attributes = {"target": urlsplit(upstream), "events_target": urlsplit(events) if events else None, "gate": gate}
    return type("Forward", (Forward,), attributes)


class Server(ThreadingHTTPServer):
    request_queue_size = LISTEN_BACKLOG  # the listen backlog (the kernel caps it at net.core.somaxconn)
    daemon_threads = True


class Proxy:
    """`upstream`: the REST API's execute-api URL; `events`: the WebSocket API's ws:// URL (None: no /events);
    `max_upstream`: how many requests may be upstream at once (None: any number)."""

    def __init__(self, port: int, upstream: str, events: str | None = None, max_upstream: int | None = None):
        gate = threading.BoundedSemaphore(max_upstream) if max_upstream else None
        self.server = Server(("127.0.0.1", port), make_handler(upstream, events, gate))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="proxy", daemon=True)

    def start(self) -> "Proxy":
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for serve_forever, which never started otherwise
            self.server.shutdown()
        self.server.server_close()
