"""A refresh grants only what the client's configuration still allows (RFC 6749 §3.3, §5.2, §6).

Scopes removed from the client, deleted or disabled since the sign-in are dropped; a token left
with nothing but offline_access is invalid_grant; asking for a withdrawn scope is invalid_scope.
"""

from __future__ import annotations

import jwt
import pytest

# Connects the user_logged_in receiver that records auth_time and sid.
import identity.http.session  # noqa: F401
from identity.constants import TokenUsage
from tests.factories import make_interactive_client
from tests.helpers.calls import refresh
from tests.helpers.flow import sign_in_for_tokens, verified_claims

pytestmark = pytest.mark.django_db

WITHOUT_API1 = ("openid", "profile", "email", "api2.read_only")


def _ok(response) -> dict:
    assert response.status_code == 200, response.content
    return response.json()


def _refused(response, error: str) -> None:
    assert response.status_code == 400, response.content
    assert response.json()["error"] == error


def _scopes(body: dict) -> set[str]:
    return set(body["scope"].split())


def _disable(model: str, name: str) -> None:
    from clients_app import models

    row = getattr(models, model).objects.get(name=name)
    row.enabled = False
    row.save()  # the receivers drop the cached resources


def test_a_scope_removed_from_the_client_is_not_granted_on_refresh(client, seeded, alice) -> None:
    seeded()
    token = sign_in_for_tokens(client)["refresh_token"]
    seeded(make_interactive_client(allowed_scopes=WITHOUT_API1))
    body = _ok(refresh(client, token))
    assert _scopes(body) == {"openid", "profile", "email", "offline_access"}
    claims = verified_claims(client, body["access_token"])
    assert "api1" not in claims["scope"].split()
    assert claims["aud"] != "api1" and "api1" not in claims["aud"]


def test_the_rotated_token_keeps_the_narrowed_scope_when_the_scope_is_added_again(
        client, seeded, alice) -> None:
    seeded()
    token = sign_in_for_tokens(client)["refresh_token"]
    seeded(make_interactive_client(allowed_scopes=WITHOUT_API1))
    rotated = _ok(refresh(client, token))["refresh_token"]
    seeded()  # api1 allowed again: the family was told it lost api1, and keeps it lost
    body = _ok(refresh(client, rotated))
    assert _scopes(body) == {"openid", "profile", "email", "offline_access"}


def test_asking_for_a_withdrawn_scope_is_invalid_scope_and_keeps_the_token(client, seeded,
                                                                           alice) -> None:
    seeded()
    token = sign_in_for_tokens(client)["refresh_token"]
    seeded(make_interactive_client(allowed_scopes=WITHOUT_API1))
    _refused(refresh(client, token, scope="openid api1"), "invalid_scope")
    assert _scopes(_ok(refresh(client, token, scope="openid"))) == {"openid", "offline_access"}


def test_a_disabled_api_scope_is_not_granted_on_refresh(client, seeded, alice) -> None:
    seeded()
    token = sign_in_for_tokens(client)["refresh_token"]
    _disable("ApiScope", "api1")
    body = _ok(refresh(client, token))
    assert "api1" not in _scopes(body)
    assert "api1" not in str(verified_claims(client, body["access_token"])["aud"])


def test_a_disabled_identity_scope_is_not_granted_on_refresh(client, seeded, alice) -> None:
    seeded()
    token = sign_in_for_tokens(client)["refresh_token"]
    _disable("IdentityResource", "email")
    body = _ok(refresh(client, token))
    assert _scopes(body) == {"openid", "profile", "api1", "offline_access"}


def test_without_openid_the_identity_scopes_and_the_id_token_go(client, seeded, alice) -> None:
    seeded()
    token = sign_in_for_tokens(client)["refresh_token"]
    seeded(make_interactive_client(allowed_scopes=("profile", "email", "api1")))
    body = _ok(refresh(client, token))
    assert _scopes(body) == {"api1", "offline_access"}
    assert "id_token" not in body


def test_a_token_left_with_nothing_is_invalid_grant(client, seeded, alice) -> None:
    seeded()
    token = sign_in_for_tokens(client, scope="api1 offline_access", nonce=None)["refresh_token"]
    seeded(make_interactive_client(allowed_scopes=WITHOUT_API1))
    _refused(refresh(client, token), "invalid_grant")


def test_a_client_that_lost_offline_access_cannot_refresh(client, seeded, alice) -> None:
    seeded()
    token = sign_in_for_tokens(client)["refresh_token"]
    seeded(make_interactive_client(allow_offline_access=False))
    _refused(refresh(client, token), "unauthorized_client")


def test_a_reuse_token_whose_scope_shrank_is_replaced_by_a_narrowed_one(client, seeded,
                                                                       alice) -> None:
    seeded(make_interactive_client(refresh_token_usage=TokenUsage.ReUse))
    token = sign_in_for_tokens(client)["refresh_token"]
    assert _ok(refresh(client, token))["refresh_token"] == token  # ReUse, nothing changed
    seeded(make_interactive_client(refresh_token_usage=TokenUsage.ReUse,
                                   allowed_scopes=WITHOUT_API1))
    body = _ok(refresh(client, token))
    assert body["refresh_token"] != token and "api1" not in _scopes(body)
    _refused(refresh(client, token), "invalid_grant")  # replaced
    seeded(make_interactive_client(refresh_token_usage=TokenUsage.ReUse))
    again = _ok(refresh(client, body["refresh_token"]))
    assert again["refresh_token"] == body["refresh_token"] and "api1" not in _scopes(again)


def test_narrowing_by_request_still_keeps_the_full_scope_for_the_next_refresh(client, seeded,
                                                                             alice) -> None:
    seeded()
    token = sign_in_for_tokens(client)["refresh_token"]
    narrowed = _ok(refresh(client, token, scope="openid"))
    assert "api1" not in jwt.decode(narrowed["access_token"],
                                    options={"verify_signature": False})["scope"].split()
    assert "api1" in _scopes(_ok(refresh(client, narrowed["refresh_token"])))


def test_a_code_grants_only_what_the_configuration_still_allows(client, seeded, alice) -> None:
    from clients_app.models import ClientScope
    from tests.helpers.flow import exchange, get_code, login
    from tests.helpers.pkce import Pkce

    seeded()
    login(client)
    pkce = Pkce.new()
    code = get_code(client, pkce)
    ClientScope.objects.filter(client__client_id="interactive", scope="api1").delete()
    tokens = exchange(client, code, pkce).json()
    assert "api1" not in tokens["scope"].split()
