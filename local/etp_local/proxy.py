"""A thin HTTP proxy: 127.0.0.1:3000/<path> -> MiniStack's execute-api URL of the deployed API.

It forwards method, path, query, headers and body unchanged, so a browser front end can use
http://127.0.0.1:3000 as its API base URL (the CORS answers come from the functions).

A WebSocket upgrade of /events (`ws://127.0.0.1:3000/events?token=<bearer>`) goes to the events
upstream instead (MiniStack's ws URL of the WebSocket API, `.../_aws/execute-api/<id>/Prod`): the
handshake is sent on with the path rewritten and the query kept, and from then on the bytes are
relayed both ways unchanged, the handshake's answer (101, or the refusal) included.
"""

import contextlib
import http.client
import logging
import socket
import threading
import time
from collections.abc import Callable
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import SplitResult, urlsplit

log = logging.getLogger("etp.proxy")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"}


EVENTS_PATH = "/events"
RELAY_CHUNK = 65536


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


def _upgrade_request(path: str, headers: Message, target: SplitResult) -> bytes:
    """The client's upgrade request, for `target`: its path (the query kept) and Host; other headers as sent."""
    query = urlsplit(path).query
    lines = [f"GET {target.path.rstrip('/') or '/'}{'?' + query if query else ''} HTTP/1.1", f"Host: {target.netloc}"]
    lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() != "host"]
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
        remote.sendall(_upgrade_request(handler.path, handler.headers, target))
        back = threading.Thread(target=_relay, args=(remote, handler.connection, note_status), daemon=True)
        back.start()
        with contextlib.suppress(OSError):  # client -> upstream, starting with what the reader buffered
            while chunk := handler.rfile.read1(RELAY_CHUNK):
                remote.sendall(chunk)
        _end_sending(remote)
        back.join()
    if status == ["101"]:
        log.info("WS %s closed after %.0f s", EVENTS_PATH, time.monotonic() - started)


def make_handler(upstream: str, events: str | None = None) -> type[BaseHTTPRequestHandler]:
    target = urlsplit(upstream)
    events_target = urlsplit(events) if events else None

    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            if events_target is not None and urlsplit(self.path).path.rstrip("/") == EVENTS_PATH:
                tunnel(self, events_target)
                return
            started = time.monotonic()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=60)
            try:
                connection.request(self.command, target.path.rstrip("/") + self.path, body=body, headers=headers)
                answer = connection.getresponse()
                payload = answer.read()
            except OSError as error:
                self.send_error(502, f"upstream unavailable: {error}")
                return
            finally:
                connection.close()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in HOP_BY_HOP and name.lower() not in ("date", "server"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            log.info(
                "%s %s -> %s (%.0f ms)",
                self.command,
                self.path.split("?")[0],
                answer.status,
                (time.monotonic() - started) * 1000,
            )

        def __getattr__(self, name: str):
            # every method goes upstream (TRACE, QUERY, ... too): API Gateway, not this proxy, answers
            # one that no route takes, with a 4xx (http.server alone would answer 501)
            if name.startswith("do_"):
                return self._forward
            raise AttributeError(name)

        def log_message(self, format: str, *args) -> None:  # the forward logs one line itself
            pass

    return Forward


class Proxy:
    """`upstream`: the REST API's execute-api URL; `events`: the WebSocket API's ws:// URL (None: no /events)."""

    def __init__(self, port: int, upstream: str, events: str | None = None):
        self.server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(upstream, events))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="proxy", daemon=True)

    def start(self) -> "Proxy":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
