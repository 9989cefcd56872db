"""The settings a FAPI 2.0 deployment turns on: the issuer as the only assertion audience
(FAPI 2.0 §5.3.2.1) and PS256/ES256 as the only client algorithms (§5.4)."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks

from tests.factories import make_client
from tests.fapi.jose import (
    ISSUER,
    TOKEN_URL,
    assertion_form,
    dpop_proof,
    ec_key,
    jwk_secret,
    rsa_key,
)

pytestmark = pytest.mark.django_db
GRANT = {"grant_type": "client_credentials", "scope": "api1"}


@pytest.fixture
def keys(seeded):
    rsa, ec = rsa_key("r1"), ec_key("e1")
    seeded(make_client("fapi", client_secrets=(jwk_secret(rsa), jwk_secret(ec))))
    return rsa, ec


@pytest.mark.parametrize(("aud", "status"), [
    (ISSUER, 200), (TOKEN_URL, 401), ([ISSUER], 401), ([ISSUER, TOKEN_URL], 401)])
def test_issuer_only_audience_accepts_the_issuer_as_a_string_only(
        keys, token_post, identity_config, aud, status) -> None:
    identity_config(CLIENT_ASSERTION_ISSUER_AUDIENCE_ONLY=True)
    response = token_post({**GRANT, **assertion_form("fapi", keys[0], "PS256", aud=aud)})
    assert response.status_code == status, response.content


def test_by_default_the_token_url_and_arrays_are_accepted_too(keys, token_post) -> None:
    for aud in (TOKEN_URL, [ISSUER, "https://other.example"]):
        response = token_post({**GRANT, **assertion_form("fapi", keys[0], "RS256", aud=aud)})
        assert response.status_code == 200, response.content


def test_restricted_algorithms_refuse_rs256_assertions_and_proofs(
        keys, token_post, identity_config, client) -> None:
    identity_config(CLIENT_SIGNING_ALGORITHMS=["PS256", "ES256"])
    rsa, ec = keys
    assert token_post({**GRANT, **assertion_form("fapi", rsa, "RS256")}).status_code == 401
    assert token_post({**GRANT, **assertion_form("fapi", rsa, "PS256")}).status_code == 200
    assert token_post({**GRANT, **assertion_form("fapi", ec, "ES256")}).status_code == 200
    refused = token_post({**GRANT, **assertion_form("fapi", ec, "ES256")},
                         dpop=dpop_proof(rsa_key(), "POST", TOKEN_URL, alg="RS256"))
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_dpop_proof"
    document = client.get("/.well-known/openid-configuration").json()
    for member in ("token_endpoint_auth_signing_alg_values_supported",
                   "dpop_signing_alg_values_supported",
                   "request_object_signing_alg_values_supported"):
        assert document[member] == ["PS256", "ES256"]


@pytest.mark.parametrize("value", [["HS256"], ["RS256", "none"], [], "PS256"])
def test_the_system_check_refuses_algorithms_the_server_cannot_verify(settings, value) -> None:
    settings.IDENTITY = {**settings.IDENTITY, "CLIENT_SIGNING_ALGORITHMS": value}
    assert "identity.E008" in {m.id for m in run_checks()}
