"""The demo as a newcomer uses it: the server (gunicorn, SQLite, seed_demo), the sample API
(demo/api.py) and the sample relying party (demo/relying_party.py) in subprocesses, driven by
chromium from the Sign in button to the front-channel logout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.helpers.axe import chromium
from tests.helpers.servers import (
    ROOT,
    client_credentials,
    free_port,
    gunicorn,
    listening,
    manage,
    project_env,
)

pytestmark = pytest.mark.own_database


@dataclass
class Demo:
    issuer: str
    rp: str
    api: str


def start_sample(script: str, log: Path, *args: str) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, str(ROOT / "demo" / script), *args], cwd=ROOT,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=10)


def wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while not listening(port):
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    work = tmp_path_factory.mktemp("demo")
    port, api_port, rp_port = free_port(), free_port(), free_port()
    issuer = f"http://127.0.0.1:{port}"
    rp, api = f"http://localhost:{rp_port}", f"http://localhost:{api_port}"
    env = project_env(work, IDENTITY_ISSUER=issuer)
    manage(env, "migrate", "--noinput")
    # 21402, the registered port, may be taken: register the URIs of a free one instead.
    manage(env, "seed_demo", "--url", issuer, "--rp-url", rp, "--api-url", api)
    samples = [start_sample("api.py", work / "api.log", "--issuer", issuer,
                            "--port", str(api_port)),
               start_sample("relying_party.py", work / "rp.log", "--issuer", issuer,
                            "--port", str(rp_port), "--api-url", api)]
    try:
        for sample_port, process, log in zip((api_port, rp_port), samples,
                                             (work / "api.log", work / "rp.log"), strict=True):
            wait_listening(sample_port, process, log)
        with gunicorn(env, port, log=work / "gunicorn.log"):
            yield Demo(issuer, rp, api)
    finally:
        for process in samples:
            stop(process)


def call_api(url: str, token: str | None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=10) as response:
            return response.status, response.headers.get("WWW-Authenticate", "")
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("WWW-Authenticate", "")


def sign_in_at_server(page: Page, issuer: str) -> None:
    page.wait_for_url(f"{issuer}/account/login?**")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "alice-demo-password")
    page.click("#sign-in")
    page.wait_for_url(f"{issuer}/connect/consent?**")
    # Every scope the application asks for is offered ticked: allow them all.
    boxes = page.locator("input[type=checkbox][name=scope]").all()
    assert boxes and all(box.is_checked() for box in boxes)
    page.click("#allow")


@pytest.mark.browser
def test_sign_in_call_the_api_refresh_and_sign_out_of_the_sample_application(
        demo: Demo) -> None:
    with chromium() as browser:
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(15_000)

        page.goto(demo.rp + "/")
        page.click("#sign-in")
        sign_in_at_server(page, demo.issuer)

        page.wait_for_url(demo.rp + "/")
        claims = page.locator("#id-token-claims")
        subject = page.locator("#sub").inner_text()
        assert subject
        expect(claims).to_contain_text(json.dumps(subject))
        expect(claims).to_contain_text(demo.issuer)
        expect(page.locator("#name")).to_have_text("Alice Smith")
        userinfo = json.loads(page.locator("#userinfo").inner_text())
        assert userinfo["sub"] == subject
        assert userinfo["email"] == "alice@example.com"

        page.click("#call-api")
        answer = json.loads(page.locator("#api-answer").inner_text())
        assert answer["claims"]["sub"] == subject
        assert answer["claims"]["aud"] == "api1"
        assert "api1" in answer["claims"]["scope"].split()

        first = page.locator("#access-token").text_content()
        page.click("#refresh")
        expect(page.locator("text=(refreshed)")).to_be_visible()
        assert page.locator("#access-token").text_content() != first
        expect(page.locator("#error")).to_have_count(0)

        page.click("#sign-out")
        asked = page.locator("#confirm-logout, #signed-out").first
        asked.wait_for()
        if page.locator("#confirm-logout").count():
            page.click("#confirm-logout")
        # The server's signed-out page loads /signout-oidc in an iframe, then goes back.
        page.wait_for_url(demo.rp + "/")
        expect(page.locator("#front-channel-logout")).to_contain_text(
            "signed out by the identity server (front-channel logout)")
        expect(page.locator("#sign-in")).to_be_visible()

        # Signed out at the server too: signing in again asks for the password.
        page.click("#sign-in")
        page.wait_for_url(f"{demo.issuer}/account/login?**")
        context.close()


def test_the_sample_api_accepts_only_access_tokens_for_api1(demo: Demo) -> None:
    url = demo.api + "/identity"
    status, token = client_credentials(demo.issuer, "service.client", scope="api1")
    assert status == 200
    assert call_api(url, token["access_token"]) == (200, "")
    assert call_api(url, None) == (401, 'Bearer realm="api1"')
    assert call_api(url, token["access_token"][:-4] + "AAAA") == (
        401, 'Bearer error="invalid_token"')
    _, other = client_credentials(demo.issuer, "service.client", scope="api2.read_only")
    assert call_api(url, other["access_token"]) == (401, 'Bearer error="invalid_token"')


def test_seed_demo_prints_where_to_go_and_the_admin_account_once(tmp_path: Path) -> None:
    env = project_env(tmp_path)
    manage(env, "migrate", "--noinput")
    first = manage(env, "seed_demo", "--admin").stdout
    assert "open:           http://localhost:21402/" in first
    assert "redirect http://localhost:21402/signin-oidc" in first
    assert "http://localhost:5002/identity" in first
    assert "demo user:      alice / alice-demo-password" in first
    admin_line = next(line for line in first.splitlines() if "admin user:" in line)
    password = admin_line.split("admin / ")[1].split()[0]
    assert len(password) >= 12

    again = manage(env, "seed_demo", "--admin").stdout
    assert password not in again
    assert "manage.py changepassword admin" in again


def test_the_demo_script_starts_the_samples_and_stops_them_on_exit() -> None:
    script = (ROOT / ".ci" / "demo").read_text()
    assert subprocess.run(["bash", "-n", str(ROOT / ".ci" / "demo")]).returncode == 0
    for expected in ("seed_demo", "--admin", "demo/api.py", "demo/relying_party.py", "trap",
                     "http://localhost:21402/"):
        assert expected in script
