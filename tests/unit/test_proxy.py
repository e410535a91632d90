"""The :3000 proxy forwards method, path, query, headers and body, and relays the answer unchanged."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

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

    do_GET = do_POST = do_DELETE = do_OPTIONS = _echo

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


def test_a_dead_upstream_gives_502():
    proxy = Proxy(0, "http://127.0.0.1:9/_aws/execute-api/abc/Prod").start()
    try:
        assert requests.get(f"{proxy.url}/user", timeout=5).status_code == 502
    finally:
        proxy.stop()
