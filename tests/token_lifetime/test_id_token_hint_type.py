"""id_token_hint takes ID tokens only (RP-Initiated Logout 1.0 §2); an access token of ours
(typ at+jwt, RFC 9068 §2.1) is an invalid hint even when its audience names the client."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import jwt
import pytest

import identity.http.session  # noqa: F401
from identity.errors import InvalidToken
from identity.stores.registry import get_key_ring
from identity.tokens.verification import decode_id_token_hint
from tests.end_session.test_endpoint import (
    assert_confirmation_page,
    assert_signed_out_page,
    post_form,
)
from tests.factories import make_client, make_interactive_client
from tests.helpers.flow import is_signed_in, login, sign_in_to

pytestmark = pytest.mark.django_db

ENDPOINT = "/connect/endsession"
ISSUER = "http://testserver"
SIGNED_OUT = "http://localhost:21402/signed-out"


@pytest.fixture
def tokens(client, seeded, alice, identity_config) -> dict:
    # An access token whose audience is the client: the one shape an ID token also has.
    identity_config(ACCESS_TOKEN_STATIC_AUDIENCE="interactive")
    seeded(make_client(), make_interactive_client(post_logout_redirect_uris=(SIGNED_OUT,)))
    login(client)
    return sign_in_to(client, scope="openid profile offline_access")


def _end_session(client, hint: str):
    return client.get(ENDPOINT + "?" + urlencode({
        "id_token_hint": hint, "post_logout_redirect_uri": SIGNED_OUT, "state": "s"}))


def _sign(claims: dict, typ: str | None) -> str:
    key = get_key_ring().signing_key()
    headers = {"kid": key.kid, "typ": typ}  # None: PyJWT leaves typ out
    token = jwt.encode(claims, key.private, algorithm=key.algorithm, headers=headers)
    assert ("typ" in jwt.get_unverified_header(token)) is (typ is not None)
    return token


def test_an_access_token_as_hint_asks_for_confirmation_and_never_redirects(client,
                                                                          tokens) -> None:
    access = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert access["aud"] == "interactive"  # it would name the client as an ID token does
    confirm = assert_confirmation_page(_end_session(client, tokens["access_token"]))
    assert is_signed_in(client)
    assert_signed_out_page(post_form(client, confirm.fields), target=None)
    assert not is_signed_in(client)


def test_the_id_token_of_the_same_sign_in_is_a_valid_hint(client, tokens) -> None:
    assert_signed_out_page(_end_session(client, tokens["id_token"]),
                           target=SIGNED_OUT + "?state=s")
    assert not is_signed_in(client)


@pytest.mark.parametrize("typ", ["at+jwt", "application/at+jwt", "logout+jwt"])
def test_a_typed_token_other_than_jwt_is_no_id_token(tokens, typ) -> None:
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    with pytest.raises(InvalidToken):
        decode_id_token_hint(_sign(claims, typ), get_key_ring(), ISSUER)


@pytest.mark.parametrize("extra", [{"scope": "openid"}, {"client_id": "interactive"},
                                   {"aud": ["interactive", "api1"]}])
def test_an_untyped_token_shaped_as_an_access_token_is_no_id_token(tokens, extra) -> None:
    claims = {**jwt.decode(tokens["id_token"], options={"verify_signature": False}), **extra}
    with pytest.raises(InvalidToken):
        decode_id_token_hint(_sign(claims, None), get_key_ring(), ISSUER)


@pytest.mark.parametrize("typ", [None, "JWT", "application/jwt"])
def test_an_id_token_typed_jwt_or_untyped_is_accepted_expired_or_not(tokens, typ) -> None:
    claims = {**jwt.decode(tokens["id_token"], options={"verify_signature": False}),
              "exp": int(time.time()) - 3600}
    decoded = decode_id_token_hint(_sign(claims, typ), get_key_ring(), ISSUER)
    assert decoded["aud"] == "interactive"
