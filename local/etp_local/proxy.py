"""A thin HTTP proxy: 127.0.0.1:3000/<path> -> MiniStack's execute-api URL of the deployed API.

It forwards method, path, query, headers and body unchanged, so a browser front end can use
http://127.0.0.1:3000 as its API base URL (the CORS answers come from the functions).
"""

import http.client
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

log = logging.getLogger("etp.proxy")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"}


def make_handler(upstream: str) -> type[BaseHTTPRequestHandler]:
    target = urlsplit(upstream)

    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
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

        do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = do_HEAD = _forward

        def log_message(self, format: str, *args) -> None:  # the forward logs one line itself
            pass

    return Forward


class Proxy:
    def __init__(self, port: int, upstream: str):
        self.server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(upstream))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="proxy", daemon=True)

    def start(self) -> "Proxy":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
