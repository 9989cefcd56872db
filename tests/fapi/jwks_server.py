"""A loopback HTTP server publishing a client's JWK Set, for the jwks_uri tests: it counts the
requests per path and can redirect, hang, trickle its body or answer too much."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fapi.jose import AnyKey, public_jwk

JWKS_PATH = "/jwks"
OTHER_PATH = "/elsewhere"  # where the redirecting server sends the fetcher


class JwksServer:
    """The state the handler reads: set `keys` (or `body`) and `mode` between requests."""

    def __init__(self) -> None:
        self.keys: list[AnyKey] = []
        self.body: bytes | None = None  # served as is when set, instead of `keys`
        self.mode = "serve"  # serve | redirect | fail | hang | trickle
        self.hits: Counter[str] = Counter()
        self.released = threading.Event()  # ends a hanging or trickling answer
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The jwks_uri: http on the loopback address."""
        return f"http://127.0.0.1:{self._server.server_address[1]}{JWKS_PATH}"

    @property
    def requests(self) -> int:
        """How many requests reached the JWKS path."""
        return self.hits[JWKS_PATH]

    def document(self) -> bytes:
        """The JWK Set of the public halves of `keys`, or `body`."""
        if self.body is not None:
            return self.body
        return json.dumps({"keys": [public_jwk(k) for k in self.keys]}).encode()

    def count(self, path: str) -> None:
        with self._lock:
            self.hits[path] += 1

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _handler(state: JwksServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
            path = self.path.split("?")[0]
            state.count(path)
            if state.mode == "redirect" and path == JWKS_PATH:
                self.send_response(302)
                self.send_header("Location", OTHER_PATH)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if state.mode == "fail":
                self.send_error(503)
                return
            if state.mode == "hang":
                state.released.wait(10)
                return
            body = state.document()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if state.mode == "trickle":
                # Each piece well within a socket timeout; the whole far longer (20 x 0.15 s).
                step = max(1, len(body) // 20)
                for start in range(0, len(body), step):
                    if state.released.wait(0.15):
                        return
                    self.wfile.write(body[start:start + step])
                    self.wfile.flush()
                return
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler


@contextmanager
def serving(*keys: AnyKey) -> Iterator[JwksServer]:
    """Run a JWKS server publishing `keys` for the duration of the block."""
    server = JwksServer()
    server.keys = list(keys)
    server.start()
    try:
        yield server
    finally:
        server.stop()
