"""DPoP (RFC 9449) through HTTP: proofs at the token endpoint, key-bound access tokens, bound
codes and refresh tokens, server nonces, and the DPoP scheme at userinfo.

Proofs are made with joserfc (tests/fapi/jose.py), not with the server's own JOSE code.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

import pytest

# Connects the user_logged_in receiver that records auth_time and sid; the URLconf imports it
# too, but a test may sign in before its first request resolves a URL.
import identity.http.session  # noqa: F401
from identity.constants import DPoPTokenExpirationValidationMode
from tests.factories import make_client, make_interactive_client
from tests.fapi.jose import (
    ISSUER,
    TOKEN_URL,
    USERINFO_URL,
    AnyKey,
    dpop_proof,
    ec_key,
    hmac_with_public_key,
    public_jwk,
    rsa_key,
    sign,
    thumbprint,
    unsigned,
)
from tests.helpers.basic_auth import Credentials
from tests.helpers.calls import (
    INTERACTIVE_AUTH,
    SERVICE_AUTH,
    TOKEN,
    USERINFO,
    introspect,
    post_form,
)
from tests.helpers.clients import reference_client
from tests.helpers.flow import REDIRECT, get_code, login, sign_in_for_tokens, verified_claims
from tests.helpers.pkce import Pkce
from tests.helpers.seeding import seed_with_api_secrets

pytestmark = pytest.mark.django_db

NONCE = DPoPTokenExpirationValidationMode.Nonce
KEYS = {"ES256": ec_key, "PS256": rsa_key}


# --- builders ----------------------------------------------------------------------------------


def _token_proof(key: AnyKey, **kwargs: Any) -> str:
    """A proof for a POST to the token endpoint (htm/htu overridable)."""
    return dpop_proof(key, kwargs.pop("htm", "POST"), kwargs.pop("htu", TOKEN_URL), **kwargs)


def _proof_claims(**overrides: Any) -> dict[str, Any]:
    """The claims of a good token-endpoint proof, for hand-built proofs (None drops one)."""
    claims = {"jti": secrets.token_urlsafe(16), "htm": "POST", "htu": TOKEN_URL,
              "iat": int(time.time()), **overrides}
    return {k: v for k, v in claims.items() if v is not None}


def _hand_proof(key: AnyKey, alg: str = "ES256", **header: Any) -> str:
    """A proof signed by `key` with header members overridable (jwk defaults to key's public)."""
    header.setdefault("jwk", public_jwk(key))
    return sign(_proof_claims(), key, alg, typ="dpop+jwt", **header)


def _cc(token_post: Callable[..., Any], proof: str | None,
        auth: Credentials = SERVICE_AUTH) -> Any:
    """A client credentials request, with `proof` in the DPoP header when given."""
    headers = {"dpop": proof} if proof is not None else {}
    return token_post({"grant_type": "client_credentials"}, auth=auth, **headers)


def _redeem(client: Any, code: str, pkce: Pkce, proof: str | None, *,
            client_id: str = "interactive", auth: Credentials | None = INTERACTIVE_AUTH) -> Any:
    """Redeem a code (public clients: `auth=None`, client_id in the form), DPoP when `proof`."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "code_verifier": pkce.verifier}
    if auth is None:
        data["client_id"] = client_id
    extra = {"HTTP_DPOP": proof} if proof is not None else {}
    return post_form(client, TOKEN, data, auth=auth, **extra)


def _refresh(client: Any, token: str, proof: str | None, *, client_id: str = "interactive",
             auth: Credentials | None = INTERACTIVE_AUTH) -> Any:
    data = {"grant_type": "refresh_token", "refresh_token": token}
    if auth is None:
        data["client_id"] = client_id
    extra = {"HTTP_DPOP": proof} if proof is not None else {}
    return post_form(client, TOKEN, data, auth=auth, **extra)


def _code_flow(client: Any, key: AnyKey | None, *, client_id: str = "interactive",
               auth: Credentials | None = INTERACTIVE_AUTH, **authorize: str) -> Any:
    """Sign alice in, get a code for `client_id` and redeem it with a proof by `key` (if any);
    return the token response untouched."""
    login(client)
    pkce = Pkce.new()
    code = get_code(client, pkce, client_id=client_id, **authorize)
    proof = _token_proof(key) if key is not None else None
    return _redeem(client, code, pkce, proof, client_id=client_id, auth=auth)


def _userinfo(client: Any, token: str, proof: str | None, scheme: str = "DPoP") -> Any:
    headers = {"HTTP_AUTHORIZATION": f"{scheme} {token}"}
    if proof is not None:
        headers["HTTP_DPOP"] = proof
    return client.get(USERINFO, **headers)


def _userinfo_proof(key: AnyKey, token: str, **kwargs: Any) -> str:
    kwargs.setdefault("access_token", token)
    return dpop_proof(key, kwargs.pop("htm", "GET"), kwargs.pop("htu", USERINFO_URL), **kwargs)


# --- assertions --------------------------------------------------------------------------------


def _dpop_tokens(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "DPoP", body
    return body


def _assert_error(response: Any, error: str, status: int = 400) -> None:
    assert response.status_code == status, response.content
    assert response.json()["error"] == error, response.content


def _assert_invalid_proof(response: Any) -> None:
    _assert_error(response, "invalid_dpop_proof")


def _assert_challenge(response: Any, error: str) -> None:
    """A 401 from the resource side whose WWW-Authenticate is a DPoP challenge with `error`."""
    assert response.status_code == 401, response.content
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith("DPoP"), challenge
    assert f'error="{error}"' in challenge, challenge


def _jkt(client: Any, access_token: str) -> str:
    """The cnf.jkt of a JWT access token whose signature checks against the server JWKS."""
    return verified_claims(client, access_token)["cnf"]["jkt"]


# --- token endpoint: a proof binds the access token (RFC 9449 §5, §6) -------------------------


@pytest.mark.parametrize("alg", sorted(KEYS))
def test_client_credentials_with_a_proof_issue_a_dpop_token_bound_to_the_key(
        client, seeded, token_post, alg) -> None:
    seeded()
    key = KEYS[alg]()
    body = _dpop_tokens(_cc(token_post, _token_proof(key, alg=alg)))
    assert _jkt(client, body["access_token"]) == thumbprint(key)


def test_rs256_proof_is_accepted(client, seeded, token_post) -> None:
    seeded()
    key = rsa_key()
    body = _dpop_tokens(_cc(token_post, _token_proof(key, alg="RS256")))
    assert _jkt(client, body["access_token"]) == thumbprint(key)


def test_without_a_proof_the_token_stays_bearer_without_cnf(client, seeded, token_post) -> None:
    seeded()
    response = _cc(token_post, None)
    assert response.status_code == 200, response.content
    assert response.json()["token_type"] == "Bearer"
    assert "cnf" not in verified_claims(client, response.json()["access_token"])


def test_introspection_shows_the_key_binding_and_dpop_type(client, token_post) -> None:
    seed_with_api_secrets()
    key = ec_key()
    token = _dpop_tokens(_cc(token_post, _token_proof(key)))["access_token"]
    body = introspect(client, token).json()
    assert body["active"] is True, body
    assert body["cnf"] == {"jkt": thumbprint(key)}
    assert body["token_type"] == "DPoP"


def test_reference_token_is_bound_too(client, token_post) -> None:
    seed_with_api_secrets(reference_client("service.client"))
    key = rsa_key()
    handle = _dpop_tokens(_cc(token_post, _token_proof(key)))["access_token"]
    assert "." not in handle
    body = introspect(client, handle).json()
    assert body["active"] is True, body
    assert body["cnf"] == {"jkt": thumbprint(key)}
    assert body["token_type"] == "DPoP"


def test_htu_with_a_query_string_is_compared_without_it(seeded, token_post) -> None:
    seeded()
    proof = _token_proof(ec_key(), htu=TOKEN_URL + "?x=1#frag")
    _dpop_tokens(_cc(token_post, proof))


# --- token endpoint: invalid proofs (RFC 9449 §4.3) --------------------------------------------


@pytest.mark.parametrize("htm", ["GET", "PUT"])
def test_wrong_htm_is_refused(seeded, token_post, htm) -> None:
    seeded()
    _assert_invalid_proof(_cc(token_post, _token_proof(ec_key(), htm=htm)))


@pytest.mark.parametrize("htu", [USERINFO_URL, "https://testserver/connect/token",
                                 "http://elsewhere.example/connect/token", ISSUER])
def test_wrong_htu_is_refused(seeded, token_post, htu) -> None:
    seeded()
    _assert_invalid_proof(_cc(token_post, _token_proof(ec_key(), htu=htu)))


@pytest.mark.parametrize("offset", [-400, 400], ids=["stale", "future"])
def test_iat_outside_the_window_is_refused(seeded, token_post, offset) -> None:
    seeded()
    proof = _token_proof(ec_key(), iat=int(time.time()) + offset)
    _assert_invalid_proof(_cc(token_post, proof))


@pytest.mark.parametrize("offset", [-200, 200], ids=["past", "ahead"])
def test_iat_within_the_clock_skew_is_accepted(seeded, token_post, offset) -> None:
    seeded()
    _dpop_tokens(_cc(token_post, _token_proof(ec_key(), iat=int(time.time()) + offset)))


def test_client_dpop_clock_skew_narrows_the_window(seeded, token_post) -> None:
    seeded(make_client("strict", dpop_clock_skew=0))
    proof = _token_proof(ec_key(), iat=int(time.time()) - 200)
    _assert_invalid_proof(_cc(token_post, proof, auth=("strict", "secret")))


def test_two_proofs_in_the_header_are_refused(seeded, token_post) -> None:
    # What a WSGI server hands over when a request repeats the DPoP header.
    seeded()
    key = ec_key()
    _assert_invalid_proof(_cc(token_post, f"{_token_proof(key)}, {_token_proof(key)}"))


def test_replayed_proof_is_refused(seeded, token_post) -> None:
    seeded()
    proof = _token_proof(ec_key())
    _dpop_tokens(_cc(token_post, proof))
    _assert_invalid_proof(_cc(token_post, proof))


def test_reused_jti_in_a_new_proof_is_refused(seeded, token_post) -> None:
    seeded()
    key = ec_key()
    _dpop_tokens(_cc(token_post, _token_proof(key, jti="same-jti")))
    _assert_invalid_proof(_cc(token_post, _token_proof(key, jti="same-jti")))


def test_typ_jwt_is_refused(seeded, token_post) -> None:
    seeded()
    _assert_invalid_proof(_cc(token_post, _token_proof(ec_key(), typ="JWT")))


def test_alg_none_is_refused(seeded, token_post) -> None:
    seeded()
    proof = unsigned(_proof_claims(), typ="dpop+jwt", jwk=public_jwk(ec_key()))
    _assert_invalid_proof(_cc(token_post, proof))


def test_hs256_keyed_with_the_public_jwk_is_refused(seeded, token_post) -> None:
    seeded()
    key = rsa_key()
    proof = hmac_with_public_key(_proof_claims(), key, typ="dpop+jwt", jwk=public_jwk(key))
    _assert_invalid_proof(_cc(token_post, proof))


@pytest.mark.parametrize("alg", sorted(KEYS))
def test_jwk_with_private_members_is_refused(seeded, token_post, alg) -> None:
    seeded()
    key = KEYS[alg]()
    proof = _hand_proof(key, alg, jwk=key.as_dict(private=True))
    _assert_invalid_proof(_cc(token_post, proof))


def test_signature_by_another_key_than_the_jwk_is_refused(seeded, token_post) -> None:
    seeded()
    proof = _hand_proof(ec_key(), "ES256", jwk=public_jwk(ec_key()))
    _assert_invalid_proof(_cc(token_post, proof))


@pytest.mark.parametrize("claim", ["jti", "htm", "htu", "iat"])
def test_missing_claim_is_refused(seeded, token_post, claim) -> None:
    seeded()
    key = ec_key()
    proof = sign(_proof_claims(**{claim: None}), key, "ES256", typ="dpop+jwt",
                 jwk=public_jwk(key))
    _assert_invalid_proof(_cc(token_post, proof))


def test_hand_built_good_proof_is_accepted(seeded, token_post) -> None:
    # The builder the negative cases above share yields an accepted proof when left alone.
    seeded()
    _dpop_tokens(_cc(token_post, _hand_proof(ec_key())))


def test_malformed_proof_is_refused(seeded, token_post) -> None:
    seeded()
    _assert_invalid_proof(_cc(token_post, "not-a-jwt"))


def test_failed_proof_issues_no_token(seeded, token_post) -> None:
    seeded()
    response = _cc(token_post, _token_proof(ec_key(), htm="GET"))
    _assert_invalid_proof(response)
    assert "access_token" not in response.json()


# --- RequireDPoP ---------------------------------------------------------------------------------


def test_client_requiring_dpop_is_refused_without_a_proof(seeded, token_post) -> None:
    seeded(make_client("dpop.only", require_dpop=True))
    _assert_invalid_proof(_cc(token_post, None, auth=("dpop.only", "secret")))


def test_client_requiring_dpop_gets_a_token_with_a_proof(client, seeded, token_post) -> None:
    seeded(make_client("dpop.only", require_dpop=True))
    key = ec_key()
    body = _dpop_tokens(_cc(token_post, _token_proof(key), auth=("dpop.only", "secret")))
    assert _jkt(client, body["access_token"]) == thumbprint(key)


# --- server nonces (RFC 9449 §8) ---------------------------------------------------------------


@pytest.mark.parametrize("mode", [NONCE, DPoPTokenExpirationValidationMode.IatAndNonce],
                         ids=["Nonce", "IatAndNonce"])
def test_nonce_client_first_gets_use_dpop_nonce_then_succeeds_with_it(
        client, seeded, token_post, mode) -> None:
    seeded(make_client("nonce.client", dpop_validation_mode=mode))
    auth = ("nonce.client", "secret")
    key = ec_key()
    first = _cc(token_post, _token_proof(key), auth=auth)
    _assert_error(first, "use_dpop_nonce")
    nonce = first["DPoP-Nonce"]
    assert nonce
    body = _dpop_tokens(_cc(token_post, _token_proof(key, nonce=nonce), auth=auth))
    assert _jkt(client, body["access_token"]) == thumbprint(key)


def test_made_up_nonce_gets_use_dpop_nonce_again(seeded, token_post) -> None:
    seeded(make_client("nonce.client", dpop_validation_mode=NONCE))
    response = _cc(token_post, _token_proof(ec_key(), nonce="made-up-nonce"),
                   auth=("nonce.client", "secret"))
    _assert_error(response, "use_dpop_nonce")
    assert response["DPoP-Nonce"] not in ("", "made-up-nonce")


# --- authorization code bound by dpop_jkt (RFC 9449 §10) ---------------------------------------


def test_code_bound_by_dpop_jkt_is_redeemed_with_that_key(client, seeded, alice) -> None:
    seeded()
    key = ec_key()
    body = _dpop_tokens(_code_flow(client, key, dpop_jkt=thumbprint(key)))
    assert _jkt(client, body["access_token"]) == thumbprint(key)


def test_code_bound_by_dpop_jkt_refuses_a_proof_by_another_key(client, seeded, alice) -> None:
    seeded()
    bound = ec_key()
    _assert_invalid_proof(_code_flow(client, ec_key(), dpop_jkt=thumbprint(bound)))


def test_code_bound_by_dpop_jkt_refuses_a_request_without_proof(client, seeded, alice) -> None:
    seeded()
    _assert_invalid_proof(_code_flow(client, None, dpop_jkt=thumbprint(ec_key())))


def test_unbound_code_redeemed_with_a_proof_gives_a_dpop_token(client, seeded, alice) -> None:
    seeded()
    key = rsa_key()
    body = _dpop_tokens(_code_flow(client, key))
    assert _jkt(client, body["access_token"]) == thumbprint(key)


# --- refresh tokens (RFC 9449 §5.0 / §5.8) -----------------------------------------------------


def _public_refresh_token(client: Any, key: AnyKey) -> str:
    """A refresh token issued with DPoP to the public client "spa"."""
    return _dpop_tokens(_code_flow(client, key, client_id="spa", auth=None))["refresh_token"]


@pytest.fixture
def public_client(seeded) -> None:
    seeded(make_interactive_client("spa", require_client_secret=False, client_secrets=()))


def test_public_client_refresh_with_the_same_key_gives_a_bound_token(
        client, public_client, alice) -> None:
    key = ec_key()
    token = _public_refresh_token(client, key)
    body = _dpop_tokens(_refresh(client, token, _token_proof(key), client_id="spa", auth=None))
    assert _jkt(client, body["access_token"]) == thumbprint(key)


def test_public_client_refresh_without_a_proof_is_refused(client, public_client, alice) -> None:
    token = _public_refresh_token(client, ec_key())
    _assert_invalid_proof(_refresh(client, token, None, client_id="spa", auth=None))


def test_public_client_refresh_with_another_key_is_refused(client, public_client, alice) -> None:
    token = _public_refresh_token(client, ec_key())
    _assert_invalid_proof(_refresh(client, token, _token_proof(ec_key()), client_id="spa",
                                   auth=None))


def test_confidential_client_refresh_is_not_bound(client, seeded, alice) -> None:
    seeded()
    token = _dpop_tokens(_code_flow(client, ec_key()))["refresh_token"]
    response = _refresh(client, token, None)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert "cnf" not in verified_claims(client, body["access_token"])


# --- userinfo with the DPoP scheme (RFC 9449 §7) -----------------------------------------------


def _bound_user_token(client: Any, key: AnyKey) -> str:
    return _dpop_tokens(_code_flow(client, key))["access_token"]


def test_userinfo_accepts_dpop_scheme_with_a_proof(client, seeded, alice) -> None:
    seeded()
    key = ec_key()
    token = _bound_user_token(client, key)
    response = _userinfo(client, token, _userinfo_proof(key, token))
    assert response.status_code == 200, response.content
    assert response.json()["sub"] == str(alice.pk)


def test_userinfo_post_with_dpop_scheme(client, seeded, alice) -> None:
    seeded()
    key = rsa_key()
    token = _bound_user_token(client, key)
    response = client.post(USERINFO, HTTP_AUTHORIZATION=f"DPoP {token}",
                           HTTP_DPOP=_userinfo_proof(key, token, htm="POST"))
    assert response.status_code == 200, response.content
    assert response.json()["sub"] == str(alice.pk)


def test_bound_token_sent_as_bearer_is_refused_with_a_dpop_challenge(client, seeded,
                                                                     alice) -> None:
    seeded()
    token = _bound_user_token(client, ec_key())
    _assert_challenge(_userinfo(client, token, None, scheme="Bearer"), "invalid_token")


def test_userinfo_wrong_ath_is_refused(client, seeded, alice) -> None:
    seeded()
    key = ec_key()
    token = _bound_user_token(client, key)
    proof = _userinfo_proof(key, token, access_token=token + "x")
    _assert_challenge(_userinfo(client, token, proof), "invalid_dpop_proof")


def test_userinfo_proof_without_ath_is_refused(client, seeded, alice) -> None:
    seeded()
    key = ec_key()
    token = _bound_user_token(client, key)
    proof = dpop_proof(key, "GET", USERINFO_URL)
    _assert_challenge(_userinfo(client, token, proof), "invalid_dpop_proof")


def test_userinfo_proof_by_another_key_is_refused(client, seeded, alice) -> None:
    seeded()
    token = _bound_user_token(client, ec_key())
    _assert_challenge(_userinfo(client, token, _userinfo_proof(ec_key(), token)),
                      "invalid_dpop_proof")


@pytest.mark.parametrize("wrong", [{"htm": "POST"}, {"htu": TOKEN_URL}], ids=["htm", "htu"])
def test_userinfo_proof_for_another_request_is_refused(client, seeded, alice, wrong) -> None:
    seeded()
    key = ec_key()
    token = _bound_user_token(client, key)
    _assert_challenge(_userinfo(client, token, _userinfo_proof(key, token, **wrong)),
                      "invalid_dpop_proof")


def test_userinfo_dpop_scheme_without_proof_is_refused(client, seeded, alice) -> None:
    seeded()
    token = _bound_user_token(client, ec_key())
    _assert_challenge(_userinfo(client, token, None), "invalid_dpop_proof")


def test_userinfo_replayed_proof_is_refused(client, seeded, alice) -> None:
    seeded()
    key = ec_key()
    token = _bound_user_token(client, key)
    proof = _userinfo_proof(key, token)
    assert _userinfo(client, token, proof).status_code == 200
    _assert_challenge(_userinfo(client, token, proof), "invalid_dpop_proof")


def test_userinfo_nonce_client_gets_a_nonce_challenge_then_succeeds(client, seeded,
                                                                    alice) -> None:
    seeded(make_interactive_client(dpop_validation_mode=NONCE))
    key = ec_key()
    first = _code_flow(client, key)  # a code of its own: a refused request may burn it
    _assert_error(first, "use_dpop_nonce")
    login(client)
    pkce = Pkce.new()
    code = get_code(client, pkce)
    proof = _token_proof(key, nonce=first["DPoP-Nonce"])
    token = _dpop_tokens(_redeem(client, code, pkce, proof))["access_token"]
    challenged = _userinfo(client, token, _userinfo_proof(key, token))
    _assert_challenge(challenged, "use_dpop_nonce")
    nonce = challenged["DPoP-Nonce"]
    assert nonce
    response = _userinfo(client, token, _userinfo_proof(key, token, nonce=nonce))
    assert response.status_code == 200, response.content
    assert response.json()["sub"] == str(alice.pk)


def test_unbound_bearer_token_still_works_at_userinfo(client, seeded, alice) -> None:
    seeded()
    token = sign_in_for_tokens(client)["access_token"]
    response = _userinfo(client, token, None, scheme="Bearer")
    assert response.status_code == 200, response.content
    assert response.json()["sub"] == str(alice.pk)


# --- discovery -----------------------------------------------------------------------------------


def test_discovery_lists_the_dpop_signing_algorithms(client, seeded) -> None:
    seeded()
    doc = client.get("/.well-known/openid-configuration").json()
    assert sorted(doc["dpop_signing_alg_values_supported"]) == ["ES256", "PS256", "RS256"]
