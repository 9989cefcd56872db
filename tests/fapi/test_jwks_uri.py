"""A client's keys fetched from its jwks_uri (the Property JwksUri) for private_key_jwt at the
token endpoint: cached, fetched again for a new kid at most once per JWKS_URI_REFETCH_INTERVAL,
never through a redirect, within a timeout and a size limit, over https unless allowed.

The key sets are served by a loopback server (tests/fapi/jwks_server.py) that counts requests;
tests/conftest.py clears the cache between tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from identity.http import client_jwks
from identity.validation.client_config import validate_client
from tests.factories import make_client
from tests.fapi.jose import assertion_form, rsa_key
from tests.fapi.jwks_server import OTHER_PATH, JwksServer, serving

pytestmark = pytest.mark.django_db

CLIENT = "uri.client"
GRANT = {"grant_type": "client_credentials"}
INVALID = {"error": "invalid_client", "error_description": "client authentication failed"}
KEY = rsa_key("key-1")
ROTATED = rsa_key("key-2")


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    with serving(KEY) as server:
        yield server


@pytest.fixture
def uri_client(seeded, identity_config, jwks_server) -> JwksServer:
    """A client whose keys are only at the loopback jwks_uri (http allowed); its shared secret
    is not used here."""
    identity_config(JWKS_URI_REQUIRE_HTTPS=False)
    seeded(make_client(CLIENT, properties=(("JwksUri", jwks_server.url),)))
    return jwks_server


def token(token_post, key: Any = KEY, alg: str = "PS256") -> Any:
    return token_post({**GRANT, **assertion_form(CLIENT, key, alg)})


def refused(response: Any) -> bool:
    return response.status_code == 401 and response.json() == INVALID


def test_an_assertion_verifies_with_a_key_from_the_jwks_uri(uri_client, token_post) -> None:
    response = token(token_post)
    assert response.status_code == 200, response.content
    assert uri_client.requests == 1


def test_the_key_set_is_cached(uri_client, token_post) -> None:
    assert token(token_post).status_code == 200
    assert token(token_post).status_code == 200
    assert uri_client.requests == 1


def test_a_new_kid_fetches_the_key_set_once_more(uri_client, token_post) -> None:
    assert token(token_post).status_code == 200
    uri_client.keys = [ROTATED]  # the client rotated its key
    response = token(token_post, ROTATED)
    assert response.status_code == 200, response.content
    assert uri_client.requests == 2
    assert token(token_post, ROTATED).status_code == 200
    assert uri_client.requests == 2


def test_a_burst_of_unknown_kids_fetches_again_at_most_once(uri_client, token_post) -> None:
    assert token(token_post).status_code == 200
    for n in range(5):
        assert refused(token(token_post, rsa_key(f"made-up-{n}")))
    assert uri_client.requests <= 2


def test_a_redirect_is_not_followed(uri_client, token_post) -> None:
    uri_client.mode = "redirect"
    assert refused(token(token_post))
    assert uri_client.requests >= 1
    assert uri_client.hits[OTHER_PATH] == 0


def test_a_server_that_hangs_is_given_up(uri_client, token_post, monkeypatch) -> None:
    monkeypatch.setattr(client_jwks, "FETCH_TIMEOUT", 0.5)
    uri_client.mode = "hang"
    assert refused(token(token_post))


def test_a_body_trickled_past_the_timeout_is_given_up(uri_client, token_post,
                                                      monkeypatch) -> None:
    # Every piece arrives within the socket timeout; the whole takes six times longer.
    monkeypatch.setattr(client_jwks, "FETCH_TIMEOUT", 0.5)
    uri_client.mode = "trickle"
    assert refused(token(token_post))


def test_a_body_over_the_size_limit_is_ignored(uri_client, token_post) -> None:
    document = {"keys": [KEY.as_dict(private=False)], "padding": "x" * client_jwks.MAX_JWKS_BYTES}
    uri_client.body = json.dumps(document).encode()
    assert refused(token(token_post))
    assert uri_client.requests >= 1


def test_an_http_uri_is_not_fetched_when_https_is_required(uri_client, token_post,
                                                           identity_config) -> None:
    identity_config(JWKS_URI_REQUIRE_HTTPS=True)
    assert refused(token(token_post))
    assert uri_client.requests == 0


def test_a_failing_server_is_not_asked_again_on_every_request(uri_client, token_post) -> None:
    # Else anyone knowing the client id makes the server call a dead host at each request.
    uri_client.mode = "fail"
    for _ in range(4):
        assert refused(token(token_post))
    assert uri_client.requests <= 2


@pytest.mark.parametrize("uri", ["ftp://a.example/jwks", "not a url", "https:///jwks",
                                 "https://a.example/jwks#keys", "/jwks"])
def test_a_jwks_uri_property_that_is_not_an_http_url_is_refused(uri) -> None:
    problems = validate_client(make_client(properties=(("JwksUri", uri),)))
    assert [p.field for p in problems] == ["properties"]
    assert "JwksUri" in problems[0].message
