"""Tokens verified by an independent library that fetches the JWKS over HTTP (PyJWKClient)."""

from __future__ import annotations

import json
import urllib.request

import jwt
import pytest
from django.core.management import call_command

from identity.stores.registry import reset_key_ring
from tests.helpers.servers import client_credentials


def _token(base: str, algorithm: str = "RS256") -> str:
    return client_credentials(base, "service.client", scope="api1")[1]["access_token"]


def _verify(base: str, token: str, algorithm: str = "RS256") -> dict:
    discovery = json.load(urllib.request.urlopen(f"{base}/.well-known/openid-configuration"))
    key = jwt.PyJWKClient(discovery["jwks_uri"], cache_keys=False).get_signing_key_from_jwt(token)
    return jwt.decode(token, key.key, algorithms=[algorithm], audience="api1",
                      issuer=discovery["issuer"])


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_token_verifies_against_published_jwks(live_server, seeded) -> None:
    seeded()
    token = _token(live_server.url)
    claims = _verify(live_server.url, token)
    assert claims["client_id"] == "service.client"
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("algorithm", ["ES256", "PS256"])
def test_other_algorithms_verify(live_server, seeded, identity_config, algorithm) -> None:
    seeded()
    identity_config(SIGNING_ALGORITHMS=[algorithm])
    token = _token(live_server.url)
    assert _verify(live_server.url, token, algorithm)["scope"] == "api1"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_token_of_previous_key_verifies_after_forced_rotation(live_server, seeded) -> None:
    seeded()
    before = _token(live_server.url)
    call_command("rotate_signing_keys", "--immediately", stdout=open("/dev/null", "w"))
    reset_key_ring()
    after = _token(live_server.url)
    assert jwt.get_unverified_header(before)["kid"] != jwt.get_unverified_header(after)["kid"]
    assert _verify(live_server.url, before)["client_id"] == "service.client"
    assert _verify(live_server.url, after)["client_id"] == "service.client"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_scheduled_rotation_announces_without_switching(live_server, seeded) -> None:
    seeded()
    before = jwt.get_unverified_header(_token(live_server.url))["kid"]
    call_command("rotate_signing_keys", stdout=open("/dev/null", "w"))
    reset_key_ring()
    jwks = json.load(urllib.request.urlopen(
        f"{live_server.url}/.well-known/openid-configuration/jwks"))
    assert len(jwks["keys"]) == 2
    assert jwt.get_unverified_header(_token(live_server.url))["kid"] == before
