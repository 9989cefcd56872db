"""The revocation endpoint at /connect/revocation (RFC 7009), driven through the test client.

Refresh tokens and reference access tokens are deleted (a refresh token with its family); JWT
access tokens only for clients that opted in (a deny-list row until the token expires); another
client's token answers 200 and stays valid (RFC 7009 §2.1, the documented choice); a failure to
record the revocation answers 503, never a 200 that did not revoke.
"""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from django.core.management import call_command
from django.db import OperationalError

# Connects the user_logged_in receiver that records auth_time and sid; the URLconf imports it
# too, but a test may sign in before its first request resolves a URL.
import identity.http.session  # noqa: F401
from identity import clock
from identity.constants import AccessTokenType
from identity.models import PersistedGrant
from identity.stores.orm_grants import OrmPersistedGrantStore
from tests.factories import make_client, make_interactive_client
from tests.helpers.basic_auth import basic_auth
from tests.helpers.calls import API_AUTH, REVOKE, introspect, refresh, revoke
from tests.helpers.calls import client_credentials_token as _cc_token
from tests.helpers.calls import userinfo as _userinfo
from tests.helpers.clients import reference_client as _reference
from tests.helpers.flow import sign_in_for_tokens
from tests.helpers.seeding import seed_with_api_secrets

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"
INTERACTIVE_AUTH = ("interactive", "secret")
SERVICE_AUTH = ("service.client", "secret")
OTHER_AUTH = ("other", "secret")
REVOCABLE = (("RevocableJwtAccessTokens", "true"),)
HINTS = [None, "refresh_token", "access_token", "nonsense"]


# --- helpers -------------------------------------------------------------------------------------


def _ok(response) -> None:
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"


def _is_active(client, token: str, auth=API_AUTH) -> bool:
    response = introspect(client, token, auth=auth)
    assert response.status_code == 200, response.content
    return response.json()["active"]


def _assert_refresh_refused(client, token: str, auth=INTERACTIVE_AUTH) -> None:
    response = refresh(client, token, auth=auth)
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_grant"


def _hint(hint: str | None) -> dict[str, str]:
    return {} if hint is None else {"token_type_hint": hint}


def _deny_list() -> list[PersistedGrant]:
    return list(PersistedGrant.objects.filter(type="revoked_jti"))


# --- client authentication (RFC 7009 §2.1) -------------------------------------------------------


@pytest.mark.parametrize("auth, params", [
    (None, {}),
    (None, {"client_id": "interactive"}),
    (("interactive", "wrong"), {}),
    (None, {"client_id": "interactive", "client_secret": "wrong"}),
    (("nobody", "secret"), {}),
    (API_AUTH, {}),  # an API resource may introspect, never revoke
], ids=["nothing", "client-id-only", "wrong-secret-basic", "wrong-secret-post", "unknown",
        "api-resource"])
def test_revocation_requires_client_authentication(client, alice, auth, params) -> None:
    seed_with_api_secrets()
    tokens = sign_in_for_tokens(client)
    response = revoke(client, tokens["refresh_token"], auth=auth, **params)
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "invalid_client"
    assert response["Cache-Control"] == "no-store"
    assert _is_active(client, tokens["refresh_token"], auth=INTERACTIVE_AUTH)
    assert refresh(client, tokens["refresh_token"]).status_code == 200


@pytest.mark.parametrize("method", ["basic", "post"])
def test_a_client_authenticates_with_basic_or_post(client, alice, method) -> None:
    seed_with_api_secrets()
    token = sign_in_for_tokens(client)["refresh_token"]
    if method == "basic":
        _ok(revoke(client, token, auth=INTERACTIVE_AUTH))
    else:
        _ok(revoke(client, token, auth=None, client_id="interactive", client_secret="secret"))
    _assert_refresh_refused(client, token)


def test_get_is_405(client, alice) -> None:
    seed_with_api_secrets()
    token = sign_in_for_tokens(client)["refresh_token"]
    response = client.get(f"{REVOKE}?token={token}", **basic_auth(INTERACTIVE_AUTH))
    assert response.status_code == 405
    assert "POST" in response["Allow"]
    assert refresh(client, token).status_code == 200


def test_missing_token_is_400_invalid_request(client) -> None:
    seed_with_api_secrets()
    response = revoke(client, None, token_type_hint="refresh_token")
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_request"
    assert "token" in response.json()["error_description"]


# --- refresh tokens and reference access tokens ---------------------------------------------------


@pytest.mark.parametrize("hint", HINTS)
def test_a_refresh_token_is_revoked_whatever_the_hint(client, alice, hint) -> None:
    seed_with_api_secrets()
    token = sign_in_for_tokens(client)["refresh_token"]
    _ok(revoke(client, token, **_hint(hint)))
    _assert_refresh_refused(client, token)
    assert not _is_active(client, token, auth=INTERACTIVE_AUTH)
    assert not PersistedGrant.objects.filter(
        key=hashlib.sha256(token.encode()).hexdigest()).exists()


@pytest.mark.parametrize("hint", HINTS)
def test_a_reference_access_token_is_revoked_whatever_the_hint(client, alice, hint) -> None:
    seed_with_api_secrets(_reference())
    token = sign_in_for_tokens(client)["access_token"]
    assert _userinfo(client, token).status_code == 200
    _ok(revoke(client, token, **_hint(hint)))
    assert not _is_active(client, token)
    assert not _is_active(client, token, auth=INTERACTIVE_AUTH)
    response = _userinfo(client, token)
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "invalid_token"


def test_a_reference_client_credentials_token_is_revoked(client, token_post) -> None:
    seed_with_api_secrets(make_client(access_token_type=AccessTokenType.Reference))
    token = _cc_token(token_post)
    assert _is_active(client, token)
    _ok(revoke(client, token, auth=SERVICE_AUTH))
    assert not _is_active(client, token)


@pytest.mark.parametrize("token", ["unknown-token", "a.b.c", "x" * 43])
def test_an_unknown_token_answers_200(client, token) -> None:
    seed_with_api_secrets()
    _ok(revoke(client, token))


def test_an_already_revoked_token_answers_200_again(client, alice) -> None:
    seed_with_api_secrets(_reference())
    tokens = sign_in_for_tokens(client)
    for token in (tokens["access_token"], tokens["refresh_token"]):
        _ok(revoke(client, token))
        _ok(revoke(client, token))


@pytest.mark.parametrize("kind", ["refresh", "reference", "jwt"])
def test_another_clients_token_answers_200_and_stays_valid(client, alice, kind) -> None:
    access_type = AccessTokenType.Jwt if kind == "jwt" else AccessTokenType.Reference
    seed_with_api_secrets(
        make_interactive_client(access_token_type=access_type, properties=REVOCABLE),
        make_interactive_client("other", access_token_type=access_type, properties=REVOCABLE))
    tokens = sign_in_for_tokens(client)
    token = tokens["refresh_token" if kind == "refresh" else "access_token"]
    _ok(revoke(client, token, auth=OTHER_AUTH))
    assert _is_active(client, token, auth=INTERACTIVE_AUTH)
    assert _deny_list() == []
    if kind == "refresh":
        assert refresh(client, token).status_code == 200
    else:
        assert _is_active(client, token)
        assert _userinfo(client, token).status_code == 200


@pytest.mark.parametrize("revoked", ["first", "rotated"])
def test_revoking_a_refresh_token_revokes_its_family(client, alice, revoked) -> None:
    seed_with_api_secrets(_reference())
    first = sign_in_for_tokens(client)
    tokens = [first]
    if revoked == "rotated":
        response = refresh(client, first["refresh_token"])
        assert response.status_code == 200, response.content
        tokens.append(response.json())
    access_tokens = [t["access_token"] for t in tokens]
    assert all(_userinfo(client, t).status_code == 200 for t in access_tokens)
    _ok(revoke(client, tokens[-1]["refresh_token"]))
    for token in access_tokens:
        assert not _is_active(client, token)
        assert _userinfo(client, token).status_code == 401
    for token in (t["refresh_token"] for t in tokens):
        assert not _is_active(client, token, auth=INTERACTIVE_AUTH)
        _assert_refresh_refused(client, token)
    assert not PersistedGrant.objects.exclude(type="authorization_code").exists()


def test_revoking_one_sign_in_leaves_another_sign_in_alone(client, alice) -> None:
    seed_with_api_secrets(_reference())
    first = sign_in_for_tokens(client)
    second = sign_in_for_tokens(client)
    _ok(revoke(client, first["refresh_token"]))
    assert _is_active(client, second["access_token"])
    assert refresh(client, second["refresh_token"]).status_code == 200


# --- JWT access tokens ----------------------------------------------------------------------------


@pytest.mark.parametrize("hint", HINTS)
def test_a_jwt_of_a_client_that_did_not_opt_in_is_unsupported_token_type(client, alice,
                                                                          hint) -> None:
    seed_with_api_secrets()
    token = sign_in_for_tokens(client)["access_token"]
    response = revoke(client, token, **_hint(hint))
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "unsupported_token_type"
    assert response["Cache-Control"] == "no-store"
    assert _deny_list() == []
    assert _is_active(client, token)
    assert _userinfo(client, token).status_code == 200


@pytest.mark.parametrize("hint", HINTS)
def test_a_jwt_of_an_opted_in_client_is_revoked_until_it_expires(client, alice, hint) -> None:
    seed_with_api_secrets(make_interactive_client(properties=REVOCABLE))
    token = sign_in_for_tokens(client)["access_token"]
    assert _userinfo(client, token).status_code == 200
    _ok(revoke(client, token, **_hint(hint)))
    assert not _is_active(client, token)
    assert not _is_active(client, token, auth=INTERACTIVE_AUTH)
    response = _userinfo(client, token)
    assert response.status_code == 401 and response.json()["error"] == "invalid_token"
    claims = jwt.decode(token, options={"verify_signature": False})
    [row] = _deny_list()
    assert row.client_id == "interactive" and row.subject_id == str(alice.pk)
    assert row.expires == datetime.fromtimestamp(claims["exp"], UTC)
    assert claims["jti"] not in row.key  # stored as a hash, like every other handle
    _ok(revoke(client, token))  # again: still 200, still one row
    assert len(_deny_list()) == 1


def test_a_client_credentials_jwt_of_an_opted_in_client_is_revoked(client, token_post) -> None:
    seed_with_api_secrets(make_client(properties=REVOCABLE),
                          make_client("other.client", properties=REVOCABLE))
    token = _cc_token(token_post)
    kept = _cc_token(token_post)
    _ok(revoke(client, token, auth=SERVICE_AUTH))
    assert not _is_active(client, token)
    assert _is_active(client, kept)  # the deny list names one token, not the client


def test_an_opted_in_jwt_without_jti_is_revoked_by_its_digest(client, token_post,
                                                              monkeypatch) -> None:
    seed_with_api_secrets(make_client(properties=REVOCABLE, include_jwt_id=False))
    token = _cc_token(token_post)
    earlier = clock.now() - timedelta(seconds=5)  # without jti, only the time tells them apart
    with monkeypatch.context() as patch:
        patch.setattr(clock, "now", lambda: earlier)
        kept = _cc_token(token_post)
    assert kept != token
    assert "jti" not in jwt.decode(token, options={"verify_signature": False})
    _ok(revoke(client, token, auth=SERVICE_AUTH))
    assert not _is_active(client, token)
    assert _is_active(client, kept)  # the digest names one token, not the client
    [row] = _deny_list()
    assert row.client_id == "service.client"


def test_the_deny_list_row_is_cleaned_up_only_once_the_token_expired(client, alice,
                                                                     monkeypatch) -> None:
    seed_with_api_secrets(make_interactive_client(properties=REVOCABLE))
    token = sign_in_for_tokens(client)["access_token"]
    _ok(revoke(client, token))
    exp = datetime.fromtimestamp(jwt.decode(token, options={"verify_signature": False})["exp"],
                                 UTC)
    for moment, left in ((exp - timedelta(seconds=1), 1), (exp + timedelta(seconds=1), 0)):
        monkeypatch.setattr(clock, "now", lambda moment=moment: moment)
        call_command("cleanup_grants", stdout=io.StringIO())
        assert len(_deny_list()) == left


def test_a_revoked_jwt_stays_revoked_when_the_user_revokes_the_application(client,
                                                                           alice) -> None:
    seed_with_api_secrets(make_interactive_client(properties=REVOCABLE))
    token = sign_in_for_tokens(client)["access_token"]
    _ok(revoke(client, token))
    assert not _is_active(client, token)
    response = client.post("/account/grants", {"client_id": "interactive"})
    assert response.status_code == 302, response.content[:500]
    assert not _is_active(client, token)
    assert _userinfo(client, token).status_code == 401


# --- a failure to record the revocation is never a 200 -------------------------------------------


def _database_down(*args, **kwargs):
    raise OperationalError("connection to server was lost")


@pytest.mark.parametrize("method, kind", [
    ("store", "jwt"),             # the deny-list row
    ("remove_family", "refresh"),
    ("remove", "refresh"),
    ("remove", "reference"),
])
def test_a_database_failure_while_revoking_is_503_temporarily_unavailable(
        client, alice, monkeypatch, method, kind) -> None:
    access_type = AccessTokenType.Reference if kind == "reference" else AccessTokenType.Jwt
    seed_with_api_secrets(make_interactive_client(access_token_type=access_type,
                                                  properties=REVOCABLE))
    tokens = sign_in_for_tokens(client)
    token = tokens["refresh_token" if kind == "refresh" else "access_token"]
    monkeypatch.setattr(OrmPersistedGrantStore, method, _database_down)
    response = revoke(client, token)
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "temporarily_unavailable"
    assert response["Cache-Control"] == "no-store"
