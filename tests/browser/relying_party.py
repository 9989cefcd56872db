"""What the browser tests share: chromium's launch settings and a stand-in relying party."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


class RelyingParty(ThreadingHTTPServer):
    """A stand-in client on loopback: records every path and query, answers a tiny page."""

    daemon_threads = True

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _RelyingPartyHandler)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def received(self, path: str) -> list[str]:
        with self.lock:
            return [r for r in self.requests if urlsplit(r).path == path]


class _RelyingPartyHandler(BaseHTTPRequestHandler):
    server: RelyingParty

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        with self.server.lock:
            self.server.requests.append(self.path)
        body = b"<!doctype html><title>RP</title><p>relying party</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@contextmanager
def relying_party() -> Iterator[RelyingParty]:
    server = RelyingParty()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
