"""The public set-up contract, walked as an outside tool does: migrate, import, createsuperuser,
gunicorn with DEBUG off over plain http, then the admin signs in."""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import REFERENCE_DOCUMENT

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, dict[str, str]]]:
    work = tmp_path_factory.mktemp("contract")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "IDENTITY_"))}
    env.update(DATABASE_URL=f"sqlite:///{work}/db.sqlite3", SECRET_KEY="contract-test",
               DEBUG="False", ALLOWED_HOSTS="127.0.0.1,localhost", ENV_FILE="/nonexistent",
               IDENTITY_ISSUER=f"http://127.0.0.1:{port}", CACHE_URL="locmemcache://")
    (work / "clients.json").write_text(REFERENCE_DOCUMENT)
    manage = [str(BIN / "python"), "manage.py"]
    for args in (["migrate", "--noinput"], ["import_clients", str(work / "clients.json")],
                 ["createsuperuser", "--noinput"]):
        subprocess.run(manage + args, cwd=ROOT, check=True, capture_output=True, timeout=120,
                       env={**env, "DJANGO_SUPERUSER_USERNAME": "alice",
                            "DJANGO_SUPERUSER_PASSWORD": "Contract-Pw-1234",
                            "DJANGO_SUPERUSER_EMAIL": "alice@example.com"})
    proc = subprocess.Popen([str(BIN / "gunicorn"), "settings.wsgi:application", "-b",
                             f"127.0.0.1:{port}", "-w", "2"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield base, env
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_admin_sign_in_works_over_plain_http_with_debug_off(server) -> None:
    base, _ = server
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/admin/login/").read().decode()
    assert opener.open(base + "/static/admin/css/base.css").status == 200
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert not any(c.secure for c in jar)
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": "alice",
                                   "password": "Contract-Pw-1234", "next": "/admin/"}).encode()
    request = urllib.request.Request(base + "/admin/login/", data=body,
                                     headers={"Referer": base + "/admin/login/"})
    response = opener.open(request)
    assert response.url.rstrip("/").endswith("/admin")
    clients = opener.open(base + "/admin/clients_app/client/").read().decode()
    assert "local-dev" in clients


def test_admin_pages_refuse_framing(server) -> None:
    base, _ = server
    response = urllib.request.urlopen(base + "/admin/login/")
    assert response.headers["X-Frame-Options"] == "DENY"
