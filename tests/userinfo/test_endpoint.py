"""The userinfo endpoint (OpenID Connect Core §5.3, RFC 6750 §2-3)."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

# Connects the user_logged_in receiver that records auth_time and sid; the URLconf imports it
# too, but a test may sign in before its first request resolves a URL.
import identity.http.session  # noqa: F401
from tests.factories import make_interactive_client
from tests.helpers.flow import sign_in_for_tokens, verified_claims

pytestmark = pytest.mark.django_db

URL = "/connect/userinfo"
FORM = "application/x-www-form-urlencoded"
PROFILE = {"name": "Alice Smith", "given_name": "Alice", "family_name": "Smith",
           "preferred_username": "alice"}


def _get(client, token: str | None, **headers):
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client.get(URL, **headers)


def _assert_invalid_token(response) -> None:
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "invalid_token"
    assert response["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert response["Cache-Control"] == "no-store"


def _assert_bare_challenge(response) -> None:
    # RFC 6750 §3.1: without any authentication information, no error code in the challenge.
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == "Bearer"
    assert response["Cache-Control"] == "no-store"


def _access_token(client, **overrides: str) -> str:
    return sign_in_for_tokens(client, **overrides)["access_token"]


def _resign(client, token: str, **changes) -> str:
    """Return the token's claims with `changes`, signed again with the server's own key."""
    from identity.stores.registry import get_key_ring
    from identity.tokens.jwt import sign

    claims = {**jwt.decode(token, options={"verify_signature": False}), **changes}
    claims = {k: v for k, v in claims.items() if v is not None}
    typ = jwt.get_unverified_header(token)["typ"]
    return sign(claims, get_key_ring().signing_key(), typ)


# --- ways to present the token (RFC 6750 §2.1-2.2) -----------------------------------------------


def test_get_with_bearer_header_returns_the_users_claims(client, seeded, alice) -> None:
    seeded()
    response = _get(client, _access_token(client))
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["sub"] == str(alice.pk)
    assert {k: body[k] for k in PROFILE} == PROFILE
    assert body["email"] == "alice@example.com"


def test_post_with_bearer_header(client, seeded, alice) -> None:
    seeded()
    token = _access_token(client)
    response = client.post(URL, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.content
    assert response.json()["sub"] == str(alice.pk)
    assert response["Cache-Control"] == "no-store"


def test_post_with_the_token_in_a_form_body(client, seeded, alice) -> None:
    seeded()
    token = _access_token(client)
    response = client.post(URL, f"access_token={token}", content_type=FORM)
    assert response.status_code == 200, response.content
    assert response.json()["sub"] == str(alice.pk)
    assert response["Cache-Control"] == "no-store"


def test_token_in_the_query_string_is_not_accepted(client, seeded, alice) -> None:
    seeded()
    token = _access_token(client)
    _assert_bare_challenge(client.get(f"{URL}?access_token={token}"))


def test_token_in_both_header_and_body_is_invalid_request(client, seeded, alice) -> None:
    seeded()
    token = _access_token(client)
    response = client.post(URL, f"access_token={token}", content_type=FORM,
                           HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_request"
    assert response["Cache-Control"] == "no-store"


def test_bearer_scheme_is_case_insensitive(client, seeded, alice) -> None:
    seeded()
    token = _access_token(client)
    assert client.get(URL, HTTP_AUTHORIZATION=f"bearer {token}").status_code == 200


@pytest.mark.parametrize("header", ["Bearer", "Bearer   "])
def test_an_empty_bearer_is_invalid_token(client, seeded, header) -> None:
    seeded()
    _assert_invalid_token(client.get(URL, HTTP_AUTHORIZATION=header))


@pytest.mark.parametrize("header", ["Basic aW50ZXJhY3RpdmU6c2VjcmV0", "Token abc"])
def test_other_schemes_get_a_bare_bearer_challenge(client, seeded, header) -> None:
    seeded()
    _assert_bare_challenge(client.get(URL, HTTP_AUTHORIZATION=header))


@pytest.mark.parametrize("scheme", ["Token", "MAC", "Basic"])
def test_a_valid_token_under_another_scheme_is_refused(client, seeded, alice, scheme) -> None:
    seeded()
    token = _access_token(client)
    _assert_bare_challenge(client.get(URL, HTTP_AUTHORIZATION=f"{scheme} {token}"))


def test_a_bearer_token_under_the_dpop_scheme_without_a_proof_is_refused(
        client, seeded, alice) -> None:
    # RFC 9449 §7.1: the DPoP scheme is accepted, and needs a proof.
    seeded()
    token = _access_token(client)
    response = client.get(URL, HTTP_AUTHORIZATION=f"DPoP {token}")
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "invalid_dpop_proof"
    assert response["WWW-Authenticate"].startswith('DPoP algs="RS256 PS256 ES256", '
                                                   'error="invalid_dpop_proof"')
    assert "sub" not in response.json()


def test_a_bearer_token_under_the_dpop_scheme_with_a_proof_is_refused(
        client, seeded, alice) -> None:
    # §7.1: a token that is not bound to a DPoP key is not a DPoP token.
    from tests.fapi.jose import USERINFO_URL, dpop_proof, ec_key

    seeded()
    token = _access_token(client)
    proof = dpop_proof(ec_key(), "GET", USERINFO_URL, access_token=token)
    response = client.get(URL, HTTP_AUTHORIZATION=f"DPoP {token}", HTTP_DPOP=proof)
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "invalid_token"
    assert response["WWW-Authenticate"].startswith("DPoP ")
    assert "sub" not in response.json()


def test_no_token_is_401_with_a_bearer_challenge(client, seeded) -> None:
    seeded()
    _assert_bare_challenge(client.get(URL))
    _assert_bare_challenge(client.post(URL))


def test_other_methods_are_refused(client, seeded, alice) -> None:
    seeded()
    token = _access_token(client)
    response = client.put(URL, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 405


# --- claims by granted scope (OpenID Connect Core §5.4) ------------------------------------------


@pytest.mark.parametrize(("scope", "present", "absent"), [
    ("openid", set(), set(PROFILE) | {"email", "email_verified"}),
    ("openid profile", set(PROFILE), {"email", "email_verified"}),
    ("openid email", {"email", "email_verified"}, set(PROFILE)),
    ("openid profile email api1", set(PROFILE) | {"email"}, set()),
])
def test_claims_follow_the_granted_scopes(client, seeded, alice, scope, present,
                                          absent) -> None:
    seeded()
    body = _get(client, _access_token(client, scope=scope)).json()
    assert body["sub"] == str(alice.pk)
    assert present <= set(body)
    assert not absent & set(body)


def test_email_claims_have_the_users_values(client, seeded, alice) -> None:
    seeded()
    body = _get(client, _access_token(client, scope="openid email")).json()
    assert body == {"sub": str(alice.pk), "email": "alice@example.com", "email_verified": False}


def test_claims_are_read_at_request_time(client, seeded, alice) -> None:
    seeded()
    token = _access_token(client)
    alice.email = "alice@new.example.com"
    alice.save()
    assert _get(client, token).json()["email"] == "alice@new.example.com"


def test_sub_is_pairwise_for_a_salted_client_and_matches_the_id_token(client, seeded,
                                                                      alice) -> None:
    seeded(make_interactive_client(pair_wise_subject_salt="salt-one"))
    body = sign_in_for_tokens(client)
    info = _get(client, body["access_token"]).json()
    assert info["sub"] != str(alice.pk)
    assert info["sub"] == verified_claims(client, body["id_token"])["sub"]


# --- invalid tokens (RFC 6750 §3.1) --------------------------------------------------------------


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"])
def test_garbage_token_is_invalid_token(client, seeded, token) -> None:
    seeded()
    _assert_invalid_token(_get(client, token))


def test_expired_token_is_invalid_token(client, seeded, alice) -> None:
    seeded()
    token = _access_token(client)
    now = int(time.time())
    expired = _resign(client, token, iat=now - 120, nbf=now - 120, exp=now - 60)
    _assert_invalid_token(_get(client, expired))
    still_valid = _resign(client, token, iat=now - 120, nbf=now - 120, exp=now + 60)
    assert _get(client, still_valid).status_code == 200  # the re-signing itself is sound


def test_token_of_another_issuer_is_invalid_token(client, seeded, alice) -> None:
    seeded()
    token = _resign(client, _access_token(client), iss="https://evil.example.com")
    _assert_invalid_token(_get(client, token))


@pytest.mark.parametrize("kid", ["ours", "unknown"])
def test_token_signed_by_another_key_is_invalid_token(client, seeded, alice, kid) -> None:
    seeded()
    token = _access_token(client)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims, other, algorithm="RS256", headers={
        "typ": "at+jwt", "kid": header["kid"] if kid == "ours" else "someone-elses"})
    _assert_invalid_token(_get(client, forged))


def test_unsigned_token_is_invalid_token(client, seeded, alice) -> None:
    seeded()
    token = _access_token(client)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none",
                          headers={"typ": "at+jwt", "kid": header["kid"]})
    _assert_invalid_token(_get(client, unsigned))


def test_token_with_a_tampered_payload_is_invalid_token(client, seeded, alice,
                                                        django_user_model) -> None:
    bob = django_user_model.objects.create_user("bob", "bob@example.com", "pw-bob-12345")
    seeded()
    head, payload, signature = _access_token(client).split(".")
    claims = jwt.decode(f"{head}.{payload}.{signature}", options={"verify_signature": False})
    claims["sub"] = str(bob.pk)
    raw = jwt.utils.base64url_encode(jwt.api_jwt.json.dumps(claims).encode()).decode()
    _assert_invalid_token(_get(client, f"{head}.{raw}.{signature}"))


def test_id_token_is_not_an_access_token(client, seeded, alice) -> None:
    seeded()
    id_token = sign_in_for_tokens(client)["id_token"]
    assert jwt.get_unverified_header(id_token)["typ"] == "JWT"
    _assert_invalid_token(_get(client, id_token))


@pytest.mark.parametrize("typ", ["JWT", "jwt", "id_token+jwt", None])
def test_access_token_claims_with_another_typ_are_invalid_token(client, seeded, alice,
                                                               typ) -> None:
    from identity.stores.registry import get_key_ring

    seeded()
    claims = jwt.decode(_access_token(client), options={"verify_signature": False})
    key = get_key_ring().signing_key()
    headers = {"kid": key.kid}
    if typ is not None:
        headers["typ"] = typ
    token = jwt.encode(claims, key.private, algorithm=key.algorithm, headers=headers)
    if typ is None:  # PyJWT adds typ=JWT unless told otherwise
        head = jwt.get_unverified_header(token)
        assert head.get("typ") in (None, "JWT")
    _assert_invalid_token(_get(client, token))


def test_application_at_jwt_typ_is_accepted(client, seeded, alice) -> None:
    from identity.stores.registry import get_key_ring
    from identity.tokens.jwt import sign

    seeded()
    claims = jwt.decode(_access_token(client), options={"verify_signature": False})
    token = sign(claims, get_key_ring().signing_key(), "application/at+jwt")
    assert _get(client, token).status_code == 200


def test_refresh_token_is_not_an_access_token(client, seeded, alice) -> None:
    seeded()
    _assert_invalid_token(_get(client, sign_in_for_tokens(client)["refresh_token"]))


def test_token_of_a_deactivated_user_is_invalid_token(client, seeded, alice) -> None:
    seeded()
    token = _access_token(client)
    alice.is_active = False
    alice.save()
    _assert_invalid_token(_get(client, token))


def test_token_of_a_disabled_client_is_invalid_token(client, seeded, alice) -> None:
    seeded()
    token = _access_token(client)
    seeded(make_interactive_client(enabled=False))
    _assert_invalid_token(_get(client, token))


# --- tokens without the openid scope (RFC 6750 §3.1 insufficient_scope) --------------------------


def _assert_insufficient_scope(response) -> None:
    assert response.status_code == 403, response.content
    assert response.json()["error"] == "insufficient_scope"
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('Bearer error="insufficient_scope"')
    assert 'scope="openid"' in challenge
    assert response["Cache-Control"] == "no-store"


def test_client_credentials_token_is_insufficient_scope(client, seeded, token_post) -> None:
    seeded()
    response = token_post({"grant_type": "client_credentials", "scope": "api1"},
                          auth=("service.client", "secret"))
    token = response.json()["access_token"]
    _assert_insufficient_scope(_get(client, token))


def test_user_token_without_openid_is_insufficient_scope(client, seeded, alice) -> None:
    seeded()
    token = _access_token(client, scope="api1 offline_access", nonce=None)
    assert verified_claims(client, token)["sub"] == str(alice.pk)
    _assert_insufficient_scope(_get(client, token))


def test_token_with_openid_and_a_user_but_no_sign_in_session_is_invalid_token(
        client, seeded, alice, token_post) -> None:
    # Defence in depth: only tokens issued to a signed-in user carry auth_time.
    seeded()
    token = token_post({"grant_type": "client_credentials", "scope": "api1"},
                       auth=("service.client", "secret")).json()["access_token"]
    widened = _resign(client, token, scope="openid api1", sub=str(alice.pk))
    _assert_invalid_token(_get(client, widened))
    with_session = _resign(client, token, scope="openid api1", sub=str(alice.pk),
                           auth_time=int(time.time()))
    assert _get(client, with_session).status_code == 200  # auth_time was the only difference

