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
    assert doc["grant_types_supported"] == ["client_credentials"]
    assert doc["token_endpoint_auth_methods_supported"] == ["client_secret_basic",
                                                            "client_secret_post"]
    assert {"openid", "profile", "api1", "api2.read_only"} <= set(doc["scopes_supported"])
    # Nothing that does not exist yet:
    for absent in ("authorization_endpoint", "userinfo_endpoint", "introspection_endpoint",
                   "revocation_endpoint", "end_session_endpoint"):
        assert absent not in doc


def test_openid_document_adds_signing_algorithms(client, seeded) -> None:
    seeded()
    doc = client.get(DOCS[0]).json()
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert "email" in doc["claims_supported"]


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
