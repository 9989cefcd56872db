"""Two server processes (as on two hosts) share one database: they sign with the same key."""

from __future__ import annotations

import json
import urllib.request

import jwt
import pytest

from tests.factories import REFERENCE_DOCUMENT
from tests.helpers.servers import client_credentials, free_port, gunicorn, manage, project_env

pytestmark = pytest.mark.own_database


def _token(base: str) -> str:
    return client_credentials(base, "local-dev")[1]["access_token"]


def test_two_servers_share_signing_keys(tmp_path) -> None:
    env = project_env(tmp_path)
    (tmp_path / "clients.json").write_text(REFERENCE_DOCUMENT)
    manage(env, "migrate", "--noinput")
    manage(env, "import_clients", str(tmp_path / "clients.json"))
    with gunicorn(env, free_port(), workers=1) as a, gunicorn(env, free_port(), workers=1) as b:
        token_a, token_b = _token(a), _token(b)
        kids = {jwt.get_unverified_header(t)["kid"] for t in (token_a, token_b)}
        assert len(kids) == 1
        for token in (token_a, token_b):
            for base in (a, b):
                key = jwt.PyJWKClient(f"{base}/.well-known/openid-configuration/jwks",
                                      cache_keys=False).get_signing_key_from_jwt(token)
                claims = jwt.decode(token, key.key, algorithms=["RS256"],
                                    options={"verify_aud": False})
                assert claims["client_id"] == "local-dev"


def _jwks_kids(base: str) -> set[str]:
    with urllib.request.urlopen(f"{base}/.well-known/openid-configuration/jwks") as response:
        return {k["kid"] for k in json.load(response)["keys"]}


def test_a_key_revoked_by_the_command_is_withdrawn_by_both_servers_at_once(tmp_path) -> None:
    env = project_env(tmp_path)
    (tmp_path / "clients.json").write_text(REFERENCE_DOCUMENT)
    manage(env, "migrate", "--noinput")
    manage(env, "import_clients", str(tmp_path / "clients.json"))
    with gunicorn(env, free_port(), workers=1) as a, gunicorn(env, free_port(), workers=1) as b:
        old = jwt.get_unverified_header(_token(a))["kid"]
        assert old in _jwks_kids(a) and old in _jwks_kids(b)  # both loaded it

        output = manage(env, "revoke_signing_key", "--", old).stdout

        assert output.startswith(f"RS256 key {old}: revoked\n")
        new = jwt.get_unverified_header(_token(b))["kid"]
        assert new != old
        # Within KEY_REFRESH_INTERVAL (60 s): the configuration generation did it.
        assert _jwks_kids(a) == _jwks_kids(b) == {new}
        assert jwt.get_unverified_header(_token(a))["kid"] == new
