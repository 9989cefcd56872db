"""Dynamic registration of private_key_jwt clients (RFC 7591 §2 jwks, jwks_uri; RFC 7523):
the keys become the client's JWK secrets (or its JwksUri Property), no shared secret is issued,
and the client authenticates at once with an assertion built by joserfc."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from joserfc.jwk import ECKey, RSAKey

from identity.constants import JWKS_URI_PROPERTY
from identity.stores.registry import get_client_registration_store
from tests.fapi.jose import assertion_form, ec_key, public_jwk, rsa_key
from tests.fapi.jwks_server import JwksServer, serving
from tests.registration.conftest import SERVICE, registration_path, send

pytestmark = pytest.mark.django_db

GRANT = {"grant_type": "client_credentials", "scope": "api1"}
INVALID = {"error": "invalid_client", "error_description": "client authentication failed"}
RSA, EC = rsa_key("rsa-1"), ec_key("ec-1")
NEXT = rsa_key("rsa-2")
JWT_SERVICE = {**SERVICE, "token_endpoint_auth_method": "private_key_jwt"}


def with_keys(*keys: Any, **members: Any) -> dict[str, Any]:
    """The service metadata for private_key_jwt with `keys` as jwks."""
    return {**JWT_SERVICE, "jwks": {"keys": [public_jwk(k) for k in keys]}, **members}


def token(token_post, client_id: str, key: Any = RSA, alg: str = "PS256") -> Any:
    return token_post({**GRANT, **assertion_form(client_id, key, alg)})


def stored(client_id: str) -> Any:
    registration = get_client_registration_store().get(client_id)
    assert registration is not None
    return registration.client


def refusal(response: Any) -> str:
    """The description of an invalid_client_metadata answer."""
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "invalid_client_metadata", body
    return str(body["error_description"])


@pytest.fixture
def jwks_server(identity_config) -> Iterator[JwksServer]:
    identity_config(JWKS_URI_REQUIRE_HTTPS=False)
    with serving(RSA) as server:
        yield server


# --- registration and use ------------------------------------------------------------------------


def test_a_client_registered_with_jwks_gets_a_token_with_an_assertion(registered,
                                                                      token_post) -> None:
    reply = registered(with_keys(RSA))
    assert reply["token_endpoint_auth_method"] == "private_key_jwt"
    assert reply["jwks"] == {"keys": [public_jwk(RSA)]}
    assert "client_secret" not in reply and "client_secret_expires_at" not in reply
    response = token(token_post, reply["client_id"])
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "Bearer"


def test_a_private_key_jwt_client_has_no_shared_secret(registered, token_post) -> None:
    client_id = registered(with_keys(RSA))["client_id"]
    client = stored(client_id)
    assert client.require_client_secret is True
    assert [(s.type, s.description) for s in client.client_secrets] == [
        ("JWK", "registered by dynamic registration")]
    for auth in ((client_id, "secret"), (client_id, "")):
        response = token_post(GRANT, auth=auth)
        assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    response = token_post({**GRANT, "client_id": client_id})  # no secret at all
    assert response.status_code == 401 and response.json() == INVALID


def test_each_registered_key_is_a_jwk_secret(registered, token_post) -> None:
    reply = registered(with_keys(RSA, EC))
    assert [s.type for s in stored(reply["client_id"]).client_secrets] == ["JWK", "JWK"]
    assert token(token_post, reply["client_id"], EC, "ES256").status_code == 200
    assert token(token_post, reply["client_id"], RSA, "RS256").status_code == 200


def test_an_assertion_by_another_key_is_refused(registered, token_post) -> None:
    reply = registered(with_keys(RSA))
    response = token(token_post, reply["client_id"], rsa_key("rsa-1"))  # same kid, other key
    assert response.status_code == 401 and response.json() == INVALID


def test_a_client_registered_with_a_jwks_uri_gets_a_token(registered, token_post,
                                                          jwks_server) -> None:
    reply = registered({**JWT_SERVICE, "jwks_uri": jwks_server.url})
    assert reply["token_endpoint_auth_method"] == "private_key_jwt"
    assert reply["jwks_uri"] == jwks_server.url and "jwks" not in reply
    assert "client_secret" not in reply
    client = stored(reply["client_id"])
    assert dict(client.properties)[JWKS_URI_PROPERTY] == jwks_server.url
    assert client.client_secrets == ()
    response = token(token_post, reply["client_id"])
    assert response.status_code == 200, response.content
    assert jwks_server.requests == 1


def test_keys_registered_with_a_shared_secret_method_are_kept(registered, token_post) -> None:
    reply = registered({**SERVICE, "jwks": {"keys": [public_jwk(RSA)]}})
    assert reply["token_endpoint_auth_method"] == "client_secret_basic"
    assert reply["jwks"] == {"keys": [public_jwk(RSA)]}
    assert reply["client_secret_expires_at"] == 0
    auth = (reply["client_id"], reply["client_secret"])
    assert token_post(GRANT, auth=auth).status_code == 200
    assert sorted(s.type for s in stored(reply["client_id"]).client_secrets) == [
        "JWK", "SharedSecret"]


def test_a_jwks_uri_registered_with_a_shared_secret_method_is_kept(registered) -> None:
    reply = registered({**SERVICE, "jwks_uri": "https://keys.example.com/jwks"})
    assert reply["jwks_uri"] == "https://keys.example.com/jwks"
    assert reply["token_endpoint_auth_method"] == "client_secret_basic"
    assert "client_secret" in reply


def test_an_http_jwks_uri_is_accepted_when_https_is_not_required(registered,
                                                                 identity_config) -> None:
    identity_config(JWKS_URI_REQUIRE_HTTPS=False)
    reply = registered({**SERVICE, "jwks_uri": "http://127.0.0.1:9/jwks"})
    assert reply["jwks_uri"] == "http://127.0.0.1:9/jwks"


# --- refusals ------------------------------------------------------------------------------------


def _short_rsa() -> dict[str, Any]:
    with warnings.catch_warnings():  # joserfc warns about the size: the point here
        warnings.simplefilter("ignore")
        return public_jwk(RSAKey.generate_key(1024))


REFUSED_JWKS = {
    "a private RSA key": {"keys": [RSA.as_dict(private=True)]},
    "a private EC key": {"keys": [EC.as_dict(private=True)]},
    "a symmetric key": {"keys": [{"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ"}]},
    "RSA under 2048 bits": {"keys": [_short_rsa()]},
    "P-384": {"keys": [public_jwk(ECKey.generate_key("P-384"))]},
    "an RSA key without n": {"keys": [{"kty": "RSA", "e": "AQAB"}]},
    "an unknown kty": {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "abc"}]},
    "an encryption key": {"keys": [{**public_jwk(RSA), "use": "enc"}]},
    "a key that is a string": {"keys": ["not a key"]},
    "keys not an array": {"keys": public_jwk(RSA)},
    "not a JWK Set": [public_jwk(RSA)],
    "no keys": {"keys": []},
    "eleven keys": {"keys": [public_jwk(rsa_key(f"k{n}")) for n in range(11)]},
    "a kid twice": {"keys": [public_jwk(RSA), public_jwk(rsa_key("rsa-1"))]},
    "a key twice": {"keys": [public_jwk(RSA), public_jwk(RSA)]},
}


@pytest.mark.parametrize("jwks", REFUSED_JWKS.values(), ids=REFUSED_JWKS.keys())
def test_bad_jwks_are_refused_naming_the_member(register, jwks) -> None:
    assert refusal(register({**JWT_SERVICE, "jwks": jwks})).startswith("jwks:")


def test_ten_keys_are_accepted(registered) -> None:
    reply = registered({**JWT_SERVICE, "jwks": {
        "keys": [public_jwk(rsa_key(f"k{n}")) for n in range(10)]}})
    assert len(reply["jwks"]["keys"]) == 10


REFUSED_URIS = {
    "http": "http://keys.example.com/jwks",
    "http on loopback": "http://127.0.0.1:9/jwks",
    "not a URL": "not a url",
    "another scheme": "ftp://keys.example.com/jwks",
    "a fragment": "https://keys.example.com/jwks#keys",
    "credentials": "https://user:pw@keys.example.com/jwks",
    "no host": "https:///jwks",
}


@pytest.mark.parametrize("uri", REFUSED_URIS.values(), ids=REFUSED_URIS.keys())
def test_bad_jwks_uris_are_refused_naming_the_member(register, uri) -> None:
    assert refusal(register({**JWT_SERVICE, "jwks_uri": uri})).startswith("jwks_uri:")


def test_a_jwks_uri_that_is_not_a_string_is_refused(register) -> None:
    assert refusal(register({**JWT_SERVICE, "jwks_uri": ["https://a.example/jwks"]})
                   ).startswith("jwks_uri:")


def test_jwks_and_jwks_uri_together_are_refused(register) -> None:
    described = refusal(register(with_keys(RSA, jwks_uri="https://keys.example.com/jwks")))
    assert described.startswith("jwks_uri:") and "jwks" in described


def test_private_key_jwt_without_keys_is_refused(register) -> None:
    described = refusal(register(JWT_SERVICE))
    assert described.startswith("token_endpoint_auth_method:")
    assert "jwks" in described


@pytest.mark.parametrize("method", ["client_secret_jwt", "tls_client_auth",
                                    "self_signed_tls_client_auth"])
def test_other_key_methods_stay_unsupported(register, method) -> None:
    described = refusal(register(with_keys(RSA, token_endpoint_auth_method=method)))
    assert described.startswith(f"token_endpoint_auth_method: {method} is not supported")


# --- read and update (RFC 7592) ------------------------------------------------------------------


def test_read_shows_the_method_and_the_keys(client, registered) -> None:
    reply = registered(with_keys(RSA, EC))
    response = send(client, "GET", registration_path(reply),
                    token=reply["registration_access_token"])
    assert response.status_code == 200, response.content
    body = response.json()
    assert body == reply
    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    assert body["jwks"] == {"keys": [public_jwk(RSA), public_jwk(EC)]}
    assert "client_secret_expires_at" not in body


def test_read_shows_the_jwks_uri(client, registered, jwks_server) -> None:
    reply = registered({**JWT_SERVICE, "jwks_uri": jwks_server.url})
    body = send(client, "GET", registration_path(reply),
                token=reply["registration_access_token"]).json()
    assert body["jwks_uri"] == jwks_server.url
    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    assert "jwks" not in body and "client_secret_expires_at" not in body


def _update(client, reply: dict[str, Any], body: dict[str, Any]) -> Any:
    return send(client, "PUT", registration_path(reply), {"client_id": reply["client_id"], **body},
                token=reply["registration_access_token"])


def test_update_rotates_the_keys(client, registered, token_post) -> None:
    reply = registered(with_keys(RSA))
    response = _update(client, reply, with_keys(NEXT))
    assert response.status_code == 200, response.content
    updated = response.json()
    assert updated["jwks"] == {"keys": [public_jwk(NEXT)]}
    assert "client_secret" not in updated
    assert token(token_post, reply["client_id"], NEXT).status_code == 200
    old = token(token_post, reply["client_id"], RSA)
    assert old.status_code == 401 and old.json() == INVALID


def test_update_to_client_secret_basic_issues_a_secret_once(client, registered,
                                                           token_post) -> None:
    reply = registered(with_keys(RSA))
    response = _update(client, reply, {**SERVICE, "token_endpoint_auth_method":
                                       "client_secret_basic"})
    assert response.status_code == 200, response.content
    updated = response.json()
    assert updated["token_endpoint_auth_method"] == "client_secret_basic"
    assert updated["client_secret_expires_at"] == 0 and "jwks" not in updated
    secret = updated["client_secret"]
    assert token_post(GRANT, auth=(reply["client_id"], secret)).status_code == 200
    assert token(token_post, reply["client_id"]).status_code == 401  # the keys are gone
    read = send(client, "GET", registration_path(reply),
                token=reply["registration_access_token"]).json()
    assert "client_secret" not in read
    again = _update(client, reply, {**SERVICE, "client_secret": secret})
    assert again.status_code == 200 and "client_secret" not in again.json()


def test_update_to_private_key_jwt_drops_the_shared_secret(client, registered,
                                                           token_post) -> None:
    reply = registered()
    auth = (reply["client_id"], reply["client_secret"])
    response = _update(client, reply, with_keys(RSA))
    assert response.status_code == 200, response.content
    updated = response.json()
    assert updated["token_endpoint_auth_method"] == "private_key_jwt"
    assert "client_secret" not in updated and "client_secret_expires_at" not in updated
    assert token_post(GRANT, auth=auth).status_code == 401
    assert token(token_post, reply["client_id"]).status_code == 200
    assert [s.type for s in stored(reply["client_id"]).client_secrets] == ["JWK"]


def test_update_to_a_jwks_uri_replaces_the_keys(client, registered, token_post,
                                                jwks_server) -> None:
    jwks_server.keys = [NEXT]
    reply = registered(with_keys(RSA))
    response = _update(client, reply, {**JWT_SERVICE, "jwks_uri": jwks_server.url})
    assert response.status_code == 200, response.content
    assert response.json()["jwks_uri"] == jwks_server.url and "jwks" not in response.json()
    assert token(token_post, reply["client_id"], NEXT).status_code == 200
    assert token(token_post, reply["client_id"], RSA).status_code == 401


def test_an_update_with_bad_keys_changes_nothing(client, registered, token_post) -> None:
    reply = registered(with_keys(RSA))
    bad = _update(client, reply, {**JWT_SERVICE, "jwks": {"keys": [RSA.as_dict(private=True)]}})
    assert refusal(bad).startswith("jwks:")
    assert token(token_post, reply["client_id"]).status_code == 200
