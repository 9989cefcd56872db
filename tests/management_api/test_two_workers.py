"""On the settings every user gets (two gunicorn workers, the local-memory cache, SQLite), a
change made through the management API holds on every worker at its next request, as an admin
save does."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.servers import (
    client_credentials,
    free_port,
    gunicorn,
    manage,
    project_env,
    token_status,
)
from tests.helpers.workers import each_worker_at, refused_then_locked

pytestmark = pytest.mark.own_database

DOCUMENT = """{ "IdentityServer": {
  "ApiScopes": [ {"Name": "api1"}, {"Name": "api2.read_only"}, {"Name": "identity.manage"} ],
  "Clients": [
    { "ClientId": "local-dev",
      "ClientSecrets": [ { "Value": "K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=" } ],
      "AllowedGrantTypes": [ "client_credentials" ], "AllowedScopes": [ "api1" ] },
    { "ClientId": "automation",
      "ClientSecrets": [ { "Value": "K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=" } ],
      "AllowedGrantTypes": [ "client_credentials" ], "AllowedScopes": [ "identity.manage" ] }
  ] } }
"""


def _call(base: str, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        base + path, method=method, data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def _answers_at_each_worker(base: str, secret: str = "secret", **params: str
                            ) -> list[tuple[int, dict[str, Any]]]:
    """The status and body of a token request answered by each of the two workers."""
    return each_worker_at(base, lambda: client_credentials(base, "local-dev", secret, **params))


def _at_each_worker(base: str, secret: str = "secret", **params: str) -> list[int]:
    """The status of a token request answered by each of the two workers."""
    return [status for status, _ in _answers_at_each_worker(base, secret, **params)]


def test_api_changes_hold_on_every_worker_at_their_next_request(tmp_path: Path) -> None:
    env = project_env(tmp_path, IDENTITY_ISSUER="http://127.0.0.1")
    del env["CACHE_URL"]  # the default: local memory, one cache per worker
    (tmp_path / "clients.json").write_text(DOCUMENT)
    manage(env, "migrate", "--noinput")
    manage(env, "import_clients", str(tmp_path / "clients.json"))
    with gunicorn(env, free_port(), workers=2) as base:
        status, body = client_credentials(base, "automation", "secret", scope="identity.manage")
        assert status == 200, body
        token = body["access_token"]
        assert _at_each_worker(base) == [200, 200]  # both workers have the client cached
        refused = _answers_at_each_worker(base, scope="api2.read_only")
        assert [(code, answer.get("error")) for code, answer in refused] == [
            (400, "invalid_scope"), (400, "invalid_scope")], refused

        assert _call(base, "PATCH", "/api/clients/local-dev", token,
                     {"allowed_scopes": ["api1", "api2.read_only"]})[0] == 200
        granted = _answers_at_each_worker(base, scope="api2.read_only")
        assert [(code, answer.get("scope")) for code, answer in granted] == [
            (200, "api2.read_only"), (200, "api2.read_only")], granted

        status, secret = _call(base, "POST", "/api/clients/local-dev/secrets", token, {})
        assert status == 201
        assert _at_each_worker(base, secret=secret["value"]) == [200, 200]
        old = next(s for s in _call(base, "GET", "/api/clients/local-dev/secrets", token)[1]
                   if s["id"] != secret["id"])
        assert _call(base, "POST", f"/api/clients/local-dev/secrets/{old['id']}/expire",
                     token)[0] == 200
        # Refused by every worker: 401, and 429 once the refusals pass the failure limit (10).
        refused_then_locked(base, lambda: token_status(base))
        _forget_failures(env)
        assert _at_each_worker(base, secret=secret["value"]) == [200, 200]

        assert _call(base, "DELETE", "/api/clients/local-dev", token)[0] == 204
        assert _at_each_worker(base, secret=secret["value"]) == [401, 401]


def _forget_failures(env: dict[str, str]) -> None:
    manage(env, "shell", "-c", "from identity.models import FailureCount; "
                               "FailureCount.objects.all().delete()")
