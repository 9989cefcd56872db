"""CORS on the token, discovery and JWKS endpoints for origins that clients allow."""

from __future__ import annotations

import pytest

from tests.factories import make_client

pytestmark = pytest.mark.django_db
ALLOWED = "https://app.example.com"
PATHS = ["/connect/token", "/.well-known/openid-configuration",
         "/.well-known/openid-configuration/jwks"]


@pytest.fixture(autouse=True)
def _clients(seeded) -> None:
    seeded(make_client(allowed_cors_origins=(ALLOWED,)))


@pytest.mark.parametrize("path", PATHS)
def test_preflight_from_allowed_origin(client, path) -> None:
    response = client.options(path, HTTP_ORIGIN=ALLOWED,
                              HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    assert "Authorization" in response["Access-Control-Allow-Headers"]
    assert response["Vary"] == "Origin"


@pytest.mark.parametrize("path", PATHS)
def test_other_origins_get_no_cors_headers(client, path) -> None:
    response = client.options(path, HTTP_ORIGIN="https://evil.example.com",
                              HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Origin" not in client.get(path, HTTP_ORIGIN="https://evil.example.com")


def test_actual_token_request_carries_the_origin(token_post) -> None:
    response = token_post({"grant_type": "client_credentials"}, auth=("service.client", "secret"),
                          origin=ALLOWED)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED


def test_removing_an_origin_takes_effect(client) -> None:
    from clients_app.models import ClientCorsOrigin

    path = PATHS[1]
    assert client.get(path, HTTP_ORIGIN=ALLOWED)["Access-Control-Allow-Origin"] == ALLOWED
    ClientCorsOrigin.objects.get(origin=ALLOWED).delete()
    assert "Access-Control-Allow-Origin" not in client.get(path, HTTP_ORIGIN=ALLOWED)
