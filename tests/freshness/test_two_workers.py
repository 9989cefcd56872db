"""On the settings every user gets (two gunicorn workers, the local-memory cache, SQLite), a change
made in the admin, by an import or by a command holds on every worker at its next request."""

from __future__ import annotations

import re
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.factories import REFERENCE_DOCUMENT
from tests.helpers.forms import csrf_token
from tests.helpers.servers import client_credentials, free_port, gunicorn, manage, project_env
from tests.helpers.tokens import kid_of as _kid
from tests.helpers.workers import each_worker_at, refused_then_locked

pytestmark = pytest.mark.own_database


def _token(base: str, secret: str = "secret", scope: str | None = None) -> tuple[int, dict]:
    return client_credentials(base, "local-dev", secret, **({"scope": scope} if scope else {}))


def _at_each_worker(base: str, **kwargs: str) -> list[int]:
    """The status of a token request answered by each of the two workers."""
    return each_worker_at(base, lambda: _token(base, **kwargs)[0])


class Admin:
    """A staff user's browser in the admin: sign in, then post actions with the CSRF token."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def _csrf(self, path: str) -> str:
        return csrf_token(self.opener.open(self.base + path).read())

    def post(self, path: str, form: dict) -> int:
        data = urlencode({"csrfmiddlewaretoken": self._csrf(path), **form}, doseq=True).encode()
        request = urllib.request.Request(self.base + path, data=data,
                                         headers={"Referer": self.base + path})
        return int(self.opener.open(request).status)


def _shell(env: dict[str, str], code: str) -> str:
    # The last line: Django's shell may first say what it imported.
    lines = manage(env, "shell", "-c", code).stdout.strip().splitlines()
    return lines[-1] if lines else ""


def test_admin_changes_commands_and_limits_hold_on_every_worker(tmp_path: Path) -> None:
    env = project_env(tmp_path, IDENTITY_ISSUER="http://127.0.0.1")
    del env["CACHE_URL"]  # the default: local memory, one cache per worker
    (tmp_path / "clients.json").write_text(REFERENCE_DOCUMENT)
    manage(env, "migrate", "--noinput")
    manage(env, "import_clients", str(tmp_path / "clients.json"))
    manage(env, "shell", "-c", "from django.contrib.auth.models import User; "
                               "User.objects.create_superuser('root', '', 'root-password-1')")
    pk = _shell(env, "from clients_app.models import Client; "
                     "print(Client.objects.get(client_id='local-dev').pk)")
    with gunicorn(env, free_port(), workers=2) as base:
        assert _at_each_worker(base) == [200, 200]  # both workers have the client cached

        admin = Admin(base)
        assert admin.post("/admin/login/?next=/admin/", {
            "username": "root", "password": "root-password-1", "next": "/admin/"}) == 200
        changelist = "/admin/clients_app/client/"
        admin.post(changelist, {"action": "disable_clients", "_selected_action": pk})
        refused_then_locked(base, lambda: _token(base)[0])
        manage(env, "shell", "-c", "from identity.models import FailureCount; "
                                   "FailureCount.objects.all().delete()")
        admin.post(changelist, {"action": "enable_clients", "_selected_action": pk})
        assert _at_each_worker(base) == [200, 200]

        # Scopes added and removed by another process (a shell, as a script or import would).
        assert _at_each_worker(base, scope="api2.read_only") == [400, 400]
        _shell(env, "from clients_app.models import Client, ClientScope; "
                    "ClientScope.objects.create(client=Client.objects.get(client_id='local-dev'),"
                    " scope='api2.read_only')")
        assert _at_each_worker(base, scope="api2.read_only") == [200, 200]
        _shell(env, "from clients_app.models import ClientScope; "
                    "ClientScope.objects.filter(scope='api1').delete()")
        assert _at_each_worker(base, scope="api1") == [400, 400]

        old_kid = _kid(_token(base)[1]["access_token"])
        out = manage(env, "rotate_signing_keys", "--immediately").stdout
        new_kid = re.search(r"key (\S+): signs from", out).group(1)
        assert new_kid != old_kid
        assert {_kid(token) for token in each_worker_at(
            base, lambda: _token(base)[1]["access_token"])} == {new_kid}

        _shell(env, "from clients_app.models import ClientSecret; "
                    "ClientSecret.objects.all().delete()")
        refused_then_locked(base, lambda: _token(base)[0])


def test_failure_limits_hold_across_workers_on_the_default_cache(tmp_path: Path) -> None:
    env = project_env(tmp_path, IDENTITY_ISSUER="http://127.0.0.1")
    del env["CACHE_URL"]
    (tmp_path / "clients.json").write_text(REFERENCE_DOCUMENT)
    manage(env, "migrate", "--noinput")
    manage(env, "import_clients", str(tmp_path / "clients.json"))
    with gunicorn(env, free_port(), workers=2) as base:
        # AUTH_FAILURE_LIMIT is 10 per client id and address: five failures at each worker.
        assert each_worker_at(base, lambda: [_token(base, "guess")[0] for _ in range(5)]) == [
            [401] * 5, [401] * 5]
        assert _at_each_worker(base) == [429, 429]  # the right secret, at either worker
