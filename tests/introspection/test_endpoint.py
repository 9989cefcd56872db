"""The introspection endpoint at /connect/introspect (RFC 7662), driven through the test client.

Callers are API resources with their ApiSecrets (as in IdentityServer) or clients with their
secret; an API sees only access tokens whose audience names it, a client only its own tokens.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

# Connects the user_logged_in receiver that records auth_time and sid; the URLconf imports it
# too, but a test may sign in before its first request resolves a URL.
import identity.http.session  # noqa: F401
from clients_app.importing import import_document
from clients_app.mapping import real_models
from identity.config_document import ConfigDocument
from identity.constants import AccessTokenType
from identity.domain.resources import ApiResource, Resources
from identity.models import PersistedGrant
from tests.factories import make_client, make_interactive_client, make_secret
from tests.helpers.basic_auth import basic_auth
from tests.helpers.calls import API_AUTH, INTROSPECT, introspect, post_token, refresh, revoke
from tests.helpers.calls import client_credentials_token as _cc_token
from tests.helpers.clients import reference_client as _reference
from tests.helpers.database import database_text as _database_text
from tests.helpers.flow import REDIRECT, exchange, get_code, login, sign_in_for_tokens
from tests.helpers.pkce import Pkce
from tests.helpers.seeding import seed_with_api_secrets

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"
INACTIVE = {"active": False}
JWT_MEMBERS = {"active", "scope", "client_id", "sub", "aud", "iss", "exp", "iat", "nbf", "jti",
               "token_type"}
SERVICE_AUTH = ("service.client", "secret")
INTERACTIVE_AUTH = ("interactive", "secret")
REVOCABLE = (("RevocableJwtAccessTokens", "true"),)


# --- helpers -------------------------------------------------------------------------------------


def _active(response) -> dict:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["active"] is True, body
    return body


def _assert_inactive(response) -> None:
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    assert response.json() == INACTIVE


def _assert_invalid_client(response) -> None:
    assert response.status_code == 401, response.content
    assert response.json()["error"] == "invalid_client"
    assert response["Cache-Control"] == "no-store"


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def _server_kid(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


def _b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _resign(token: str, typ: str) -> str:
    """The token's claims signed again with the server's own current key, with another typ."""
    from identity.stores.registry import get_key_ring
    from identity.tokens.jwt import sign

    return sign(_claims(token), get_key_ring().signing_key(), typ)


# --- who may call (RFC 7662 §2.1, §2.3) ---------------------------------------------------------


@pytest.mark.parametrize("method", ["basic", "post"])
def test_an_api_resource_authenticates_with_its_api_secret(client, token_post, method) -> None:
    seed_with_api_secrets()
    token = _cc_token(token_post)
    if method == "basic":
        response = introspect(client, token, auth=API_AUTH)
    else:
        response = introspect(client, token, auth=None, client_id="api1",
                              client_secret="api-secret")
    assert _active(response)["client_id"] == "service.client"


@pytest.mark.parametrize("method", ["basic", "post"])
def test_a_client_authenticates_with_its_secret(client, token_post, method) -> None:
    seed_with_api_secrets()
    token = _cc_token(token_post)
    if method == "basic":
        response = introspect(client, token, auth=SERVICE_AUTH)
    else:
        response = introspect(client, token, auth=None, client_id="service.client",
                              client_secret="secret")
    assert _active(response)["client_id"] == "service.client"


@pytest.mark.parametrize("auth", [
    ("api1", "wrong"),             # an API with a wrong secret
    ("api1", "api2-secret"),       # another API's secret
    ("service.client", "wrong"),   # a client with a wrong secret
    ("nobody", "secret"),          # neither an API nor a client
    ("api1", "secret"),            # a client's secret under the API's name
], ids=["api-wrong-secret", "api-other-apis-secret", "client-wrong-secret", "unknown",
        "api-with-a-client-secret"])
def test_wrong_or_unknown_basic_credentials_are_401_with_a_basic_challenge(
        client, token_post, auth) -> None:
    seed_with_api_secrets()
    token = _cc_token(token_post)
    response = introspect(client, token, auth=auth)
    _assert_invalid_client(response)
    assert response["WWW-Authenticate"].startswith("Basic ")
    assert "active" not in response.json()


@pytest.mark.parametrize("api", [
    ApiResource(name="api1", scopes=("api1",), enabled=False,
                api_secrets=(make_secret("api-secret"),)),
    ApiResource(name="api1", scopes=("api1",), api_secrets=(
        make_secret("api-secret", expiration=datetime.now(UTC) - timedelta(minutes=1)),)),
], ids=["disabled-api", "expired-secret"])
def test_a_disabled_api_or_an_expired_api_secret_cannot_introspect(client, token_post,
                                                                   api) -> None:
    seed_with_api_secrets()
    token = _cc_token(token_post)
    assert _active(introspect(client, token))
    import_document(ConfigDocument(resources=Resources(api_resources=(api,))), real_models())
    _assert_invalid_client(introspect(client, token))


@pytest.mark.parametrize("credentials", [
    {"client_id": "api1", "client_secret": "wrong"},
    {"client_id": "service.client", "client_secret": "wrong"},
    {"client_id": "nobody", "client_secret": "secret"},
], ids=["api", "client", "unknown"])
def test_wrong_or_unknown_credentials_in_the_body_are_401(client, token_post,
                                                          credentials) -> None:
    seed_with_api_secrets()
    token = _cc_token(token_post)
    _assert_invalid_client(introspect(client, token, auth=None, **credentials))


@pytest.mark.parametrize("params", [{}, {"client_id": "api1"}, {"client_id": "service.client"}],
                         ids=["nothing", "api-name-only", "client-id-only"])
def test_a_request_without_a_secret_is_401_invalid_client(client, token_post, params) -> None:
    seed_with_api_secrets()
    token = _cc_token(token_post)
    _assert_invalid_client(introspect(client, token, auth=None, **params))


def test_a_request_without_credentials_gets_a_basic_challenge(client, token_post) -> None:
    seed_with_api_secrets()
    token = _cc_token(token_post)
    response = introspect(client, token, auth=None)
    _assert_invalid_client(response)
    assert response["WWW-Authenticate"].startswith("Basic ")


def test_a_public_client_without_a_secret_cannot_introspect(client, alice) -> None:
    public = make_interactive_client("public", require_client_secret=False, client_secrets=(),
                                     access_token_type=AccessTokenType.Reference)
    seed_with_api_secrets(public)
    login(client)
    pkce = Pkce.new()
    code = get_code(client, pkce, client_id="public")
    response = post_token(client, {"grant_type": "authorization_code", "code": code,
                                   "redirect_uri": REDIRECT, "code_verifier": pkce.verifier,
                                   "client_id": "public"}, auth=None)
    assert response.status_code == 200, response.content
    token = response.json()["access_token"]
    assert _active(introspect(client, token))["client_id"] == "public"  # api1 may see it
    _assert_invalid_client(introspect(client, token, auth=None, client_id="public"))


def test_get_is_405_with_allow_post(client, token_post) -> None:
    seed_with_api_secrets()
    token = _cc_token(token_post)
    response = client.get(f"{INTROSPECT}?token={token}", **basic_auth(API_AUTH))
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert "active" not in response.json()


@pytest.mark.parametrize("auth", [API_AUTH, SERVICE_AUTH], ids=["api", "client"])
def test_missing_token_is_400_invalid_request(client, auth) -> None:
    seed_with_api_secrets()
    response = introspect(client, None, auth=auth, token_type_hint="access_token")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "token" in response.json()["error_description"]
    assert response["Cache-Control"] == "no-store"


# --- active JWT access tokens (RFC 7662 §2.2) ----------------------------------------------------


@pytest.mark.parametrize("auth", [API_AUTH, SERVICE_AUTH], ids=["api", "client"])
def test_client_credentials_token_has_exactly_the_rfc7662_members(client, token_post,
                                                                  auth) -> None:
    seed_with_api_secrets()
    token = _cc_token(token_post)
    body = _active(introspect(client, token, auth=auth))
    assert set(body) == JWT_MEMBERS
    claims = _claims(token)
    assert {k: body[k] for k in JWT_MEMBERS - {"active", "token_type"}} == \
        {k: claims[k] for k in JWT_MEMBERS - {"active", "token_type"}}
    assert body["token_type"] == "Bearer"
    assert body["aud"] == "api1" and body["scope"] == "api1"
    assert body["iss"] == "http://testserver"


@pytest.mark.parametrize("auth", [API_AUTH, INTERACTIVE_AUTH], ids=["api", "client"])
def test_user_access_token_has_exactly_the_rfc7662_members_and_the_subject(client, alice,
                                                                           auth) -> None:
    seed_with_api_secrets()
    token = sign_in_for_tokens(client)["access_token"]
    claims = _claims(token)
    assert {"auth_time", "amr", "sid"} <= set(claims)  # in the token, not in the answer
    body = _active(introspect(client, token, auth=auth))
    assert set(body) == JWT_MEMBERS
    assert body["sub"] == str(alice.pk) and body["client_id"] == "interactive"
    assert body["scope"] == claims["scope"] and body["jti"] == claims["jti"]
    assert (body["exp"], body["iat"], body["nbf"]) == (claims["exp"], claims["iat"],
                                                       claims["nbf"])
    assert body["token_type"] == "Bearer"


@pytest.mark.parametrize("hint", ["access_token", "refresh_token", "id_token", "nonsense", ""])
def test_token_type_hint_never_changes_the_answer(client, alice, hint) -> None:
    seed_with_api_secrets(make_interactive_client(access_token_type=AccessTokenType.Reference),
                          make_client("other", access_token_type=AccessTokenType.Reference))
    tokens = sign_in_for_tokens(client)
    cases = [
        (tokens["access_token"], API_AUTH),
        (tokens["access_token"], INTERACTIVE_AUTH),
        (tokens["refresh_token"], INTERACTIVE_AUTH),
        (tokens["refresh_token"], API_AUTH),            # inactive: APIs see access tokens only
        (tokens["access_token"], ("other", "secret")),  # inactive: another client's
        (tokens["id_token"], INTERACTIVE_AUTH),         # inactive: not an access token
        ("garbage", API_AUTH),
    ]
    for token, auth in cases:
        plain = introspect(client, token, auth=auth)
        hinted = introspect(client, token, auth=auth, token_type_hint=hint)
        assert plain.status_code == hinted.status_code == 200
        assert hinted.json() == plain.json(), (token, auth)
    assert introspect(client, tokens["refresh_token"], auth=INTERACTIVE_AUTH,
                      token_type_hint=hint).json()["token_type"] == "refresh_token"
    assert introspect(client, tokens["access_token"],
                      token_type_hint=hint).json()["token_type"] == "Bearer"


def test_an_api_sees_only_tokens_whose_audience_names_it(client, token_post) -> None:
    seed_with_api_secrets(make_client(allowed_scopes=("api1", "api2.read_only")))
    for_api2 = _cc_token(token_post, scope="api2.read_only")
    assert _claims(for_api2)["aud"] == "api2"
    _assert_inactive(introspect(client, for_api2, auth=API_AUTH))
    assert _active(introspect(client, for_api2, auth=("api2", "api2-secret")))["aud"] == "api2"
    both = _cc_token(token_post, scope="api1 api2.read_only")
    assert sorted(_active(introspect(client, both, auth=API_AUTH))["aud"]) == ["api1", "api2"]


@pytest.mark.parametrize("kind", [AccessTokenType.Jwt, AccessTokenType.Reference])
def test_a_client_sees_only_its_own_tokens(client, token_post, kind) -> None:
    seed_with_api_secrets(make_client(access_token_type=kind),
                          make_client("other.client", access_token_type=kind))
    token = _cc_token(token_post)
    _assert_inactive(introspect(client, token, auth=("other.client", "secret")))
    assert _active(introspect(client, token, auth=SERVICE_AUTH))["client_id"] == "service.client"
    own = _cc_token(token_post, auth=("other.client", "secret"))
    assert _active(introspect(client, own, auth=("other.client", "secret")))


def test_answers_are_never_cached(client, token_post) -> None:
    seed_with_api_secrets()
    token = _cc_token(token_post)
    for response in (introspect(client, token), introspect(client, "garbage"),
                     introspect(client, token, auth=("api1", "wrong")),
                     introspect(client, None, token_type_hint="access_token")):
        assert response["Cache-Control"] == "no-store", response.status_code
        assert response["Pragma"] == "no-cache"


# --- inactive tokens (RFC 7662 §2.2: only {"active": false}) ------------------------------------


@pytest.mark.parametrize("kind", [AccessTokenType.Jwt, AccessTokenType.Reference])
def test_expired_access_tokens_are_inactive(client, token_post, kind) -> None:
    seed_with_api_secrets(make_client(access_token_lifetime=1, access_token_type=kind))
    # exp is whole seconds: issue just after a second starts, so the token lives ~1 s.
    time.sleep(1.02 - time.time() % 1)
    token = _cc_token(token_post)
    assert _active(introspect(client, token))
    time.sleep(2)
    _assert_inactive(introspect(client, token))
    _assert_inactive(introspect(client, token, auth=SERVICE_AUTH))


def _another_key(token: str) -> str:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(_claims(token), other, algorithm="RS256",
                      headers={"kid": _server_kid(token), "typ": "at+jwt"})


def _alg_none(token: str) -> str:
    header = {"alg": "none", "typ": "at+jwt", "kid": _server_kid(token)}
    return f"{_b64(header)}.{_b64(_claims(token))}."


def _hs256_with_the_public_key(token: str) -> str:
    """The key-confusion attack: HMAC keyed with the server's public JWK."""
    import hmac

    from identity.stores.registry import get_key_ring

    key = next(k for k in get_key_ring().public_keys() if k.kid == _server_kid(token))
    header = {"alg": "HS256", "typ": "at+jwt", "kid": key.kid}
    signing_input = f"{_b64(header)}.{_b64(_claims(token))}"
    mac = hmac.new(json.dumps(key.public_jwk).encode(), signing_input.encode(),
                   hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def _tampered(token: str) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{_b64({**_claims(token), 'scope': 'api1 admin'})}.{signature}"


@pytest.mark.parametrize("forge", [
    lambda token: "garbage",
    lambda token: "a.b.c",
    lambda token: secrets.token_urlsafe(32),   # a well-formed handle that was never issued
    lambda token: token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"),
    _tampered,
    _another_key,
    _alg_none,
    _hs256_with_the_public_key,
    lambda token: _resign(token, "JWT"),      # our key, valid claims, but not typed at+jwt
], ids=["garbage", "three-dots", "unknown-handle", "bad-signature", "tampered-claims",
        "another-key-same-kid", "alg-none", "hs256-key-confusion", "typ-jwt"])
@pytest.mark.parametrize("auth", [API_AUTH, SERVICE_AUTH], ids=["api", "client"])
def test_tokens_this_server_did_not_issue_as_access_tokens_are_inactive(
        client, token_post, forge, auth) -> None:
    seed_with_api_secrets()
    token = _cc_token(token_post)
    assert _active(introspect(client, token, auth=auth))  # the original is fine
    _assert_inactive(introspect(client, forge(token), auth=auth))


def test_an_id_token_is_not_an_access_token(client, alice) -> None:
    seed_with_api_secrets()
    id_token = sign_in_for_tokens(client)["id_token"]
    assert jwt.get_unverified_header(id_token)["typ"] == "JWT"
    _assert_inactive(introspect(client, id_token, auth=INTERACTIVE_AUTH))
    # Not even for an API named like the ID token's audience (the client id).
    named = ApiResource(name="interactive", api_secrets=(make_secret("api-secret"),))
    import_document(ConfigDocument(resources=Resources(api_resources=(named,))), real_models())
    assert _claims(id_token)["aud"] == "interactive"
    _assert_inactive(introspect(client, id_token, auth=("interactive", "api-secret")))


# --- reference access tokens (IdentityServer AccessTokenType.Reference) ------------------------


def test_reference_token_is_an_opaque_handle_stored_only_as_its_hash(client, alice) -> None:
    seed_with_api_secrets(_reference())
    tokens = sign_in_for_tokens(client)
    handle = tokens["access_token"]
    assert "." not in handle and len(handle) >= 43
    row = PersistedGrant.objects.get(key=hashlib.sha256(handle.encode()).hexdigest())
    assert row.type == "reference_token" and row.client_id == "interactive"
    assert row.subject_id == str(alice.pk)
    dump = _database_text()
    assert hashlib.sha256(handle.encode()).hexdigest() in dump  # the dump does see the rows
    assert handle not in dump
    assert tokens["refresh_token"] not in dump


@pytest.mark.parametrize("auth", [API_AUTH, INTERACTIVE_AUTH], ids=["api", "client"])
def test_reference_user_token_resolves_to_the_same_members_as_a_jwt(client, alice,
                                                                     auth) -> None:
    seed_with_api_secrets(_reference())
    handle = sign_in_for_tokens(client)["access_token"]
    body = _active(introspect(client, handle, auth=auth))
    assert set(body) == JWT_MEMBERS
    assert body["sub"] == str(alice.pk) and body["client_id"] == "interactive"
    assert body["aud"] == "api1" and body["iss"] == "http://testserver"
    assert body["token_type"] == "Bearer"
    assert set(body["scope"].split()) == {"openid", "profile", "email", "api1", "offline_access"}
    assert body["exp"] - body["iat"] == 3600 and body["nbf"] == body["iat"]


def test_reference_client_credentials_token_resolves(client, token_post) -> None:
    seed_with_api_secrets(_reference("service.client"))
    handle = _cc_token(token_post)
    assert "." not in handle
    body = _active(introspect(client, handle))
    assert set(body) == JWT_MEMBERS
    assert body["sub"] == body["client_id"] == "service.client" and body["aud"] == "api1"


def test_reference_token_revoked_at_the_revocation_endpoint_is_inactive(client, alice) -> None:
    seed_with_api_secrets(_reference())
    handle = sign_in_for_tokens(client)["access_token"]
    assert _active(introspect(client, handle))
    assert revoke(client, handle).status_code == 200
    _assert_inactive(introspect(client, handle))
    _assert_inactive(introspect(client, handle, auth=INTERACTIVE_AUTH))


# --- refresh tokens ------------------------------------------------------------------------------


def test_a_client_sees_its_own_refresh_token_as_active(client, alice) -> None:
    seed_with_api_secrets()
    token = sign_in_for_tokens(client)["refresh_token"]
    body = _active(introspect(client, token, auth=INTERACTIVE_AUTH))
    assert body["token_type"] == "refresh_token"
    assert body["client_id"] == "interactive" and body["sub"] == str(alice.pk)
    assert "offline_access" in body["scope"].split()
    assert body["exp"] > body["iat"]


def test_an_api_never_sees_refresh_tokens(client, alice) -> None:
    seed_with_api_secrets()
    token = sign_in_for_tokens(client)["refresh_token"]
    _assert_inactive(introspect(client, token, auth=API_AUTH))


def test_another_client_never_sees_a_refresh_token(client, alice) -> None:
    seed_with_api_secrets(make_interactive_client(), make_client("other"))
    token = sign_in_for_tokens(client)["refresh_token"]
    _assert_inactive(introspect(client, token, auth=("other", "secret")))


def test_a_rotated_refresh_token_is_inactive_and_its_successor_active(client, alice) -> None:
    seed_with_api_secrets()
    first = sign_in_for_tokens(client)["refresh_token"]
    response = refresh(client, first)
    assert response.status_code == 200, response.content
    second = response.json()["refresh_token"]
    _assert_inactive(introspect(client, first, auth=INTERACTIVE_AUTH))
    assert _active(introspect(client, second, auth=INTERACTIVE_AUTH))


# --- every way of revoking makes tokens inactive --------------------------------------------------


def _assert_family_inactive(client, tokens: dict) -> None:
    _assert_inactive(introspect(client, tokens["refresh_token"], auth=INTERACTIVE_AUTH))
    _assert_inactive(introspect(client, tokens["access_token"]))
    _assert_inactive(introspect(client, tokens["access_token"], auth=INTERACTIVE_AUTH))


def _assert_family_active(client, tokens: dict) -> None:
    assert _active(introspect(client, tokens["refresh_token"], auth=INTERACTIVE_AUTH))
    assert _active(introspect(client, tokens["access_token"]))


def test_revocation_endpoint_refresh_token_is_inactive(client, alice) -> None:
    seed_with_api_secrets(_reference())
    tokens = sign_in_for_tokens(client)
    _assert_family_active(client, tokens)
    assert revoke(client, tokens["refresh_token"]).status_code == 200
    _assert_family_inactive(client, tokens)


def test_revocation_endpoint_jwt_of_an_opted_in_client_is_inactive(client, alice) -> None:
    seed_with_api_secrets(make_interactive_client(properties=REVOCABLE))
    token = sign_in_for_tokens(client)["access_token"]
    assert _active(introspect(client, token))
    assert revoke(client, token).status_code == 200
    _assert_inactive(introspect(client, token))
    _assert_inactive(introspect(client, token, auth=INTERACTIVE_AUTH))


def test_a_replayed_code_makes_the_first_redemptions_tokens_inactive(client, alice) -> None:
    seed_with_api_secrets(_reference())
    login(client)
    pkce = Pkce.new()
    code = get_code(client, pkce)
    first = exchange(client, code, pkce)
    assert first.status_code == 200, first.content
    tokens = first.json()
    _assert_family_active(client, tokens)
    replay = exchange(client, code, pkce)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    _assert_family_inactive(client, tokens)


def test_reuse_of_a_rotated_refresh_token_makes_the_family_inactive(client, alice) -> None:
    seed_with_api_secrets(_reference())
    first = sign_in_for_tokens(client)
    response = refresh(client, first["refresh_token"])
    assert response.status_code == 200, response.content
    second = response.json()
    _assert_family_active(client, second)
    assert _active(introspect(client, first["access_token"]))
    reuse = refresh(client, first["refresh_token"])
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    _assert_family_inactive(client, second)
    _assert_inactive(introspect(client, first["access_token"]))


def test_the_admins_revoke_action_makes_the_tokens_inactive(client, admin_client, alice) -> None:
    seed_with_api_secrets(_reference())
    tokens = sign_in_for_tokens(client)
    other = sign_in_for_tokens(client)  # a second sign-in, another family: left alone
    key = hashlib.sha256(tokens["refresh_token"].encode()).hexdigest()
    response = admin_client.post("/admin/identity/persistedgrant/",
                                 {"action": "revoke", "_selected_action": [key]})
    assert response.status_code == 302, response.content[:500]
    _assert_family_inactive(client, tokens)
    _assert_family_active(client, other)


def test_the_user_revoking_the_application_makes_its_tokens_inactive(client, alice) -> None:
    seed_with_api_secrets(_reference(), make_interactive_client(
        "other", access_token_type=AccessTokenType.Reference))
    tokens = sign_in_for_tokens(client)
    others = sign_in_for_tokens(client, client_id="other", auth=("other", "secret"))
    response = client.post("/account/grants", {"client_id": "interactive"})
    assert response.status_code == 302, response.content[:500]
    _assert_family_inactive(client, tokens)
    assert _active(introspect(client, others["refresh_token"], auth=("other", "secret")))
    assert _active(introspect(client, others["access_token"]))


# --- tokens of a client or user that is no longer active -----------------------------------------


@pytest.mark.parametrize("kind", [AccessTokenType.Jwt, AccessTokenType.Reference])
def test_tokens_of_a_disabled_client_are_inactive(client, token_post, kind) -> None:
    seed_with_api_secrets(make_client(access_token_type=kind))
    token = _cc_token(token_post)
    assert _active(introspect(client, token))
    seed_with_api_secrets(make_client(access_token_type=kind, enabled=False))
    _assert_inactive(introspect(client, token))


@pytest.mark.parametrize("kind", [AccessTokenType.Jwt, AccessTokenType.Reference])
def test_tokens_of_a_deactivated_user_are_inactive(client, alice, kind) -> None:
    seed_with_api_secrets(make_interactive_client(access_token_type=kind))
    tokens = sign_in_for_tokens(client)
    assert _active(introspect(client, tokens["access_token"]))
    alice.is_active = False
    alice.save()
    _assert_inactive(introspect(client, tokens["access_token"]))
    _assert_inactive(introspect(client, tokens["refresh_token"], auth=INTERACTIVE_AUTH))


def test_a_json_body_is_400_invalid_request(client, token_post) -> None:
    seed_with_api_secrets()
    token = _cc_token(token_post)
    response = client.post(INTROSPECT, json.dumps({"token": token}),
                           content_type="application/json", **basic_auth(API_AUTH))
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_request"


def test_a_repeated_token_parameter_is_400_invalid_request(client, token_post) -> None:
    seed_with_api_secrets()
    token = _cc_token(token_post)
    response = client.post(INTROSPECT, f"token={token}&token=garbage", content_type=FORM,
                           **basic_auth(API_AUTH))
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_request"
