"""A loopback HTTP server standing in for clients' back-channel logout URIs: it records each
POST and can answer 200, fail with 500, redirect, hang until released, or trickle its
answer a byte at a time."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 drops simultaneous connections, which the kernel retries a
    # second later: a real web server's backlog is far longer.
    request_queue_size = 128


@dataclass(frozen=True)
class Received:
    path: str
    content_type: str
    form: dict[str, list[str]]

    @property
    def logout_token(self) -> str:
        return self.form["logout_token"][0]


class Listener:
    """Set `mode` (ok | fail | redirect | hang | trickle) between sign-outs; read `received`."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.received: list[Received] = []
        self.released = threading.Event()  # ends hanging answers
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def paths(self) -> list[str]:
        with self._lock:
            return sorted(r.path for r in self.received)

    def record(self, received: Received) -> None:
        with self._lock:
            self.received.append(received)

    def start(self) -> Listener:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()


def _handler(listener: Listener) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length).decode()
            listener.record(Received(self.path, self.headers.get("Content-Type", ""),
                                     parse_qs(body)))
            if listener.mode == "hang":
                listener.released.wait(30)
            elif listener.mode == "trickle":  # a byte at a time: no socket timeout fires
                self._trickle()
                return
            status = {"fail": 500, "redirect": 307}.get(listener.mode, 200)
            self.send_response(status)
            if status == 307:  # to another path of this listener: must not be followed
                self.send_header("Location", "/redirected")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _trickle(self) -> None:
            try:
                for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100:
                    if listener.released.wait(0.1):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
            except OSError:  # the server gave up on us
                return

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    return Handler


def closed_port_url(path: str) -> str:
    """A loopback URL where nothing listens: connections are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}{path}"
