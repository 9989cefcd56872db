"""Take the screenshots shown in docs/pages.rst, against a throwaway server.

    .venv/bin/python docs/screenshots.py [--out docs/_static/screenshots]

A temporary SQLite database gets the migrations, the demo data (seed_demo: the client
`interactive`, the user alice) and a superuser; gunicorn serves it on a free loopback port; the
Debian chromium walks the sign-in pages and the admin and saves one PNG per page. A stand-in
for the demo application answers on another loopback port (the redirect after consent, the
client's logo), so nothing else has to run. A page that cannot be reached is skipped with the
reason, and its previous PNG, if any, is kept. Everything made is removed at the end.
"""

from __future__ import annotations

import argparse
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Browser, BrowserContext, Page  # noqa: E402

from tests.helpers.axe import chromium  # noqa: E402
from tests.helpers.pkce import Pkce  # noqa: E402
from tests.helpers.servers import (  # noqa: E402
    free_port,
    project_env,
    start_gunicorn,
    stop_gunicorn,
)

DOCUMENTED_RP = "http://localhost:21402"  # the demo application's address in the docs
USER, PASSWORD = "alice", "alice-demo-password"
ADMIN, ADMIN_PASSWORD = "admin", "screenshots-admin-password"
VIEWPORT = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
MAX_HEIGHT = 2400  # full-page screenshots (consent, grants, admin forms) are cut here
TIMEOUT_MS = 15_000


class Skip(Exception):
    """A page could not be reached: its screenshot is skipped, with this reason."""


# --- the throwaway server ----------------------------------------------------------------------


def manage(env: dict[str, str], *args: str) -> str:
    """Run a manage.py command; return its output, or raise with its error output."""
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def tiny_png(rgb: tuple[int, int, int] = (37, 99, 235), size: int = 64) -> bytes:
    """Return a square PNG of one colour: the demo client's logo."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def prepare(work: Path, base: str, rp: str) -> dict[str, str]:
    """Make the database in `work`: migrations, demo data (the demo application at `rp`), a
    superuser, the client's logo."""
    env = project_env(work, IDENTITY_ISSUER=base)
    manage(env, "migrate", "--noinput")
    manage(env, "seed_demo", "--url", base, "--rp-url", rp)
    manage({**env, "DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD}, "createsuperuser", "--noinput",
           "--username", ADMIN, "--email", "admin@example.com")
    manage(env, "shell", "-c",
           "from clients_app.models import Client; "
           f"Client.objects.filter(client_id='interactive').update("
           f"logo_uri='{rp}/logo.png', client_uri='{rp}/')")
    return env


class RelyingParty(BaseHTTPRequestHandler):
    """Stands in for the demo application on a loopback port: its logo, else a small page."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path == "/logo.png":
            kind, body = "image/png", tiny_png()
        else:
            kind, body = "text/html", b"<!doctype html><title>Demo application</title><p>Hi."
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def show_documented_addresses(env: dict[str, str], rp: str) -> None:
    """Put the demo application's documented address back in place of the stand-in's, for the
    admin's pages."""
    manage(env, "shell", "-c", "\n".join([
        "from django.db.models import Value",
        "from django.db.models.functions import Replace",
        "from clients_app.models import Client, ClientPostLogoutRedirectUri, ClientRedirectUri",
        f"old, new = Value({rp!r}), Value({DOCUMENTED_RP!r})",
        "for model, fields in ((Client, ('client_uri', 'logo_uri', 'front_channel_logout_uri')),",
        "                      (ClientRedirectUri, ('redirect_uri',)),",
        "                      (ClientPostLogoutRedirectUri, ('post_logout_redirect_uri',))):",
        "    model.objects.update(**{f: Replace(f, old, new) for f in fields})"]))


# --- the browser -------------------------------------------------------------------------------


def new_context(browser: Browser, **options: object) -> BrowserContext:
    options.setdefault("viewport", VIEWPORT)
    context = browser.new_context(**options)  # type: ignore[arg-type]
    context.set_default_timeout(TIMEOUT_MS)
    return context


def authorize_url(base: str, rp: str, client_id: str = "interactive") -> str:
    """Return the demo application's authorization request (code flow with S256 PKCE)."""
    pkce = Pkce.new()
    return base + "/connect/authorize?" + urlencode({
        "client_id": client_id, "response_type": "code", "redirect_uri": f"{rp}/signin-oidc",
        "scope": "openid profile email api1 offline_access", "state": "s", "nonce": "n",
        "code_challenge": pkce.challenge, "code_challenge_method": "S256"})


def expect(page: Page, selector: str, what: str) -> None:
    """Wait for `selector`, or skip: the page is not `what`."""
    try:
        page.wait_for_selector(selector, timeout=TIMEOUT_MS)
    except Exception as err:
        raise Skip(f"{what} not found at {page.url} ({selector})") from err


def sign_in(page: Page, username: str, password: str) -> None:
    expect(page, "#id_username", "sign-in form")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("#sign-in, [type=submit]")


class Shooter:
    """Saves screenshots into one folder and reports what was written and what was skipped."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.written: list[str] = []
        self.skipped: list[tuple[str, str]] = []

    def save(self, page: Page, name: str, *, full: bool = False) -> None:
        page.wait_for_load_state("networkidle")
        path = self.out / name
        if full:
            height = min(MAX_HEIGHT, int(page.evaluate("document.documentElement.scrollHeight")))
            width = page.viewport_size["width"] if page.viewport_size else VIEWPORT["width"]
            page.screenshot(path=str(path), full_page=True,
                            clip={"x": 0, "y": 0, "width": width, "height": height})
        else:
            page.screenshot(path=str(path))
        self.written.append(name)
        print(f"wrote   {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")

    def step(self, names: str, action: Callable[[], None]) -> bool:
        """Run `action` (which saves `names`); on failure report them skipped, return False."""
        try:
            action()
            return True
        except Exception as err:  # any failure of one page must not lose the others
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            for name in names.split():
                if name not in self.written:
                    self.skip(name, reason)
            return False

    def skip(self, name: str, reason: str) -> None:
        self.skipped.append((name, reason))
        print(f"skipped {name}: {reason}")


def user_pages(browser: Browser, base: str, rp: str, shots: Shooter) -> None:
    """The pages a person sees: sign-in, consent, error, grants, sign-out; then variants."""
    context = new_context(browser, locale="en-US")
    page = context.new_page()

    def login() -> None:
        page.goto(authorize_url(base, rp))
        expect(page, "#id_username", "sign-in page")
        shots.save(page, "login.png")

    def login_error() -> None:
        sign_in(page, USER, "not-the-password")
        shots.save(page, "login-error.png")

    def consent() -> None:
        if not page.query_selector("#id_username"):
            page.goto(authorize_url(base, rp))
        sign_in(page, USER, PASSWORD)
        expect(page, "#allow", "consent page")
        shots.save(page, "consent.png", full=True)

    def grants() -> None:
        if page.query_selector("#remember"):
            page.check("#remember")
        with page.expect_navigation(url=re.compile(re.escape(rp))):
            page.click("#allow")
        page.goto(base + "/account/grants")
        shots.save(page, "grants.png", full=True)

    def error() -> None:
        page.goto(authorize_url(base, rp, client_id="no-such-client"))
        shots.save(page, "error.png")

    def sign_out() -> None:
        page.goto(base + "/connect/endsession")
        expect(page, "#confirm-logout", "sign-out confirmation")
        shots.save(page, "logout-confirm.png")
        with page.expect_navigation():
            page.click("#confirm-logout")
        shots.save(page, "signed-out.png")

    shots.step("login.png", login)
    shots.step("login-error.png", login_error)
    if shots.step("consent.png", consent):
        shots.step("grants.png", grants)
    else:
        shots.skip("grants.png", "no consent page to allow on")
    shots.step("error.png", error)
    shots.step("logout-confirm.png signed-out.png", sign_out)
    context.close()

    variants: list[tuple[str, dict[str, object]]] = [
        ("login-fr.png", {"locale": "fr-FR"}),
        ("login-dark.png", {"color_scheme": "dark"}),
        ("login-phone.png", {"viewport": PHONE, "is_mobile": True, "has_touch": True}),
    ]
    for name, options in variants:
        context = new_context(browser, **options)
        page = context.new_page()

        def variant(page: Page = page, name: str = name) -> None:
            page.goto(authorize_url(base, rp))
            expect(page, "#id_username", "sign-in page")
            shots.save(page, name)

        shots.step(name, variant)
        context.close()


def admin_pages(browser: Browser, base: str, shots: Shooter) -> None:
    """The admin: clients, the add-client choice and form, a client, signing keys, a secret."""
    context = new_context(browser)
    page = context.new_page()
    clients = base + "/admin/clients_app/client/"
    page.goto(base + "/admin/login/?next=/admin/")
    sign_in(page, ADMIN, ADMIN_PASSWORD)
    if "/admin/login/" in page.url:
        raise Skip("the admin refused the superuser's sign-in")

    def client_list() -> None:
        page.goto(clients)
        expect(page, "#result_list", "client list")
        shots.save(page, "admin-client-list.png")

    def kinds() -> None:
        page.goto(clients + "add/")
        expect(page, "a[href*='kind=']", "kind chooser")
        shots.save(page, "admin-client-kinds.png", full=True)

    def add_web() -> None:
        page.goto(clients + "add/?kind=web")
        expect(page, "#id_client_id", "web application form")
        shots.save(page, "admin-client-add-web.png", full=True)

    def change() -> None:
        page.goto(clients + "?q=interactive")
        link = page.locator("#result_list a", has_text=re.compile(r"^\s*interactive\s*$"))
        if not link.count():
            raise Skip("the client `interactive` is not in the list")
        link.first.click()
        expect(page, "#id_client_id", "client change form")
        shots.save(page, "admin-client-change.png", full=True)

    def signing_keys() -> None:
        # Keys are made when first needed: ask for the JWKS so that the list shows one.
        urllib.request.urlopen(base + "/.well-known/openid-configuration/jwks", timeout=30).close()
        page.goto(base + "/admin/identity/signingkey/")
        expect(page, "#content", "signing key list")
        shots.save(page, "admin-signing-keys.png")

    def secret() -> None:
        page.goto(clients + "add/?kind=machine")
        expect(page, "#id_client_id", "machine client form")
        page.fill("#id_client_id", "reports.exporter")
        if page.query_selector("#id_client_name"):
            page.fill("#id_client_name", "Nightly reports exporter")
        generate = page.locator("input[type=checkbox][name$='-generate']:not([name*='__prefix__'])")
        if not generate.count():  # no secret row yet: add one with the inline's link
            group = page.locator(".inline-group",
                                 has=page.locator("input[name*='__prefix__'][name$='-generate']"))
            group.locator(".add-row a").first.click()
        generate.first.check()
        grant_type = page.locator("input[name$='grant_types-0-grant_type']")
        if grant_type.count() and not grant_type.first.input_value():
            grant_type.first.fill("client_credentials")  # when the kind does not preset it
        page.locator("[name=_save]").first.click()
        page.wait_for_load_state()
        if not page.query_selector(".generated-secret, code"):
            errors = [e.strip() for e in page.locator(".errorlist, .errornote").all_inner_texts()]
            raise Skip(f"no new-secret page after saving: {'; '.join(errors) or page.url}")
        shots.save(page, "admin-secret.png")

    shots.step("admin-client-list.png", client_list)
    shots.step("admin-client-kinds.png", kinds)
    shots.step("admin-client-add-web.png", add_web)
    shots.step("admin-client-change.png", change)
    shots.step("admin-signing-keys.png", signing_keys)
    shots.step("admin-secret.png", secret)
    context.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "_static" / "screenshots",
                        help="folder of the PNGs (docs/_static/screenshots)")
    out: Path = parser.parse_args().out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="identity-screenshots-"))
    server = None
    shots = Shooter(out)
    relying_party = ThreadingHTTPServer(("127.0.0.1", 0), RelyingParty)
    threading.Thread(target=relying_party.serve_forever, daemon=True).start()
    rp = f"http://localhost:{relying_party.server_address[1]}"
    try:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = prepare(work, base, rp)
        server = start_gunicorn(env, port=port, workers=1, log=work / "gunicorn.log",
                                name="screenshots")
        with chromium() as browser:
            user_pages(browser, base, rp, shots)
            try:
                show_documented_addresses(env, rp)
            except RuntimeError as err:
                print(f"note: the admin shows the stand-in's address: {err}")
            shots.step("admin-client-list.png admin-client-kinds.png admin-client-add-web.png "
                       "admin-client-change.png admin-signing-keys.png admin-secret.png",
                       lambda: admin_pages(browser, base, shots))
    finally:
        if server is not None:
            stop_gunicorn(server)
        relying_party.shutdown()
        relying_party.server_close()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(shots.written)} written, {len(shots.skipped)} skipped "
          f"in {time.monotonic() - started:.0f} s")
    return 0 if shots.written else 1


if __name__ == "__main__":
    sys.exit(main())
