"""Redeeming authorization codes at /connect/token (RFC 6749 §4.1.3, RFC 7636, RFC 9700 §4.2.4,
OpenID Connect Core §3.1.3)."""

from __future__ import annotations

import hashlib
import io
import time
from datetime import timedelta

import pytest
from django.core.management import call_command

# Connects the user_logged_in receiver that records auth_time and sid; the URLconf imports it
# too, but a test may sign in before its first request resolves a URL.
import identity.http.session  # noqa: F401
from identity import clock
from identity.models import PersistedGrant
from tests.factories import make_interactive_client
from tests.helpers.calls import post_token, refresh
from tests.helpers.flow import (
    REDIRECT,
    authorize,
    authorize_params,
    exchange,
    get_code,
    login,
    redirect_params,
    sign_in_for_tokens,
    verified_claims,
)
from tests.helpers.pkce import Pkce
from tests.helpers.tokens import at_hash as _at_hash

pytestmark = pytest.mark.django_db

OTHER_REDIRECT = "http://localhost:21402/other-callback"
USER_CLAIMS = {"name", "given_name", "family_name", "preferred_username", "email",
               "email_verified"}


def _error(response) -> str:
    return response.json()["error"]


def _signed_in_code(client, pkce: Pkce | None = None, **overrides: str) -> tuple[str, Pkce]:
    pkce = pkce or Pkce.new()
    login(client)
    return get_code(client, pkce, **overrides), pkce


def _grant_row(code: str) -> PersistedGrant:
    return PersistedGrant.objects.get(key=hashlib.sha256(code.encode()).hexdigest())


# --- binding of the code to its client and request -----------------------------------------


def test_code_of_another_client_is_refused_and_stays_usable_by_its_own(client, seeded,
                                                                        alice) -> None:
    seeded(make_interactive_client(), make_interactive_client("other"))
    code, pkce = _signed_in_code(client)
    stolen = exchange(client, code, pkce, auth=("other", "secret"))
    assert stolen.status_code == 400 and _error(stolen) == "invalid_grant"
    assert _grant_row(code).consumed is None
    own = exchange(client, code, pkce)
    assert own.status_code == 200, own.content
    assert verified_claims(client, own.json()["access_token"])["client_id"] == "interactive"


def test_redirect_uri_different_from_the_authorize_requests_is_invalid_grant(client, seeded,
                                                                              alice) -> None:
    seeded(make_interactive_client(redirect_uris=(REDIRECT, OTHER_REDIRECT)))
    code, pkce = _signed_in_code(client)
    response = exchange(client, code, pkce, redirect_uri=OTHER_REDIRECT)
    assert response.status_code == 400 and _error(response) == "invalid_grant"
    assert exchange(client, code, pkce).status_code == 200  # the check did not burn the code


@pytest.mark.parametrize("redirect_uri", [REDIRECT + "/", REDIRECT.upper(), REDIRECT + "?x=1",
                                          "http://localhost:21403/signin-oidc"])
def test_redirect_uri_must_be_identical_character_for_character(client, seeded, alice,
                                                                 redirect_uri) -> None:
    seeded()
    code, pkce = _signed_in_code(client)
    response = exchange(client, code, pkce, redirect_uri=redirect_uri)
    assert response.status_code == 400 and _error(response) == "invalid_grant"


def test_missing_redirect_uri_is_invalid_request(client, seeded, alice) -> None:
    seeded()
    code, pkce = _signed_in_code(client)
    response = post_token(client, {"grant_type": "authorization_code", "code": code,
                                   "code_verifier": pkce.verifier})
    assert response.status_code == 400 and _error(response) == "invalid_request"
    assert exchange(client, code, pkce).status_code == 200


def test_missing_code_is_invalid_request(client, seeded) -> None:
    seeded()
    response = post_token(client, {"grant_type": "authorization_code", "redirect_uri": REDIRECT})
    assert response.status_code == 400 and _error(response) == "invalid_request"


@pytest.mark.parametrize("code", ["not-a-code", "x" * 43])
def test_unknown_code_is_invalid_grant(client, seeded, code) -> None:
    seeded()
    response = exchange(client, code, Pkce.new())
    assert response.status_code == 400 and _error(response) == "invalid_grant"


# --- PKCE (RFC 7636 §4.5-4.6) ----------------------------------------------------------------


def test_wrong_code_verifier_is_invalid_grant(client, seeded, alice) -> None:
    seeded()
    code, pkce = _signed_in_code(client)
    response = exchange(client, code, Pkce.new())
    assert response.status_code == 400 and _error(response) == "invalid_grant"
    assert exchange(client, code, pkce).status_code == 200


def test_missing_code_verifier_is_invalid_grant(client, seeded, alice) -> None:
    seeded()
    code, _ = _signed_in_code(client)
    response = exchange(client, code, None)
    assert response.status_code == 400 and _error(response) == "invalid_grant"


def test_verifier_for_a_code_issued_without_challenge_is_refused_as_a_downgrade(
        client, seeded, alice) -> None:
    seeded(make_interactive_client(require_pkce=False))
    login(client)
    response = authorize(client, **authorize_params(None))
    code = redirect_params(response)["code"]
    assert _grant_row(code).data["code_challenge"] is None
    downgraded = exchange(client, code, Pkce.new())
    assert downgraded.status_code == 400 and _error(downgraded) == "invalid_grant"
    assert exchange(client, code, None).status_code == 200


def test_code_without_challenge_is_refused_at_authorize_when_pkce_is_required(
        client, seeded, alice) -> None:
    seeded()
    login(client)
    params = redirect_params(authorize(client, **authorize_params(None)))
    assert params["error"] == "invalid_request" and "code" not in params


def test_plain_pkce_works_for_a_client_that_allows_it(client, seeded, alice) -> None:
    seeded(make_interactive_client(allow_plain_text_pkce=True))
    login(client)
    plain = Pkce.new()
    plain.challenge = plain.verifier
    code = get_code(client, plain, code_challenge_method="plain")
    assert _grant_row(code).data["code_challenge_method"] == "plain"
    wrong = exchange(client, code, Pkce.new())
    assert wrong.status_code == 400 and _error(wrong) == "invalid_grant"
    assert exchange(client, code, plain).status_code == 200


def test_plain_pkce_is_refused_for_a_client_that_does_not_allow_it(client, seeded,
                                                                    alice) -> None:
    seeded()
    login(client)
    pkce = Pkce.new()
    params = redirect_params(authorize(client, **authorize_params(
        pkce, code_challenge=pkce.verifier, code_challenge_method="plain")))
    assert params["error"] == "invalid_request" and "code" not in params


@pytest.mark.parametrize("verifier", ["a" * 42, "a" * 42 + "+", "a" * 42 + "/", "a" * 42 + "=",
                                      "a" * 42 + " ", "a" * 42 + "é"])
def test_verifier_shape_is_checked_even_when_it_matches_the_challenge(client, seeded, alice,
                                                                        verifier) -> None:
    seeded()
    pkce = Pkce.of(verifier)
    code, _ = _signed_in_code(client, pkce)
    response = exchange(client, code, pkce)
    assert response.status_code == 400 and _error(response) == "invalid_grant"


def test_verifier_longer_than_128_characters_is_refused(client, seeded, alice) -> None:
    seeded()
    pkce = Pkce.of("a" * 129)
    code, _ = _signed_in_code(client, pkce)
    response = exchange(client, code, pkce)
    assert response.status_code == 400
    assert _error(response) in ("invalid_request", "invalid_grant")


@pytest.mark.parametrize("verifier", ["a" * 43, "Az09-._~" * 16])
def test_verifiers_of_43_to_128_allowed_characters_are_accepted(client, seeded, alice,
                                                                 verifier) -> None:
    seeded()
    pkce = Pkce.of(verifier)
    code, _ = _signed_in_code(client, pkce)
    assert exchange(client, code, pkce).status_code == 200


# --- single use and expiry (RFC 6749 §4.1.2, RFC 9700 §4.2.4) -----------------------------------


def test_second_redemption_fails_and_revokes_the_first_redemptions_refresh_token(
        client, seeded, alice) -> None:
    seeded()
    code, pkce = _signed_in_code(client)
    first = exchange(client, code, pkce)
    assert first.status_code == 200
    replay = exchange(client, code, pkce)
    assert replay.status_code == 400 and _error(replay) == "invalid_grant"
    response = refresh(client, first.json()["refresh_token"])
    assert response.status_code == 400 and _error(response) == "invalid_grant"


def test_replay_also_revokes_refresh_tokens_rotated_from_the_code(client, seeded,
                                                                   alice) -> None:
    seeded()
    code, pkce = _signed_in_code(client)
    first = exchange(client, code, pkce).json()
    rotated = refresh(client, first["refresh_token"])
    assert rotated.status_code == 200
    assert exchange(client, code, pkce).status_code == 400
    response = refresh(client, rotated.json()["refresh_token"])
    assert response.status_code == 400 and _error(response) == "invalid_grant"


@pytest.mark.parametrize("verifier", ["wrong", "missing"])
def test_replay_without_the_right_verifier_still_revokes(client, seeded, alice,
                                                         verifier) -> None:
    # Whoever replays a stolen code need not know the verifier: the replay alone revokes.
    seeded()
    code, pkce = _signed_in_code(client)
    first = exchange(client, code, pkce).json()
    replay = exchange(client, code, Pkce.new() if verifier == "wrong" else None)
    assert replay.status_code == 400 and _error(replay) == "invalid_grant"
    assert refresh(client, first["refresh_token"]).status_code == 400


def test_replay_by_another_client_revokes_nothing(client, seeded, alice) -> None:
    seeded(make_interactive_client(), make_interactive_client("other"))
    code, pkce = _signed_in_code(client)
    first = exchange(client, code, pkce).json()
    assert exchange(client, code, pkce, auth=("other", "secret")).status_code == 400
    assert refresh(client, first["refresh_token"]).status_code == 200


def test_expired_code_is_invalid_grant(client, seeded, alice) -> None:
    seeded()
    code, pkce = _signed_in_code(client)
    PersistedGrant.objects.filter(key=_grant_row(code).key).update(
        expires=clock.now() - timedelta(seconds=1))
    response = exchange(client, code, pkce)
    assert response.status_code == 400 and _error(response) == "invalid_grant"


def test_code_expires_after_the_clients_authorization_code_lifetime(client, seeded, alice,
                                                                   monkeypatch) -> None:
    seeded(make_interactive_client(authorization_code_lifetime=60))
    code, pkce = _signed_in_code(client)
    row = _grant_row(code)
    assert row.expires - row.created == timedelta(seconds=60)
    later = row.created + timedelta(seconds=61)
    monkeypatch.setattr(clock, "now", lambda: later)
    response = exchange(client, code, pkce)
    assert response.status_code == 400 and _error(response) == "invalid_grant"


def test_code_is_stored_only_as_its_sha256_and_appears_nowhere_in_the_database(
        client, seeded, alice) -> None:
    seeded()
    code, pkce = _signed_in_code(client)
    row = _grant_row(code)
    assert row.key == hashlib.sha256(code.encode("utf-8")).hexdigest() and len(row.key) == 64
    assert row.type == "authorization_code" and row.client_id == "interactive"
    assert row.subject_id == str(alice.pk)
    body = exchange(client, code, pkce).json()
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    text = dump.getvalue()
    assert row.key in text  # the dump does contain the grants
    for secret in (code, body["refresh_token"], pkce.verifier):
        assert secret not in text


# --- public and confidential clients (RFC 6749 §2.3, §3.2.1) --------------------------------


def _public_client():
    return make_interactive_client("spa", client_secrets=(), require_client_secret=False)


def test_public_client_authenticates_with_client_id_in_the_body_and_pkce(client, seeded,
                                                                        alice) -> None:
    seeded(_public_client())
    code, pkce = _signed_in_code(client, client_id="spa")
    response = post_token(client, {"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": REDIRECT, "code_verifier": pkce.verifier,
                                   "client_id": "spa"}, auth=None)
    assert response.status_code == 200, response.content
    assert verified_claims(client, response.json()["access_token"])["client_id"] == "spa"


def test_public_client_without_verifier_is_invalid_grant(client, seeded, alice) -> None:
    seeded(_public_client())
    code, _ = _signed_in_code(client, client_id="spa")
    response = post_token(client, {"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": REDIRECT, "client_id": "spa"}, auth=None)
    assert response.status_code == 400 and _error(response) == "invalid_grant"


def test_public_client_must_send_a_code_challenge(client, seeded, alice) -> None:
    seeded(_public_client())
    login(client)
    params = redirect_params(authorize(client, **authorize_params(None, client_id="spa")))
    assert params["error"] == "invalid_request" and "code" not in params


def test_confidential_client_sending_only_client_id_is_invalid_client(client, seeded,
                                                                      alice) -> None:
    seeded()
    code, pkce = _signed_in_code(client)
    response = post_token(client, {"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": REDIRECT, "code_verifier": pkce.verifier,
                                   "client_id": "interactive"}, auth=None)
    assert response.status_code == 401 and _error(response) == "invalid_client"
    assert exchange(client, code, pkce).status_code == 200


def test_wrong_secret_is_invalid_client(client, seeded, alice) -> None:
    seeded()
    code, pkce = _signed_in_code(client)
    response = exchange(client, code, pkce, auth=("interactive", "wrong"))
    assert response.status_code == 401 and _error(response) == "invalid_client"


# --- the ID token (OpenID Connect Core §2, §3.1.3.6-3.1.3.7) --------------------------------


def test_id_token_is_signed_and_carries_the_protocol_claims(client, seeded, alice) -> None:
    seeded(make_interactive_client(identity_token_lifetime=600))
    before = int(time.time())
    body = sign_in_for_tokens(client)
    after = int(time.time())
    claims = verified_claims(client, body["id_token"])
    access = verified_claims(client, body["access_token"], typ="at+jwt")
    assert claims["iss"] == "http://testserver"
    assert claims["sub"] == str(alice.pk)
    assert claims["aud"] == "interactive"
    assert claims["exp"] - claims["iat"] == 600
    assert before <= claims["iat"] <= after + 1
    assert before - 1 <= claims["auth_time"] <= claims["iat"]
    assert claims["nonce"] == "n-456"
    assert claims["at_hash"] == _at_hash(body["access_token"])
    assert claims["sid"] and claims["sid"] == access["sid"]
    assert claims["amr"] == ["pwd"]


def test_id_token_has_no_nonce_when_the_authorize_request_had_none(client, seeded,
                                                                   alice) -> None:
    seeded()
    body = sign_in_for_tokens(client, nonce=None)
    assert "nonce" not in verified_claims(client, body["id_token"])


def test_id_token_lifetime_defaults_to_300_seconds(client, seeded, alice) -> None:
    seeded()
    claims = verified_claims(client, sign_in_for_tokens(client)["id_token"])
    assert claims["exp"] - claims["iat"] == 300


def test_auth_time_and_sid_come_from_the_sign_in_not_the_exchange(client, seeded, alice,
                                                                  monkeypatch) -> None:
    seeded()
    code, pkce = _signed_in_code(client)
    signed_in = client.session["identity.auth_time"]
    sid = client.session["identity.sid"]
    later = clock.now() + timedelta(seconds=120)
    monkeypatch.setattr(clock, "now", lambda: later)
    body = exchange(client, code, pkce).json()
    claims = verified_claims(client, body["id_token"], leeway=300)
    access = verified_claims(client, body["access_token"], leeway=300)
    assert claims["iat"] - claims["auth_time"] >= 119
    assert claims["auth_time"] == access["auth_time"] == signed_in
    assert claims["sid"] == access["sid"] == sid


def test_user_claims_are_not_in_the_id_token_by_default(client, seeded, alice) -> None:
    seeded()
    claims = verified_claims(client, sign_in_for_tokens(client)["id_token"])
    assert not USER_CLAIMS & set(claims)


def test_user_claims_of_granted_scopes_are_in_the_id_token_when_the_client_asks(
        client, seeded, alice) -> None:
    seeded(make_interactive_client(always_include_user_claims_in_id_token=True))
    claims = verified_claims(client, sign_in_for_tokens(client)["id_token"])
    assert claims["name"] == "Alice Smith" and claims["given_name"] == "Alice"
    assert claims["family_name"] == "Smith" and claims["preferred_username"] == "alice"
    assert claims["email"] == "alice@example.com" and claims["email_verified"] is False


def test_user_claims_in_the_id_token_follow_the_granted_scopes(client, seeded, alice) -> None:
    seeded(make_interactive_client(always_include_user_claims_in_id_token=True))
    claims = verified_claims(client, sign_in_for_tokens(client, scope="openid profile")
                             ["id_token"])
    assert claims["name"] == "Alice Smith"
    assert "email" not in claims and "email_verified" not in claims


def test_no_id_token_without_the_openid_scope(client, seeded, alice) -> None:
    seeded()
    body = sign_in_for_tokens(client, scope="api1 offline_access", nonce=None)
    assert "id_token" not in body
    assert {"access_token", "refresh_token"} <= set(body)
    assert body["scope"] == "api1 offline_access"


# --- pairwise subjects (OpenID Connect Core §8.1) --------------------------------------------


def test_pairwise_subject_differs_from_the_user_id_and_is_stable_across_sign_ins(
        client, seeded, alice) -> None:
    seeded(make_interactive_client(pair_wise_subject_salt="salt-one"))
    first = verified_claims(client, sign_in_for_tokens(client)["id_token"])
    client.logout()
    login(client)
    second_body = sign_in_for_tokens(client)
    second = verified_claims(client, second_body["id_token"])
    assert first["sub"] != str(alice.pk)
    assert first["sub"] == second["sub"]
    assert first["sid"] != second["sid"]  # it really was a new sign-in
    # The access token names the user as the ID token does: a raw id would undo pairwise.
    assert verified_claims(client, second_body["access_token"])["sub"] == second["sub"]


def test_pairwise_subjects_differ_between_clients_with_different_salts(client, seeded,
                                                                       alice) -> None:
    seeded(make_interactive_client(pair_wise_subject_salt="salt-one"),
           make_interactive_client("other", pair_wise_subject_salt="salt-two"))
    one = verified_claims(client, sign_in_for_tokens(client)["id_token"])
    two = verified_claims(client, sign_in_for_tokens(
        client, client_id="other", auth=("other", "secret"))["id_token"])
    assert one["aud"] == "interactive" and two["aud"] == "other"
    assert one["sub"] != two["sub"]
    assert str(alice.pk) not in (one["sub"], two["sub"])


def test_users_get_different_pairwise_subjects(client, seeded, alice,
                                               django_user_model) -> None:
    django_user_model.objects.create_user("bob", "bob@example.com", "pw-bob-12345")
    seeded(make_interactive_client(pair_wise_subject_salt="salt-one"))
    alice_sub = verified_claims(client, sign_in_for_tokens(client)["id_token"])["sub"]
    client.logout()
    login(client, "bob", "pw-bob-12345")
    bob_sub = verified_claims(client, sign_in_for_tokens(client)["id_token"])["sub"]
    assert alice_sub != bob_sub


# --- the access token and the refresh token (RFC 9068, RFC 6749 §1.5) ------------------------


def test_access_token_for_a_user_carries_subject_client_scope_and_audience(client, seeded,
                                                                          alice) -> None:
    seeded()
    body = sign_in_for_tokens(client)
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    claims = verified_claims(client, body["access_token"], typ="at+jwt")
    assert claims["sub"] == str(alice.pk)
    assert claims["client_id"] == "interactive"
    assert claims["scope"].split() == ["openid", "profile", "email", "api1", "offline_access"]
    assert body["scope"] == claims["scope"]
    assert claims["aud"] == "api1" or "api1" in claims["aud"]
    assert claims["iss"] == "http://testserver"
    assert claims["exp"] - claims["iat"] == 3600
    id_claims = verified_claims(client, body["id_token"])
    assert claims["auth_time"] == id_claims["auth_time"]


def test_access_token_audience_lists_every_granted_api(client, seeded, alice) -> None:
    seeded()
    body = sign_in_for_tokens(client, scope="openid api1 api2.read_only")
    assert sorted(verified_claims(client, body["access_token"])["aud"]) == ["api1", "api2"]


def test_token_response_is_never_cached(client, seeded, alice) -> None:
    seeded()
    code, pkce = _signed_in_code(client)
    response = exchange(client, code, pkce)
    assert response["Cache-Control"] == "no-store" and response["Pragma"] == "no-cache"


def test_no_refresh_token_without_offline_access(client, seeded, alice) -> None:
    seeded()
    body = sign_in_for_tokens(client, scope="openid profile api1")
    assert "refresh_token" not in body and "access_token" in body


def test_offline_access_is_refused_at_authorize_for_a_client_without_offline_access(
        client, seeded, alice) -> None:
    seeded(make_interactive_client(allow_offline_access=False))
    login(client)
    params = redirect_params(authorize(client, **authorize_params(Pkce.new())))
    assert params["error"] == "invalid_scope" and "code" not in params


def test_no_refresh_token_when_offline_access_was_switched_off_after_the_code(client, seeded,
                                                                              alice) -> None:
    seeded()
    code, pkce = _signed_in_code(client)
    seeded(make_interactive_client(allow_offline_access=False))
    response = exchange(client, code, pkce)
    assert response.status_code == 200, response.content
    assert "refresh_token" not in response.json()
    assert PersistedGrant.objects.filter(type="refresh_token").count() == 0


def test_refresh_token_is_issued_with_offline_access_and_stored_hashed(client, seeded,
                                                                       alice) -> None:
    seeded()
    body = sign_in_for_tokens(client)
    token = body["refresh_token"]
    row = PersistedGrant.objects.get(key=hashlib.sha256(token.encode()).hexdigest())
    assert row.type == "refresh_token" and row.client_id == "interactive"
    assert row.subject_id == str(alice.pk) and row.consumed is None


def test_deactivated_user_cannot_redeem_a_code(client, seeded, alice) -> None:
    seeded()
    code, pkce = _signed_in_code(client)
    alice.is_active = False
    alice.save()
    response = exchange(client, code, pkce)
    assert response.status_code == 400 and _error(response) == "invalid_grant"
