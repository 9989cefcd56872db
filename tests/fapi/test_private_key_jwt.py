"""private_key_jwt client authentication (RFC 7523 §2.2/§3, OpenID Connect Core §9) at the token,
introspection and revocation endpoints, with assertions built by joserfc (tests/fapi/jose.py).

Every failure is the same 401 invalid_client a wrong secret gets, and counts for the brute-force
throttle; two methods at once is 400 invalid_request.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.core.management import CommandError, call_command

from clients_app import models
from identity.constants import AccessTokenType
from identity.domain.client import Secret
from identity.validation.client_config import validate_client
from tests.factories import make_client
from tests.fapi.jose import (
    ASSERTION_TYPE,
    ISSUER,
    TOKEN_URL,
    _b64,
    assertion,
    assertion_form,
    ec_key,
    hmac_with_public_key,
    jwk_secret,
    public_jwk,
    rsa_key,
    sign,
    unsigned,
)
from tests.helpers.calls import INTROSPECT, REVOKE, post_form

pytestmark = pytest.mark.django_db

CLIENT = "jwt.client"
GRANT = {"grant_type": "client_credentials"}
INVALID = {"error": "invalid_client", "error_description": "client authentication failed"}
INTROSPECT_URL = ISSUER + INTROSPECT
REVOKE_URL = ISSUER + REVOKE
ALGS = ["RS256", "PS256", "ES256"]

RSA = rsa_key("rsa-1")
EC = ec_key("ec-1")
STRANGER = rsa_key("stranger")
IMPOSTOR = rsa_key("rsa-1")  # the client's kid, another key
OLD, NEW, GONE = rsa_key("old"), rsa_key("new"), rsa_key("gone")
NO_KID_A, NO_KID_B = rsa_key(), rsa_key()


# --- builders ------------------------------------------------------------------------------------


def jwt_client(client_id: str = CLIENT, **overrides: Any):
    """A client-credentials client whose only secrets are its RSA and EC public keys."""
    overrides.setdefault("client_secrets", (jwk_secret(RSA), jwk_secret(EC)))
    return make_client(client_id, **overrides)


def claims(client_id: str = CLIENT, *, aud: Any = ISSUER, lifetime: int = 60,
           **overrides: Any) -> dict[str, Any]:
    """The claims of a good assertion, for encoders other than `jose.assertion`."""
    now = int(time.time())
    body = {"iss": client_id, "sub": client_id, "aud": aud, "jti": f"jti-{time.time_ns()}",
            "iat": now, "exp": now + lifetime, **overrides}
    return {k: v for k, v in body.items() if v is not None}


def form(key=RSA, alg: str = "PS256", client_id: str = CLIENT, **claims_: Any) -> dict[str, str]:
    return assertion_form(client_id, key, alg, **claims_)


def raw_form(token: str) -> dict[str, str]:
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": token}


def assert_invalid_client(response) -> None:
    assert response.status_code == 401, response.content
    assert response.json() == INVALID


# --- signing algorithms and audiences ------------------------------------------------------------


@pytest.mark.parametrize(("alg", "key"), [("RS256", RSA), ("PS256", RSA), ("ES256", EC)])
def test_client_credentials_with_an_assertion(seeded, token_post, alg, key) -> None:
    seeded(jwt_client())
    response = token_post({**GRANT, **form(key, alg)})
    assert response.status_code == 200, response.content
    assert response.json()["access_token"]


@pytest.mark.parametrize("aud", [ISSUER, TOKEN_URL, [TOKEN_URL, "https://api.example.com"],
                                 ["https://api.example.com", ISSUER]],
                         ids=["issuer", "token-url", "array-with-token-url", "array-with-issuer"])
def test_audience_may_be_the_issuer_or_the_token_url(seeded, token_post, aud) -> None:
    seeded(jwt_client())
    assert token_post({**GRANT, **form(aud=aud)}).status_code == 200


@pytest.mark.parametrize("aud", ["https://other.example", INTROSPECT_URL,
                                 ["https://other.example"], ISSUER + "/connect/tokens"],
                         ids=["other-server", "other-endpoint", "array-without-us", "near-miss"])
def test_wrong_audience_is_invalid_client(seeded, token_post, aud) -> None:
    seeded(jwt_client())
    assert_invalid_client(token_post({**GRANT, **form(aud=aud)}))


def test_an_algorithm_outside_the_three_is_refused(seeded, token_post) -> None:
    seeded(jwt_client())
    assert_invalid_client(token_post({**GRANT, **raw_form(sign(claims(), RSA, "RS512"))}))


# --- iss, sub and client_id ----------------------------------------------------------------------


def test_client_id_in_the_form_equal_to_sub_is_accepted(seeded, token_post) -> None:
    seeded(jwt_client())
    assert token_post({**GRANT, "client_id": CLIENT, **form()}).status_code == 200


@pytest.mark.parametrize("overrides", [{"iss": "service.client"}, {"sub": "service.client"},
                                       {"iss": "nobody", "sub": "nobody"}],
                         ids=["iss-differs-from-sub", "sub-differs-from-iss", "unknown-client"])
def test_iss_and_sub_must_both_be_the_client(seeded, token_post, overrides) -> None:
    seeded(jwt_client(), make_client())
    assert_invalid_client(token_post({**GRANT, **form(**overrides)}))


def test_client_id_in_the_form_differing_from_sub_is_invalid_client(seeded, token_post) -> None:
    seeded(jwt_client(), make_client())
    response = token_post({**GRANT, "client_id": "service.client", **form()})
    # As with Basic and a differing client_id: 401 invalid_client, the description may say why.
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "invalid_client"


def test_assertion_naming_another_jwk_client_but_signed_by_ours_is_refused(
        seeded, token_post) -> None:
    seeded(jwt_client(), jwt_client("other.jwt", client_secrets=(jwk_secret(STRANGER),)))
    assert_invalid_client(token_post({**GRANT, **form(RSA, client_id="other.jwt")}))


# --- jti, exp, nbf, iat --------------------------------------------------------------------------


BAD_CLAIMS = {
    "missing-jti": lambda now: {"jti": None},
    "missing-exp": lambda now: {"exp": None},
    "expired": lambda now: {"exp": now - 120, "iat": now - 180},
    "lifetime-over-300s": lambda now: {"lifetime": 600},
    "nbf-in-the-future": lambda now: {"nbf": now + 600},
    "iat-in-the-future": lambda now: {"iat": now + 600},
}


@pytest.mark.parametrize("case", sorted(BAD_CLAIMS))
def test_bad_time_or_identifier_claims_are_invalid_client(seeded, token_post, case) -> None:
    seeded(jwt_client())
    overrides = BAD_CLAIMS[case](int(time.time()))
    assert_invalid_client(token_post({**GRANT, **form(**overrides)}))


def test_a_lifetime_just_under_the_limit_is_accepted(seeded, token_post) -> None:
    seeded(jwt_client())
    assert token_post({**GRANT, **form(lifetime=280)}).status_code == 200


def test_a_replayed_assertion_is_refused(seeded, token_post) -> None:
    seeded(jwt_client())
    data = {**GRANT, **form()}
    assert token_post(data).status_code == 200
    assert_invalid_client(token_post(data))


def test_a_reused_jti_in_a_new_assertion_is_refused(seeded, token_post) -> None:
    seeded(jwt_client())
    assert token_post({**GRANT, **form(jti="once-only")}).status_code == 200
    assert_invalid_client(token_post({**GRANT, **form(EC, "ES256", jti="once-only")}))


# --- signatures and keys -------------------------------------------------------------------------


def test_alg_none_is_invalid_client(seeded, token_post) -> None:
    seeded(jwt_client())
    assert_invalid_client(token_post({**GRANT, **raw_form(unsigned(claims(), kid="rsa-1"))}))


@pytest.mark.parametrize("key", [RSA, EC], ids=["rsa", "ec"])
def test_hs256_keyed_with_the_public_jwk_is_invalid_client(seeded, token_post, key) -> None:
    seeded(jwt_client())
    token = hmac_with_public_key(claims(), key, kid=key.kid)
    assert_invalid_client(token_post({**GRANT, **raw_form(token)}))


@pytest.mark.parametrize("key", [STRANGER, IMPOSTOR], ids=["unknown-kid", "known-kid-other-key"])
def test_signed_by_an_unknown_key_is_invalid_client(seeded, token_post, key) -> None:
    seeded(jwt_client())
    assert_invalid_client(token_post({**GRANT, **form(key)}))


def test_tampered_claims_break_the_signature(seeded, token_post) -> None:
    seeded(jwt_client())
    head, _, sig = assertion(CLIENT, RSA, "PS256").split(".")
    forged = unsigned(claims()).split(".")[1]
    assert_invalid_client(token_post({**GRANT, **raw_form(f"{head}.{forged}.{sig}")}))


def test_key_rollover_both_keys_work_and_an_expired_key_fails(seeded, token_post) -> None:
    future = datetime.now(UTC) + timedelta(days=30)
    past = datetime.now(UTC) - timedelta(minutes=1)
    seeded(jwt_client(client_secrets=(jwk_secret(OLD, expiration=future), jwk_secret(NEW),
                                      jwk_secret(GONE, expiration=past))))
    assert token_post({**GRANT, **form(OLD)}).status_code == 200
    assert token_post({**GRANT, **form(NEW)}).status_code == 200
    assert_invalid_client(token_post({**GRANT, **form(GONE)}))


def test_without_kid_every_registered_key_is_tried(seeded, token_post) -> None:
    seeded(jwt_client(client_secrets=(jwk_secret(NO_KID_A), jwk_secret(NO_KID_B))))
    assert token_post({**GRANT, **form(NO_KID_A)}).status_code == 200
    assert token_post({**GRANT, **form(NO_KID_B)}).status_code == 200


# --- which clients may use which method ----------------------------------------------------------


def test_a_shared_secret_client_cannot_use_an_assertion(seeded, token_post) -> None:
    seeded(make_client())
    assert_invalid_client(token_post({**GRANT, **form(RSA, client_id="service.client")}))


def test_a_jwk_only_client_cannot_use_a_shared_secret(seeded, token_post) -> None:
    seeded(jwt_client())
    assert_invalid_client(token_post(GRANT, auth=(CLIENT, "secret")))
    assert_invalid_client(token_post({**GRANT, "client_id": CLIENT, "client_secret": "secret"}))


def test_the_public_jwk_itself_is_not_a_shared_secret(seeded, token_post) -> None:
    seeded(jwt_client())
    response = token_post({**GRANT, "client_id": CLIENT,
                           "client_secret": json.dumps(public_jwk(RSA))})
    # Refused as a wrong secret (401) or, being longer than any secret, as malformed (400).
    assert response.status_code in (400, 401), response.content
    assert response.json()["error"] in ("invalid_client", "invalid_request")


def test_a_client_with_both_kinds_of_secret_may_use_either(seeded, token_post) -> None:
    from tests.factories import make_secret

    seeded(jwt_client(client_secrets=(make_secret(), jwk_secret(RSA))))
    assert token_post(GRANT, auth=(CLIENT, "secret")).status_code == 200
    assert token_post({**GRANT, **form()}).status_code == 200


@pytest.mark.parametrize("assertion_type", [
    "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
    "urn:ietf:params:oauth:grant-type:jwt-bearer", ""])
def test_wrong_client_assertion_type_is_invalid_client(seeded, token_post, assertion_type):
    seeded(jwt_client())
    data = {**GRANT, **form(), "client_assertion_type": assertion_type}
    assert_invalid_client(token_post(data))


def test_assertion_without_its_type_is_not_an_authentication(seeded, token_post) -> None:
    seeded(jwt_client())
    data = {**GRANT, "client_assertion": assertion(CLIENT, RSA, "PS256")}
    assert token_post(data).status_code in (400, 401)


def test_assertion_and_basic_at_once_is_invalid_request(seeded, token_post) -> None:
    from tests.factories import make_secret

    seeded(jwt_client(client_secrets=(make_secret(), jwk_secret(RSA))))
    response = token_post({**GRANT, **form()}, auth=(CLIENT, "secret"))
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("bad", ["not-a-jwt", "a.b.c", ""])
def test_basic_with_a_malformed_assertion_is_still_two_methods(seeded, token_post, bad) -> None:
    # The two methods are counted before the assertion is read, so a broken one cannot turn
    # the answer into a 401 without the Basic challenge.
    from tests.factories import make_secret

    seeded(jwt_client(client_secrets=(make_secret(), jwk_secret(RSA))))
    data = {**GRANT, "client_assertion_type": ASSERTION_TYPE, "client_assertion": bad}
    response = token_post(data, auth=(CLIENT, "secret"))
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_request"


def test_assertion_and_client_secret_at_once_is_invalid_request(seeded, token_post) -> None:
    from tests.factories import make_secret

    seeded(jwt_client(client_secrets=(make_secret(), jwk_secret(RSA))))
    response = token_post({**GRANT, **form(), "client_id": CLIENT, "client_secret": "secret"})
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_request"


# --- brute-force throttle ------------------------------------------------------------------------


def test_failed_assertions_count_towards_the_throttle(seeded, token_post, identity_config):
    seeded(jwt_client())
    identity_config(AUTH_FAILURE_LIMIT=3)
    for _ in range(3):
        assert_invalid_client(token_post({**GRANT, **form(STRANGER)}))
    refused = token_post({**GRANT, **form()})
    assert refused.status_code == 429, refused.content


def test_failures_under_the_limit_do_not_lock_out(seeded, token_post, identity_config) -> None:
    seeded(jwt_client())
    identity_config(AUTH_FAILURE_LIMIT=3)
    for _ in range(2):
        assert_invalid_client(token_post({**GRANT, **form(aud="https://other.example")}))
    assert token_post({**GRANT, **form()}).status_code == 200


# --- introspection and revocation ----------------------------------------------------------------


def _token(token_post) -> str:
    response = token_post({**GRANT, **form(aud=TOKEN_URL)})
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def test_a_client_introspects_its_own_token_with_an_assertion(client, seeded, token_post):
    seeded(jwt_client())
    token = _token(token_post)
    response = post_form(client, INTROSPECT, {"token": token, **form(aud=INTROSPECT_URL)})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["active"] is True and body["client_id"] == CLIENT


@pytest.mark.parametrize("key_aud", [(RSA, TOKEN_URL), (RSA, "https://other.example"),
                                     (STRANGER, INTROSPECT_URL)],
                         ids=["token-url", "other-aud", "unknown-key"])
def test_introspection_refuses_a_bad_assertion(client, seeded, token_post, key_aud) -> None:
    key, aud = key_aud
    seeded(jwt_client())
    token = _token(token_post)
    response = post_form(client, INTROSPECT, {"token": token, **form(key, aud=aud)})
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "invalid_client"


def test_a_client_revokes_its_token_with_an_assertion(client, seeded, token_post) -> None:
    seeded(jwt_client(access_token_type=AccessTokenType.Reference))
    token = _token(token_post)
    response = post_form(client, REVOKE, {"token": token, **form(aud=REVOKE_URL)})
    assert response.status_code == 200, response.content
    check = post_form(client, INTROSPECT, {"token": token, **form(aud=INTROSPECT_URL)})
    assert check.status_code == 200 and check.json() == {"active": False}


@pytest.mark.parametrize("key_aud", [(RSA, TOKEN_URL), (STRANGER, REVOKE_URL)],
                         ids=["token-url", "unknown-key"])
def test_revocation_refuses_a_bad_assertion(client, seeded, token_post, key_aud) -> None:
    key, aud = key_aud
    seeded(jwt_client(access_token_type=AccessTokenType.Reference))
    token = _token(token_post)
    response = post_form(client, REVOKE, {"token": token, **form(key, aud=aud)})
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "invalid_client"
    check = post_form(client, INTROSPECT, {"token": token, **form(aud=INTROSPECT_URL)})
    assert check.json()["active"] is True


# --- discovery -----------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["token", "introspection", "revocation"])
def test_discovery_lists_private_key_jwt(client, seeded, endpoint) -> None:
    seeded()
    doc = client.get("/.well-known/openid-configuration").json()
    assert "private_key_jwt" in doc[f"{endpoint}_endpoint_auth_methods_supported"]
    assert doc[f"{endpoint}_endpoint_auth_signing_alg_values_supported"] == ALGS


# --- client configuration ------------------------------------------------------------------------


def test_a_public_jwk_secret_passes_validation() -> None:
    assert validate_client(jwt_client()) == []


@pytest.mark.parametrize("value", [
    json.dumps(RSA.as_dict(private=True)), json.dumps(EC.as_dict(private=True)),
    json.dumps({"kty": "oct", "k": "c2VjcmV0LWtleS1tYXRlcmlhbC0xMjM0NTY3ODkw"}),
], ids=["rsa-private", "ec-private", "oct"])
def test_validation_refuses_a_private_or_symmetric_jwk(value) -> None:
    client = jwt_client(client_secrets=(Secret(value=value, type="JWK"),))
    messages = [p.describe(CLIENT) for p in validate_client(client)]
    assert messages, "the secret was accepted"
    assert all(m.startswith(f"client '{CLIENT}', ClientSecrets: ") for m in messages), messages


def test_import_clients_refuses_a_private_jwk_and_writes_nothing(write_json) -> None:
    document = {"Clients": [{
        "ClientId": CLIENT, "AllowedGrantTypes": ["client_credentials"],
        "AllowedScopes": ["api1"],
        "ClientSecrets": [{"Type": "JWK", "Value": json.dumps(RSA.as_dict(private=True))}]}]}
    with pytest.raises(CommandError) as exc:
        call_command("import_clients", str(write_json(json.dumps(document))))
    assert f"client '{CLIENT}', ClientSecrets" in str(exc.value)
    assert not models.Client.objects.filter(client_id=CLIENT).exists()



@pytest.mark.parametrize("exp", ["NaN", "Infinity", "1e400"])
def test_non_finite_exp_is_refused_never_a_500(seeded, token_post, exp) -> None:
    key = rsa_key("k")
    seeded(make_client("nan", client_secrets=(jwk_secret(key),)))
    # joserfc writes only finite numbers: these claims are written and signed by hand.
    header = assertion("nan", key, "RS256").split(".")[0]
    payload = f'{{"iss":"nan","sub":"nan","aud":"{ISSUER}","jti":"j1","exp":{exp}}}'
    signing_input = f"{header}.{_b64(payload.encode())}"
    signature = key.private_key.sign(signing_input.encode(), padding.PKCS1v15(),
                                     hashes.SHA256())
    forged = f"{signing_input}.{_b64(signature)}"
    response = token_post({"grant_type": "client_credentials",
                           "client_assertion_type": ASSERTION_TYPE, "client_assertion": forged})
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
