"""Stored clients with a property this server cannot honour fail closed at the endpoints.

The store hides them (`VALIDATE_CLIENTS_ON_READ`, the default), and the token and authorize
validators refuse them when it does not: never a token issued as if the property were off.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.factories import make_client, make_interactive_client
from tests.helpers.flow import REDIRECT, authorize, authorize_params, login
from tests.helpers.pkce import Pkce

pytestmark = pytest.mark.django_db
AUTH = ("service.client", "secret")
CLIENT_CREDENTIALS = {"grant_type": "client_credentials", "scope": "api1"}


def test_require_dpop_client_gets_no_bearer_token(seeded, token_post) -> None:
    seeded(make_client(require_dpop=True))  # stored past the rules, as an old row would be

    response = token_post(CLIENT_CREDENTIALS, auth=AUTH)

    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client",
                               "error_description": "client authentication failed"}
    assert response["WWW-Authenticate"].startswith("Basic")


def test_require_dpop_is_refused_even_when_the_store_does_not_validate(
        seeded, token_post, identity_config) -> None:
    identity_config(VALIDATE_CLIENTS_ON_READ=False)
    seeded(make_client(require_dpop=True))

    response = token_post(CLIENT_CREDENTIALS, auth=AUTH)

    assert response.status_code == 400
    assert response.json() == {
        "error": "unauthorized_client",
        "error_description": "the client's configuration uses features this server does not "
                             "support yet"}


def test_same_client_without_the_property_gets_its_token(seeded, token_post) -> None:
    seeded(make_client())
    response = token_post(CLIENT_CREDENTIALS, auth=AUTH)
    assert response.status_code == 200 and response.json()["token_type"] == "Bearer"


def test_require_pushed_authorization_client_is_not_trusted_at_authorize(
        client, seeded, alice) -> None:
    seeded(make_interactive_client(require_pushed_authorization=True))
    login(client)

    response = authorize(client, **authorize_params(Pkce.new()))

    assert response.status_code == 400 and not response.has_header("Location")
    assert "unknown or disabled client" in response.content.decode()


def test_require_pushed_authorization_redirects_an_error_when_the_store_does_not_validate(
        client, seeded, alice, identity_config) -> None:
    identity_config(VALIDATE_CLIENTS_ON_READ=False)
    seeded(make_interactive_client(require_pushed_authorization=True))
    login(client)

    response = authorize(client, **authorize_params(Pkce.new()))

    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(REDIRECT + "?") and "code=" not in urlsplit(location).query
    assert "error=unauthorized_client" in location


def test_require_request_object_keeps_its_own_answer(
        client, seeded, alice, identity_config) -> None:
    identity_config(VALIDATE_CLIENTS_ON_READ=False)
    seeded(make_interactive_client(require_request_object=True))
    login(client)

    response = authorize(client, **authorize_params(Pkce.new()))

    assert response.status_code == 302
    assert "error=invalid_request" in response["Location"]
    assert "request+objects" in response["Location"]
