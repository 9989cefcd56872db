"""Stored clients with a property this server cannot honour fail closed at the endpoints;
the FAPI 2.0 properties that once were refused are honoured.

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


def test_coordinate_lifetime_client_gets_no_token(seeded, token_post) -> None:
    # stored past the rules, as an old row would be
    seeded(make_client(coordinate_lifetime_with_user_session=True))

    response = token_post(CLIENT_CREDENTIALS, auth=AUTH)

    assert response.status_code == 401
    assert response.json() == {"error": "invalid_client",
                               "error_description": "client authentication failed"}
    assert response["WWW-Authenticate"].startswith("Basic")


def test_coordinate_lifetime_is_refused_even_when_the_store_does_not_validate(
        seeded, token_post, identity_config) -> None:
    identity_config(VALIDATE_CLIENTS_ON_READ=False)
    seeded(make_client(coordinate_lifetime_with_user_session=True))

    response = token_post(CLIENT_CREDENTIALS, auth=AUTH)

    assert response.status_code == 400
    assert response.json() == {
        "error": "unauthorized_client",
        "error_description": "the client's configuration uses features this server does not "
                             "support yet"}


def test_custom_dpop_validation_mode_is_refused_even_when_the_store_does_not_validate(
        seeded, token_post, identity_config) -> None:
    identity_config(VALIDATE_CLIENTS_ON_READ=False)
    seeded(make_client(dpop_validation_mode=0))

    response = token_post(CLIENT_CREDENTIALS, auth=AUTH)

    assert response.status_code == 400 and response.json()["error"] == "unauthorized_client"


def test_same_client_without_the_property_gets_its_token(seeded, token_post) -> None:
    seeded(make_client())
    response = token_post(CLIENT_CREDENTIALS, auth=AUTH)
    assert response.status_code == 200 and response.json()["token_type"] == "Bearer"


def test_require_dpop_is_honoured_a_request_without_proof_gets_no_token(
        seeded, token_post) -> None:
    seeded(make_client(require_dpop=True))

    response = token_post(CLIENT_CREDENTIALS, auth=AUTH)

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_dpop_proof"
    assert "access_token" not in response.json()


def test_session_coordinated_client_is_not_trusted_at_authorize(
        client, seeded, alice) -> None:
    seeded(make_interactive_client(coordinate_lifetime_with_user_session=True))
    login(client)

    response = authorize(client, **authorize_params(Pkce.new()))

    assert response.status_code == 400 and not response.has_header("Location")
    assert "unknown or disabled client" in response.content.decode()


def test_session_coordinated_client_redirects_an_error_when_the_store_does_not_validate(
        client, seeded, alice, identity_config) -> None:
    identity_config(VALIDATE_CLIENTS_ON_READ=False)
    seeded(make_interactive_client(coordinate_lifetime_with_user_session=True))
    login(client)

    response = authorize(client, **authorize_params(Pkce.new()))

    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(REDIRECT + "?") and "code=" not in urlsplit(location).query
    assert "error=unauthorized_client" in location


@pytest.mark.parametrize(("overrides", "words"), [
    ({"require_pushed_authorization": True}, "pushed"),
    ({"require_request_object": True}, "request+object"),
])
def test_fapi_requirements_are_honoured_with_an_invalid_request_redirect(
        client, seeded, alice, overrides, words) -> None:
    # Trusted clients (RFC 9126 §5, RFC 9101 §10.5): the error goes to the redirect URI.
    seeded(make_interactive_client(**overrides))
    login(client)

    response = authorize(client, **authorize_params(Pkce.new()))

    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(REDIRECT + "?") and "code=" not in urlsplit(location).query
    assert "error=invalid_request" in location
    assert words in location
