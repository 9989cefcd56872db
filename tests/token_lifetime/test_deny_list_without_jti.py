"""JWT access tokens without jti (IncludeJwtId off) are deny-listed by their SHA-256 when their
family is revoked (RFC 9700 §4.2.4, §4.14.2), like tokens with a jti."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import identity.http.session  # noqa: F401
from identity import clock
from identity.models import PersistedGrant
from tests.factories import make_client, make_interactive_client
from tests.helpers.calls import introspect, refresh, userinfo
from tests.helpers.flow import exchange, get_code, login
from tests.helpers.pkce import Pkce
from tests.helpers.seeding import seed_with_api_secrets

pytestmark = pytest.mark.django_db


def _userinfo(client, token: str) -> int:
    return userinfo(client, token).status_code


def _active(client, token: str) -> bool:
    response = introspect(client, token)
    assert response.status_code == 200, response.content
    return response.json()["active"]


def _first_tokens(client) -> tuple[dict, str, Pkce]:
    seed_with_api_secrets(make_client(), make_interactive_client(include_jwt_id=False))
    login(client)
    pkce = Pkce.new()
    code = get_code(client, pkce)
    body = exchange(client, code, pkce).json()
    assert "jti" not in jwt.decode(body["access_token"], options={"verify_signature": False})
    return body, code, pkce


def test_code_replay_revokes_an_access_token_without_jti(client, alice) -> None:
    first, code, pkce = _first_tokens(client)
    token = first["access_token"]
    assert _active(client, token) and _userinfo(client, token) == 200
    assert exchange(client, code, pkce).status_code == 400  # the replay
    assert not _active(client, token)
    assert _userinfo(client, token) == 401


def test_refresh_reuse_revokes_the_access_tokens_without_jti(client, alice) -> None:
    first, _, _ = _first_tokens(client)
    second = refresh(client, first["refresh_token"]).json()
    assert _active(client, second["access_token"])
    assert refresh(client, first["refresh_token"]).status_code == 400  # reuse
    for token in (first["access_token"], second["access_token"]):
        assert not _active(client, token)
        assert _userinfo(client, token) == 401


def test_revoking_one_family_leaves_another_sign_in_without_jti_active(client, alice,
                                                                      monkeypatch) -> None:
    earlier = clock.now() - timedelta(seconds=5)  # another second: another token
    with monkeypatch.context() as patch:
        patch.setattr(clock, "now", lambda: earlier)
        first, code, pkce = _first_tokens(client)
    other_pkce = Pkce.new()
    other = exchange(client, get_code(client, other_pkce), other_pkce).json()
    assert other["access_token"] != first["access_token"]
    assert exchange(client, code, pkce).status_code == 400
    assert not _active(client, first["access_token"])
    assert _active(client, other["access_token"])  # the digest names one token
    assert _userinfo(client, other["access_token"]) == 200


def test_the_same_bytes_issued_to_two_families_die_with_either(client, alice,
                                                               monkeypatch) -> None:
    seed_with_api_secrets(make_client(), make_interactive_client(include_jwt_id=False))
    login(client)
    moment = clock.now() - timedelta(seconds=5)
    monkeypatch.setattr(clock, "now", lambda: moment)  # both sign-ins in the same second
    one, two = Pkce.new(), Pkce.new()
    code_one, code_two = get_code(client, one), get_code(client, two)
    first = exchange(client, code_one, one).json()
    second = exchange(client, code_two, two).json()
    assert first["access_token"] == second["access_token"]  # no jti, same claims: same bytes
    assert exchange(client, code_two, two).status_code == 400  # the second family's replay
    assert not _active(client, second["access_token"])
    assert _userinfo(client, second["access_token"]) == 401


def test_client_credentials_tokens_cost_no_grant_lookup(client, token_post) -> None:
    seed_with_api_secrets(make_client(include_jwt_id=False))
    token = token_post({"grant_type": "client_credentials"},
                       auth=("service.client", "secret")).json()["access_token"]
    assert _active(client, token)  # warms the caches and the key ring
    with CaptureQueriesContext(connection) as captured:
        assert _active(client, token)
    table = PersistedGrant._meta.db_table
    assert not [q for q in captured.captured_queries if table in q["sql"]]
