"""Follow the README's "Add it to your project" literally, as a Django developer would.

Build the wheel, install it into a new virtual environment, `django-admin startproject mysite`,
apply the README's code blocks in order (install, settings, urls, commands), serve with gunicorn,
then get a client-credentials token and sign in with chromium through the new project. The only
departures from the text: the checkout's path, a free port for 8000, and `createsuperuser` run
with `--noinput`.
"""

from __future__ import annotations

import base64
import email
import hashlib
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest

from tests.helpers.basic_auth import basic
from tests.helpers.pkce import Pkce
from tests.helpers.servers import ROOT, free_port

pytestmark = pytest.mark.own_database

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SECRET = "host-secret"
PASSWORD = "host-admin-password-1"
CALLBACK = "http://127.0.0.1:9/signin-oidc"  # never reached: the browser's request is caught
RUNTIME = {"django", "asgiref", "sqlparse", "pyjwt", "cryptography", "cffi", "pycparser",
           "djangorestframework", "django-identity-server"}
SERVER = {"gunicorn", "packaging"}  # what the README installs beside it


def _sha256(secret: str) -> str:
    return base64.b64encode(hashlib.sha256(secret.encode()).digest()).decode()


CLIENTS = {"IdentityServer": {
    "IdentityResources": [{"Name": "openid", "UserClaims": ["sub"]},
                          {"Name": "profile", "UserClaims": ["name", "preferred_username"]}],
    "ApiScopes": [{"Name": "api1"}],
    "Clients": [
        {"ClientId": "machine", "ClientSecrets": [{"Value": _sha256(SECRET)}],
         "AllowedGrantTypes": ["client_credentials"], "AllowedScopes": ["api1"]},
        {"ClientId": "web", "ClientSecrets": [{"Value": _sha256(SECRET)}],
         "AllowedGrantTypes": ["authorization_code"], "RedirectUris": [CALLBACK],
         "AllowedScopes": ["openid", "profile", "api1"], "RequireConsent": False},
    ]}}


def _section() -> list[tuple[str, str]]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Add it to your project", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"```(\w+)\n(.*?)```", section, re.S)


def _env(venv: Path) -> dict[str, str]:
    """A shell in the new environment, as after `source venv/bin/activate`; nothing of ours."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DJANGO_", "IDENTITY_", "PYTHON", "VIRTUAL_ENV"))
           and k not in {"DATABASE_URL", "CACHE_URL", "SECRET_KEY", "DEBUG", "ENV_FILE"}}
    env["PATH"] = f"{venv / 'bin'}:{env['PATH']}"
    env["VIRTUAL_ENV"] = str(venv)
    return env


def _run(script: str, cwd: Path, env: dict[str, str]) -> str:
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{script}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


def _post(url: str, form: dict[str, str], auth: tuple[str, str]) -> dict:
    request = urllib.request.Request(url, data=urlencode(form).encode(),
                                     headers={"Authorization": basic(*auth)})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """The README followed: a new project serving the installed apps with gunicorn."""
    blocks = _section()
    assert [lang for lang, _ in blocks] == ["sh", "python", "python", "sh"], blocks
    install, settings_block, urls_block, commands = (text for _, text in blocks)
    work = tmp_path_factory.mktemp("host")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = _env(venv)
    _run(install.replace("/path/to/identity-checkout", str(ROOT)), work, env)
    _run("django-admin startproject mysite", work, env)
    project = work / "mysite"
    with (project / "mysite" / "settings.py").open("a") as f:
        f.write("\n" + settings_block)
    with (project / "mysite" / "urls.py").open("a") as f:
        f.write("\n" + urls_block)
    (project / "clients.json").write_text(json.dumps(CLIENTS))
    port = free_port()
    serve = None
    for line in commands.strip().splitlines():
        line = line.split("  #")[0].strip()
        if line.startswith("gunicorn"):
            serve = line.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
            continue
        if line.endswith("createsuperuser"):
            line += " --noinput --username admin --email admin@example.com"
        _run(line, project, {**env, "DJANGO_SUPERUSER_PASSWORD": PASSWORD})
    assert serve, "the README serves with gunicorn"
    log = (work / "gunicorn.log").open("w")
    server = subprocess.Popen(["bash", "-c", f"exec {serve}"], cwd=project, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/.well-known/openid-configuration", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError((work / "gunicorn.log").read_text())
        yield {"base": base, "work": work, "venv": venv}
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_distribution_holds_the_apps_and_nothing_of_the_serving_project(host) -> None:
    wheels = list((host["work"] / "dist").glob("django_identity_server-*.whl"))
    assert len(wheels) == 1
    names = zipfile.ZipFile(wheels[0]).namelist()
    # Every template and migration of both apps, the admin's included.
    shipped = [str(p.relative_to(ROOT)) for app in ("identity", "clients_app")
               for pattern in ("templates/**/*.html", "migrations/0*.py")
               for p in (ROOT / app).glob(pattern)]
    assert "identity/templates/identity/login.html" in shipped
    assert "identity/templates/admin/identity/signingkey/revoke_confirmation.html" in shipped
    assert [n for n in shipped if n not in names] == []
    tops = {n.split("/")[0] for n in names}
    assert not tops & {"settings", "tests", "bench"}, tops
    metadata = email.message_from_bytes(zipfile.ZipFile(wheels[0]).read(next(
        n for n in names if n.endswith(".dist-info/METADATA"))))
    required = {re.split(r"[<>=\[ ;]", r)[0].lower() for r in metadata.get_all("Requires-Dist")
                if "extra ==" not in r}
    assert required == {"django", "pyjwt", "cryptography", "djangorestframework"}


def test_pip_install_pulled_in_only_what_runs(host) -> None:
    listed = subprocess.run([str(host["venv"] / "bin" / "pip"), "list", "--format=json"],
                            capture_output=True, text=True, check=True).stdout
    installed = {p["name"].lower().replace("_", "-") for p in json.loads(listed)}
    assert installed - {"pip", "setuptools"} <= RUNTIME | SERVER, installed - RUNTIME - SERVER


def test_a_machine_client_gets_a_token_that_validates_against_the_jwks(host) -> None:
    base = host["base"]
    body = _post(f"{base}/connect/token", {"grant_type": "client_credentials", "scope": "api1"},
                 ("machine", SECRET))
    assert body["token_type"] == "Bearer" and body["scope"] == "api1"
    discovery = json.load(urllib.request.urlopen(f"{base}/.well-known/openid-configuration"))
    key = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(body["access_token"])
    claims = jwt.decode(body["access_token"], key.key, algorithms=["RS256"],
                        options={"verify_aud": False})
    assert claims["client_id"] == "machine" and claims["iss"] == base
    # Registration's REST framework views answer in a project that installs no app of DRF's.
    request = urllib.request.Request(discovery["registration_endpoint"], data=b"{}",
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401 and refused.value.headers["WWW-Authenticate"] == "Bearer"


def test_a_user_signs_in_with_chromium_and_the_client_gets_an_id_token(host) -> None:
    from playwright.sync_api import sync_playwright

    base = host["base"]
    pkce = Pkce.new()
    callbacks: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route(CALLBACK + "*", lambda route: (callbacks.append(route.request.url),
                                                      route.fulfill(body="signed in")))
            page.goto(f"{base}/connect/authorize?" + urlencode({
                "client_id": "web", "redirect_uri": CALLBACK, "response_type": "code",
                "scope": "openid profile api1", "state": "s-1", "nonce": "n-1",
                "code_challenge": pkce.challenge, "code_challenge_method": "S256"}))
            page.wait_for_url(f"{base}/account/login?**")
            page.fill("#id_username", "admin")
            page.fill("#id_password", PASSWORD)
            page.click("#sign-in")
            page.wait_for_url(CALLBACK + "?**")
        finally:
            browser.close()
    params = {k: v[0] for k, v in parse_qs(urlsplit(callbacks[-1]).query).items()}
    assert params["state"] == "s-1" and params["iss"] == base
    tokens = _post(f"{base}/connect/token", {
        "grant_type": "authorization_code", "code": params["code"], "redirect_uri": CALLBACK,
        "code_verifier": pkce.verifier}, ("web", SECRET))
    discovery = json.load(urllib.request.urlopen(f"{base}/.well-known/openid-configuration"))
    key = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(tokens["id_token"])
    identity = jwt.decode(tokens["id_token"], key.key, algorithms=["RS256"], audience="web",
                          issuer=base)
    assert identity["nonce"] == "n-1" and identity["sub"]
    userinfo = urllib.request.Request(f"{base}/connect/userinfo", headers={
        "Authorization": f"Bearer {tokens['access_token']}"})
    assert json.load(urllib.request.urlopen(userinfo))["preferred_username"] == "admin"
