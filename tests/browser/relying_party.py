"""What the browser tests share: a chromium page, the sign-in and consent steps, and a stand-in
relying party."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from playwright.sync_api import Page

from tests.helpers.axe import chromium

PASSWORD = "pw-alice-123"  # alice's, as the tests make her


@contextmanager
def browser_page() -> Iterator[Page]:
    """A page of Debian's chromium that fails a step after 15 s, not Playwright's 30.

    No ORM call inside the block: Playwright's event loop makes Django raise
    SynchronousOnlyOperation. HTTP calls to the live server are fine.
    """
    with chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(15_000)
        yield page


def sign_in(page: Page, issuer: str, username: str = "alice", password: str = PASSWORD) -> None:
    """Wait for the login page the browser is sent to, and sign in there."""
    page.wait_for_url(f"{issuer}/account/login?**")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("#sign-in")


def allow(page: Page, issuer: str, scope: str) -> None:
    """Wait for the consent page, check that it offers exactly `scope`, and allow."""
    page.wait_for_url(f"{issuer}/connect/consent?**")
    assert page.locator("#error").count() == 0, (page.url, page.inner_text("body"))
    offered = [li.get_attribute("data-scope") for li in page.locator("li[data-scope]").all()]
    assert set(offered) == set(scope.split())
    page.click("#allow")


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
