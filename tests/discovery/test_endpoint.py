"""Discovery documents (OpenID Connect Discovery 1.0, RFC 8414)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db
DOCS = ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]


@pytest.mark.parametrize("path", DOCS)
def test_document_lists_what_exists(client, seeded, identity_config, path) -> None:
    seeded()
    identity_config(ISSUER="https://id.example.com")
    response = client.get(path)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    doc = response.json()
    assert doc["issuer"] == "https://id.example.com"
    assert doc["token_endpoint"] == "https://id.example.com/connect/token"
    assert doc["jwks_uri"] == "https://id.example.com/.well-known/openid-configuration/jwks"
    assert doc["authorization_endpoint"] == "https://id.example.com/connect/authorize"
    assert doc["grant_types_supported"] == ["authorization_code", "client_credentials",
                                            "refresh_token",
                                            "urn:ietf:params:oauth:grant-type:device_code"]
    assert doc["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic", "client_secret_post", "private_key_jwt", "none"]
    assert doc["response_types_supported"] == ["code"]
    assert doc["response_modes_supported"] == ["query", "fragment", "form_post"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert {"openid", "profile", "api1", "api2.read_only", "offline_access"} <= set(
        doc["scopes_supported"])
    # Nothing that does not exist yet:
    assert doc["introspection_endpoint"] == "https://id.example.com/connect/introspect"
    assert doc["revocation_endpoint"] == "https://id.example.com/connect/revocation"
    assert doc["registration_endpoint"] == "https://id.example.com/connect/dcr"
    assert doc["pushed_authorization_request_endpoint"] == "https://id.example.com/connect/par"
    assert doc["device_authorization_endpoint"] == (
        "https://id.example.com/connect/deviceauthorization")
    for absent in ("check_session_iframe",
                   "backchannel_authentication_endpoint", "mtls_endpoint_aliases"):
        assert absent not in doc


def test_openid_document_adds_the_openid_members(client, seeded) -> None:
    seeded()
    doc = client.get(DOCS[0]).json()
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["userinfo_endpoint"] == "http://testserver/connect/userinfo"
    assert doc["end_session_endpoint"] == "http://testserver/connect/endsession"
    assert doc["subject_types_supported"] == ["public", "pairwise"]
    assert doc["frontchannel_logout_supported"] is True
    assert doc["frontchannel_logout_session_supported"] is True
    assert {"email", "sub", "nonce", "at_hash"} <= set(doc["claims_supported"])
    oauth = client.get(DOCS[1]).json()
    assert "userinfo_endpoint" not in oauth and "subject_types_supported" not in oauth


def test_scopes_hidden_from_discovery_are_not_listed(client, seeded) -> None:
    from clients_app.models import ApiScope

    seeded()
    scope = ApiScope.objects.get(name="api2.read_only")
    scope.show_in_discovery_document = False
    scope.save()
    assert "api2.read_only" not in client.get(DOCS[0]).json()["scopes_supported"]


def test_issuer_follows_the_request_when_not_configured(client, seeded) -> None:
    seeded()
    assert client.get(DOCS[0]).json()["issuer"] == "http://testserver"


def test_post_is_refused(client, seeded) -> None:
    response = client.post(DOCS[0])
    assert response.status_code == 405 and response["Allow"] == "GET"
