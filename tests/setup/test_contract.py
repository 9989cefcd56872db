"""The public set-up contract, walked as an outside tool does: migrate, import, createsuperuser,
gunicorn with DEBUG off over plain http, then the admin signs in."""

from __future__ import annotations

import http.cookiejar
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest

from tests.factories import REFERENCE_DOCUMENT
from tests.helpers.basic_auth import basic
from tests.helpers.forms import csrf_token
from tests.helpers.servers import free_port, gunicorn, manage, project_env

pytestmark = pytest.mark.own_database


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[tuple[str, dict[str, str]]]:
    work = tmp_path_factory.mktemp("contract")
    port = free_port()
    env = project_env(work, IDENTITY_ISSUER=f"http://127.0.0.1:{port}")
    (work / "clients.json").write_text(REFERENCE_DOCUMENT)
    manage(env, "migrate", "--noinput")
    manage(env, "import_clients", str(work / "clients.json"))
    manage({**env, "DJANGO_SUPERUSER_USERNAME": "alice",
            "DJANGO_SUPERUSER_PASSWORD": "Contract-Pw-1234",
            "DJANGO_SUPERUSER_EMAIL": "alice@example.com"}, "createsuperuser", "--noinput")
    with gunicorn(env, port) as base:
        yield base, env


def test_admin_sign_in_works_over_plain_http_with_debug_off(server) -> None:
    base, _ = server
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(base + "/admin/login/").read().decode()
    assert opener.open(base + "/static/admin/css/base.css").status == 200
    token = csrf_token(page)
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


def test_discovery_issuer_and_token_over_gunicorn(server) -> None:
    import json

    base, env = server
    doc = json.load(urllib.request.urlopen(base + "/.well-known/openid-configuration"))
    assert doc["issuer"] == env["IDENTITY_ISSUER"]
    request = urllib.request.Request(
        doc["token_endpoint"], data=b"grant_type=client_credentials&scope=api1",
        headers={"Authorization": basic("local-dev", "secret")})
    body = json.load(urllib.request.urlopen(request))
    assert body["token_type"] == "Bearer" and body["access_token"]


def test_clients_file_is_served_from_memory_and_never_written(tmp_path) -> None:
    import json
    import sqlite3

    port = free_port()
    (tmp_path / "file.json").write_text(REFERENCE_DOCUMENT.replace("local-dev", "file-client"))
    env = project_env(tmp_path, IDENTITY_ISSUER=f"http://127.0.0.1:{port}",
                      IDENTITY_CLIENTS_FILE=str(tmp_path / "file.json"))
    manage(env, "migrate", "--noinput")
    with gunicorn(env, port) as base:
        request = urllib.request.Request(
            base + "/connect/token", data=b"grant_type=client_credentials",
            headers={"Authorization": basic("file-client", "secret")})
        assert json.load(urllib.request.urlopen(request))["scope"] == "api1"
    db = sqlite3.connect(tmp_path / "db.sqlite3")
    assert db.execute("select count(*) from clients_app_client").fetchone() == (0,)
    assert db.execute("select count(*) from clients_app_apiscope").fetchone() == (0,)
