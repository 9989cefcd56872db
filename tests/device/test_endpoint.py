"""The device authorization endpoint and the device code grant through HTTP: every answer of
RFC 8628 §3.2 and §3.5, with the exact JSON.

Spec: RFC 8628 §3.1-3.5, §5.2 (a device code is bound to its client); RFC 6749 §5.2.
"""

from __future__ import annotations

import hashlib
import re

import jwt
import pytest
from django.core.management import call_command

from identity.models import DeviceFlowCode
from tests.device.support import (
    DEVICE_AUTHORIZATION,
    decide,
    device_client,
    error_of,
    poll,
    start,
    started,
)
from tests.fapi.jose import assertion_form, jwk_secret, rsa_key
from tests.helpers.calls import post_form
from tests.helpers.database import database_text

pytestmark = pytest.mark.django_db

PENDING = {"error": "authorization_pending", "error_description": "the user has not decided yet"}
INVALID_GRANT = {"error": "invalid_grant",
                 "error_description": "the device code is invalid or already used"}
ALL = "openid profile api1 offline_access"


# --- the device authorization request (RFC 8628 §3.1, §3.2) -----------------------------------

def test_answers_codes_uris_lifetime_and_interval(client, devices) -> None:
    response = start(client)
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"device_code", "user_code", "verification_uri",
                         "verification_uri_complete", "expires_in", "interval"}
    assert body["verification_uri"] == "http://testserver/device"
    assert body["verification_uri_complete"] == (
        "http://testserver/device?user_code=" + body["user_code"])
    assert body["expires_in"] == 300 and body["interval"] == 5
    assert len(body["device_code"]) >= 43  # 256 random bits
    assert re.fullmatch(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}", body["user_code"])


def test_client_lifetime_interval_and_numeric_user_codes_are_honoured(client, seeded) -> None:
    seeded(device_client(device_code_lifetime=600, polling_interval=9, user_code_type="Numeric"))
    body = started(client)
    assert body["expires_in"] == 600 and body["interval"] == 9
    assert re.fullmatch(r"[0-9]{9}", body["user_code"])


def test_codes_are_stored_only_as_hashes(client, devices) -> None:
    body = started(client)
    dump = database_text()
    assert body["device_code"] not in dump
    assert body["user_code"] not in dump and body["user_code"].replace("-", "") not in dump
    # User codes are few enough to hash them all: the stored key must need SECRET_KEY too.
    plain = hashlib.sha256(body["user_code"].replace("-", "").encode()).hexdigest()
    assert plain not in dump
    assert DeviceFlowCode.objects.filter(user_key__regex=r"^[0-9a-f]{64}$").count() == 1


def test_public_client_sends_client_id(client, devices) -> None:
    response = post_form(client, DEVICE_AUTHORIZATION, {"client_id": "tv.public",
                                                        "scope": "api1"})
    assert response.status_code == 200, response.content


def test_private_key_jwt_authenticates(client, seeded) -> None:
    key = rsa_key("tv-key")
    seeded(device_client("tv.jwt", client_secrets=(jwk_secret(key),)))
    form = {"scope": "api1", **assertion_form("tv.jwt", key,
                                              aud="http://testserver" + DEVICE_AUTHORIZATION)}
    response = post_form(client, DEVICE_AUTHORIZATION, form)
    assert response.status_code == 200, response.content
    replayed = post_form(client, DEVICE_AUTHORIZATION, form)  # the assertion's jti, again
    assert replayed.status_code == 401 and error_of(replayed) == "invalid_client"


def test_wrong_secret_is_invalid_client_and_counted(client, devices, identity_config) -> None:
    identity_config(AUTH_FAILURE_LIMIT=2)
    wrong = start(client, auth=("tv", "wrong"))
    assert wrong.status_code == 401
    assert wrong.json() == {"error": "invalid_client",
                            "error_description": "client authentication failed"}
    assert start(client, auth=("tv", "wrong")).status_code == 401
    assert start(client).status_code == 429  # the token endpoint's throttle, same counters


def test_unknown_client_and_missing_credentials_are_invalid_client(client, devices) -> None:
    assert error_of(start(client, auth=("nobody", "secret"))) == "invalid_client"
    assert error_of(start(client, auth=None)) == "invalid_client"


def test_client_without_the_grant_is_unauthorized_client(client, devices) -> None:
    response = start(client, scope="api1", auth=("service.client", "secret"))
    assert response.status_code == 400
    assert response.json() == {
        "error": "unauthorized_client",
        "error_description": "the client may not use the device authorization grant"}


@pytest.mark.parametrize(("scope", "description"), [
    ("api9", "the client may not request api9"),
    ("api2.read_only", "the client may not request api2.read_only"),
    ("profile", "identity scopes need the openid scope"),
    ("a\\b", "the scope parameter is malformed"),
])
def test_bad_scope_is_invalid_scope(client, devices, scope, description) -> None:
    response = start(client, scope=scope)
    assert response.status_code == 400
    assert response.json() == {"error": "invalid_scope", "error_description": description}


def test_offline_access_needs_allow_offline_access(client, seeded) -> None:
    seeded(device_client(allow_offline_access=False))
    response = start(client)
    assert response.json() == {"error": "invalid_scope",
                               "error_description": "the client may not request offline_access"}


def test_no_scope_asks_for_every_allowed_scope(client, devices, signed_in) -> None:
    response = post_form(client, DEVICE_AUTHORIZATION, {"client_id": "tv.public"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert decide(signed_in, body["user_code"]).status_code == 200
    tokens = post_form(client, "/connect/token", {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "device_code": body["device_code"], "client_id": "tv.public"})
    assert tokens.json()["scope"] == "openid profile api1"


def test_get_is_refused(client, devices) -> None:
    response = client.get(DEVICE_AUTHORIZATION)
    assert response.status_code == 405 and error_of(response) == "invalid_request"


# --- polling (RFC 8628 §3.4, §3.5) ---------------------------------------------------------------

def test_pending_until_the_user_decides(client, devices, clock) -> None:
    body = started(client)
    for _ in range(3):
        response = poll(client, body["device_code"])
        assert response.status_code == 400
        assert response.json() == PENDING
        assert response["Cache-Control"] == "no-store"
        clock.advance(5)


def test_polling_too_fast_is_slow_down_and_the_interval_grows(client, devices, clock) -> None:
    body = started(client)
    assert poll(client, body["device_code"]).json() == PENDING
    clock.advance(1)
    fast = poll(client, body["device_code"])
    assert fast.status_code == 400
    assert fast.json() == {"error": "slow_down",
                           "error_description": "poll at most every 10 seconds"}
    clock.advance(5)  # the old interval is no longer enough
    assert poll(client, body["device_code"]).json()["error_description"] == (
        "poll at most every 15 seconds")
    clock.advance(15)
    assert poll(client, body["device_code"]).json() == PENDING
    assert DeviceFlowCode.objects.get().interval == 15  # kept server side


def test_denied_is_access_denied(client, devices, signed_in, clock) -> None:
    body = started(client)
    assert decide(signed_in, body["user_code"], "deny").status_code == 200
    response = poll(client, body["device_code"])
    assert response.status_code == 400
    assert response.json() == {"error": "access_denied",
                               "error_description": "the user denied the request"}


def test_expired_is_expired_token(client, devices, clock) -> None:
    body = started(client)
    clock.advance(301)
    response = poll(client, body["device_code"])
    assert response.status_code == 400
    assert response.json() == {
        "error": "expired_token",
        "error_description": "the device code has expired; start a new device authorization"}


def test_another_clients_device_code_is_invalid_grant(client, devices, signed_in) -> None:
    body = started(client)
    decide(signed_in, body["user_code"])
    stolen = poll(client, body["device_code"], auth=("tv.other", "secret"))
    assert stolen.status_code == 400 and stolen.json() == INVALID_GRANT
    assert poll(client, body["device_code"]).status_code == 200  # still the owner's


def test_unknown_device_code_is_invalid_grant(client, devices) -> None:
    response = poll(client, "not-a-code")
    assert response.status_code == 400 and response.json() == INVALID_GRANT


def test_missing_device_code_is_invalid_request(client, devices) -> None:
    response = poll(client, "")
    assert response.json() == {"error": "invalid_request",
                               "error_description": "device_code is missing"}


def test_overlong_device_code_is_invalid_grant(client, devices) -> None:
    assert error_of(poll(client, "x" * 101)) == "invalid_grant"


def test_client_without_the_grant_polling_is_unauthorized_client(client, devices) -> None:
    response = poll(client, "whatever", auth=("service.client", "secret"))
    assert response.status_code == 400 and error_of(response) == "unauthorized_client"


def test_success_once_then_invalid_grant(client, devices, signed_in, alice) -> None:
    body = started(client)
    decide(signed_in, body["user_code"])
    tokens = poll(client, body["device_code"])
    assert tokens.status_code == 200, tokens.content
    assert tokens["Cache-Control"] == "no-store"
    issued = tokens.json()
    assert issued["token_type"] == "Bearer" and issued["scope"] == ALL
    access = jwt.decode(issued["access_token"], options={"verify_signature": False})
    assert access["sub"] == str(alice.pk) and access["client_id"] == "tv"
    assert "sid" in access and "auth_time" in access
    again = poll(client, body["device_code"])
    assert again.status_code == 400 and again.json() == INVALID_GRANT


# --- what is issued ------------------------------------------------------------------------------

def test_id_token_names_the_user_who_approved(client, devices, signed_in, alice) -> None:
    body = started(client)
    decide(signed_in, body["user_code"])
    issued = poll(client, body["device_code"]).json()
    claims = jwt.decode(issued["id_token"], options={"verify_signature": False})
    assert claims["sub"] == str(alice.pk) and claims["aud"] == "tv"
    assert claims["amr"] == ["pwd"] and "auth_time" in claims and "sid" in claims


def test_without_openid_no_id_token(client, devices, signed_in) -> None:
    body = started(client, scope="api1 offline_access")
    decide(signed_in, body["user_code"])
    issued = poll(client, body["device_code"]).json()
    assert "id_token" not in issued and "refresh_token" in issued


def test_without_offline_access_no_refresh_token(client, devices, signed_in) -> None:
    body = started(client, scope="openid api1")
    decide(signed_in, body["user_code"])
    issued = poll(client, body["device_code"]).json()
    assert "refresh_token" not in issued and "id_token" in issued


def test_the_user_may_untick_scopes(client, devices, signed_in) -> None:
    body = started(client)
    decide(signed_in, body["user_code"], scopes=["openid", "api1"])
    issued = poll(client, body["device_code"]).json()
    assert issued["scope"] == "openid api1" and "refresh_token" not in issued


def test_refresh_token_refreshes(client, devices, signed_in) -> None:
    body = started(client)
    decide(signed_in, body["user_code"])
    issued = poll(client, body["device_code"]).json()
    refreshed = post_form(client, "/connect/token", {
        "grant_type": "refresh_token", "refresh_token": issued["refresh_token"]},
        auth=("tv", "secret"))
    assert refreshed.status_code == 200, refreshed.content
    assert refreshed.json()["scope"] == ALL


def test_inactive_user_gets_no_tokens(client, devices, signed_in, alice) -> None:
    body = started(client)
    decide(signed_in, body["user_code"])
    alice.is_active = False
    alice.save()
    assert poll(client, body["device_code"]).json() == {
        "error": "invalid_grant", "error_description": "the user is no longer active"}


# --- cleanup -------------------------------------------------------------------------------------

def test_cleanup_grants_deletes_expired_device_authorizations(client, devices, clock) -> None:
    import io

    started(client)
    clock.advance(400)
    started(client)  # live
    out = io.StringIO()
    call_command("cleanup_grants", stdout=out)
    assert "1 expired device authorizations deleted" in out.getvalue()
    assert DeviceFlowCode.objects.count() == 1


def test_a_dpop_proof_binds_the_tokens(client, devices, signed_in) -> None:
    from tests.fapi.jose import dpop_proof, ec_key, thumbprint

    key = ec_key()
    body = started(client)
    decide(signed_in, body["user_code"])
    proof = dpop_proof(key, "POST", "http://testserver/connect/token")
    response = post_form(client, "/connect/token", {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "device_code": body["device_code"]}, auth=("tv", "secret"), HTTP_DPOP=proof)
    assert response.status_code == 200, response.content
    issued = response.json()
    assert issued["token_type"] == "DPoP"
    access = jwt.decode(issued["access_token"], options={"verify_signature": False})
    assert access["cnf"] == {"jkt": thumbprint(key)}
