"""Bad input at the token endpoint: the RFC's error, fast, never a 500."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db
AUTH = ("service.client", "secret")


@pytest.fixture(autouse=True)
def _clients(seeded) -> None:
    seeded()


def _is_json_error(response, status: int, error: str = "invalid_request") -> None:
    assert response.status_code == status, response.content
    assert response.json()["error"] == error
    assert response["Cache-Control"] == "no-store" and response["Pragma"] == "no-cache"


def test_get_is_405_json(client, seeded) -> None:
    response = client.get("/connect/token")
    _is_json_error(response, 405)
    assert response["Allow"] == "POST"


def test_repeated_parameters_are_named(seeded, token_post) -> None:
    response = token_post("grant_type=client_credentials&scope=a&scope=b", auth=AUTH)
    _is_json_error(response, 400)
    assert response.json()["error_description"] == "parameters must not be repeated: scope"


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "multipart/form-data"])
def test_non_form_bodies_are_refused(client, seeded, content_type) -> None:
    response = client.post("/connect/token", "grant_type=client_credentials",
                           content_type=content_type)
    _is_json_error(response, 400)


def test_oversized_body_and_values(seeded, token_post) -> None:
    _is_json_error(token_post({"grant_type": "client_credentials", "x": "a" * 20000},
                              auth=AUTH), 400)
    response = token_post({"grant_type": "client_credentials", "scope": "a" * 301}, auth=AUTH)
    _is_json_error(response, 400)
    assert response.json()["error_description"] == "scope is too long"


@pytest.mark.parametrize("body", [
    b"grant_type=%ff%fe", b"\xff\xfe\xfd", b"grant_type=client_credentials&" + b"a=1&" * 60,
    b"grant_type=a%00b",
])
def test_malformed_bodies(seeded, token_post, body) -> None:
    _is_json_error(token_post(body, auth=AUTH), 400)


def test_empty_values_count_as_omitted(seeded, token_post) -> None:
    response = token_post({"grant_type": "client_credentials", "scope": ""}, auth=AUTH)
    assert response.status_code == 200


def test_error_description_has_only_allowed_characters() -> None:
    from identity.errors import InvalidRequest

    assert InvalidRequest('bad "quote" \\ and é').description == "bad ?quote? ? and ?"


def test_unexpected_exception_is_a_json_500_without_details(seeded, token_post, monkeypatch):
    from identity.endpoints import token

    def boom(*args, **kwargs):
        raise RuntimeError("internal detail")

    monkeypatch.setattr(token, "handle_token_request", boom)
    response = token_post({"grant_type": "client_credentials"}, auth=AUTH)
    _is_json_error(response, 500, "server_error")
    assert b"internal detail" not in response.content


def test_database_outage_is_a_json_503(seeded, token_post, monkeypatch) -> None:
    from django.db import OperationalError

    from identity.http import client_authentication as caller

    def down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(caller, "get_client_store", down)
    _is_json_error(token_post({"grant_type": "client_credentials"}, auth=AUTH), 503,
                   "temporarily_unavailable")
