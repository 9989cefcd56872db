"""Client credentials at /connect/token, asserting the wire format (RFC 6749 §4.4, §5)."""

from __future__ import annotations

import json

import jwt
import pytest

from tests.factories import make_client

pytestmark = pytest.mark.django_db
AUTH = ("service.client", "secret")


def _claims(response) -> dict:
    token = response.json()["access_token"]
    return jwt.decode(token, options={"verify_signature": False})


def test_issues_a_bearer_jwt_with_rfc9068_claims(seeded, token_post, settings) -> None:
    seeded()
    response = token_post({"grant_type": "client_credentials", "scope": "api1"}, auth=AUTH)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store" and response["Pragma"] == "no-cache"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"] == "api1"
    header = jwt.get_unverified_header(body["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "RS256" and header["kid"]
    claims = _claims(response)
    assert claims["iss"] == "http://testserver"
    assert claims["aud"] == "api1" and claims["client_id"] == "service.client"
    assert claims["sub"] == "service.client" and claims["scope"] == "api1"
    assert claims["exp"] - claims["iat"] == 3600 and claims["nbf"] == claims["iat"]
    assert len(claims["jti"]) == 32


def test_configured_issuer_is_used_never_the_host_header(seeded, token_post, identity_config,
                                                         settings):
    settings.ALLOWED_HOSTS = ["*"]
    seeded()
    identity_config(ISSUER="https://id.example.com")
    response = token_post({"grant_type": "client_credentials"}, auth=AUTH,
                          host="evil.example.com")
    assert _claims(response)["iss"] == "https://id.example.com"


def test_absent_scope_grants_every_allowed_api_scope(seeded, token_post) -> None:
    seeded(make_client(allowed_scopes=("api1", "api2.read_only")))
    response = token_post({"grant_type": "client_credentials"}, auth=AUTH)
    assert response.json()["scope"] == "api1 api2.read_only"
    assert sorted(_claims(response)["aud"]) == ["api1", "api2"]


def test_lifetime_jti_and_client_claims_follow_the_client(seeded, token_post) -> None:
    from identity.domain.client import ClientClaim

    seeded(make_client(access_token_lifetime=120, include_jwt_id=False,
                       claims=(ClientClaim("role", "reader"), ClientClaim("role", "writer"),
                               ClientClaim("tier", "gold"))))
    response = token_post({"grant_type": "client_credentials"}, auth=AUTH)
    claims = _claims(response)
    assert response.json()["expires_in"] == 120 and claims["exp"] - claims["iat"] == 120
    assert "jti" not in claims
    assert claims["client_role"] == ["reader", "writer"] and claims["client_tier"] == "gold"


def test_static_audience_setting(seeded, token_post, identity_config) -> None:
    seeded()
    identity_config(ACCESS_TOKEN_STATIC_AUDIENCE="https://id.example.com/resources")
    aud = _claims(token_post({"grant_type": "client_credentials", "scope": "api1"}, auth=AUTH))
    assert aud["aud"] == ["api1", "https://id.example.com/resources"]


@pytest.mark.parametrize("scope,expected", [
    ("openid", "invalid_scope"), ("offline_access", "invalid_scope"),
    ("api1 profile", "invalid_scope"), ("api3", "invalid_scope"), ("api1\x7f", "invalid_scope"),
    ("api2.read_only", "invalid_scope"),
])
def test_scope_errors(seeded, token_post, scope, expected) -> None:
    seeded()
    response = token_post({"grant_type": "client_credentials", "scope": scope}, auth=AUTH)
    assert response.status_code == 400
    assert response.json()["error"] == expected
    assert response["Cache-Control"] == "no-store"


def test_disabled_scope_is_invalid_scope(seeded, token_post) -> None:
    from clients_app.models import ApiScope

    seeded()
    ApiScope.objects.filter(name="api1").update(enabled=False)
    from identity.stores.caching import invalidate_resources

    invalidate_resources()
    response = token_post({"grant_type": "client_credentials", "scope": "api1"}, auth=AUTH)
    assert response.json()["error"] == "invalid_scope"


def test_client_without_the_grant_is_unauthorized_client(seeded, token_post) -> None:
    seeded()
    response = token_post({"grant_type": "client_credentials"}, auth=("interactive", "secret"))
    assert response.status_code == 400
    assert response.json() == {"error": "unauthorized_client",
                               "error_description": "the client may not use client_credentials"}


@pytest.mark.parametrize("data,error", [
    ({}, "invalid_request"), ({"grant_type": ""}, "invalid_request"),
    ({"grant_type": "password"}, "unsupported_grant_type"),
    ({"grant_type": "urn:custom"}, "unsupported_grant_type"),
])
def test_grant_type_errors(seeded, token_post, data, error) -> None:
    seeded()
    response = token_post(data, auth=AUTH)
    assert response.status_code == 400 and response.json()["error"] == error


def test_unknown_parameters_are_ignored(seeded, token_post) -> None:
    seeded()
    response = token_post({"grant_type": "client_credentials", "foo": "bar", "code": "x"},
                          auth=AUTH)
    assert response.status_code == 200


def test_token_request_reads_one_row_and_writes_nothing(seeded, token_post,
                                                       django_assert_max_num_queries) -> None:
    seeded()
    token_post({"grant_type": "client_credentials"}, auth=AUTH)  # warm: key, caches, last use
    token_post({"grant_type": "client_credentials"}, auth=AUTH)  # reloaded: the new key's
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        for _ in range(5):
            assert token_post({"grant_type": "client_credentials"}, auth=AUTH).status_code == 200
    # The local-memory cache is not shared by the workers, so per request the database gives
    # the configuration generation, and with it when a failure counter last reached its limit:
    # with no lock running, the counters themselves are not read.
    sql = [q["sql"] for q in queries.captured_queries]
    assert len(sql) == 5
    assert all(s.startswith("SELECT") and "identity_configurationgeneration" in s for s in sql)


def test_last_use_is_recorded_at_most_once_per_interval(seeded, token_post) -> None:
    from clients_app.models import Client

    seeded()
    token_post({"grant_type": "client_credentials"}, auth=AUTH)
    first = Client.objects.get(client_id="service.client").last_accessed
    assert first is not None
    token_post({"grant_type": "client_credentials"}, auth=AUTH)
    assert Client.objects.get(client_id="service.client").last_accessed == first


def test_admin_edit_takes_effect_on_the_next_request(seeded, token_post) -> None:
    from clients_app.models import Client

    seeded()
    assert token_post({"grant_type": "client_credentials"}, auth=AUTH).status_code == 200
    row = Client.objects.get(client_id="service.client")
    row.enabled = False
    row.save()
    assert token_post({"grant_type": "client_credentials"}, auth=AUTH).status_code == 401


def test_response_body_is_json_object(seeded, token_post) -> None:
    seeded()
    response = token_post({"grant_type": "client_credentials"}, auth=AUTH)
    assert response["Content-Type"] == "application/json"
    assert isinstance(json.loads(response.content), dict)
