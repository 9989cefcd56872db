"""DPoP at the resource server (RFC 9449 §7): `Authorization: DPoP <token>` with a proof made by
joserfc (tests/fapi/jose.py), an encoder this project did not write. Each check of the proof
has a request it accepts and one it refuses; bound tokens sent as Bearer are refused with a DPoP
challenge, and unbound bearer tokens work as before.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from functools import cache
from typing import Any

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from joserfc import jwt as jose_jwt
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from identity.contrib.rest_framework import IdentityTokenAuthentication
from identity.contrib.rest_framework.conf import parse
from identity.contrib.rest_framework.dpop import jwk_thumbprint, normalize_url
from tests.contrib import support
from tests.contrib.support import claims_for, settings_for, sign
from tests.fapi import jose

factory = RequestFactory()
PATH = "/orders"
URL = "http://testserver" + PATH
INVALID_PROOF = 'DPoP error="invalid_dpop_proof"'
INVALID_TOKEN = 'DPoP error="invalid_token"'


class _Orders(APIView):
    authentication_classes = [IdentityTokenAuthentication]
    renderer_classes = [JSONRenderer]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response({"sub": request.user.sub, "jkt": request.auth["cnf"]["jkt"]})

    def post(self, request: Request) -> Response:
        return self.get(request)


class _Anything(_Orders):
    def get(self, request: Request) -> Response:
        return Response({"sub": request.user.sub})


class AddRecordingCache(LocMemCache):
    """Local memory that records every add: (key, timeout)."""

    added: list[tuple[str, Any]] = []

    def add(self, key: Any, value: Any, timeout: Any = None, version: Any = None) -> bool:
        self.added.append((key, timeout))
        return super().add(key, value, timeout, version)


class BrokenCache(LocMemCache):
    """A cache that cannot record anything: single use of a proof cannot be shown."""

    def add(self, *args: Any, **kwargs: Any) -> bool:
        raise ConnectionError("the cache is down")


# --- builders ---------------------------------------------------------------------------------


@cache
def _ec() -> jose.ECKey:
    return jose.ec_key()


@cache
def _rsa() -> jose.RSAKey:
    return jose.rsa_key()


@cache
def _other() -> jose.ECKey:
    return jose.ec_key()


def _bound_token(issuer: str, key: jose.AnyKey | None = None, **claims: Any) -> str:
    """A JWT access token of the stub's RSA key, bound to `key` (the EC proof key)."""
    jkt = jose.thumbprint(key or _ec())
    return sign(claims_for(issuer, cnf={"jkt": jkt}, **claims), support.rsa_key())


def _proof(token: str, key: jose.AnyKey | None = None, htm: str = "GET", htu: str = URL,
           **options: Any) -> str:
    return jose.dpop_proof(key or _ec(), htm, htu, access_token=token, **options)


def _claims(token: str | None, **overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {"jti": secrets.token_urlsafe(16), "htm": "GET", "htu": URL,
                              "iat": int(time.time())}
    if token is not None:
        digest = hashlib.sha256(token.encode()).digest()
        claims["ath"] = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _custom(token: str, header: dict[str, Any], *, key: jose.AnyKey | None = None,
            alg: str = "ES256", **claims: Any) -> str:
    """A proof whose header is `header` (alg added), signed by `key`: for what dpop_proof
    will not make."""
    return jose_jwt.encode({"alg": alg, **header}, _claims(token, **claims), key or _ec(),
                           algorithms=[alg])


def _call(token: str, proof: str | None = None, *, scheme: str = "DPoP", method: str = "get",
          path: str = PATH, view: type[APIView] = _Orders, **headers: Any) -> Any:
    if proof is not None:
        headers["HTTP_DPOP"] = proof
    request = getattr(factory, method)(path, HTTP_AUTHORIZATION=f"{scheme} {token}", **headers)
    response = view.as_view()(request)
    response.render()
    return response


def _refused(response: Any, challenge: str, reason: str) -> None:
    assert response.status_code == 401, response.data
    assert response["WWW-Authenticate"].startswith(challenge), response["WWW-Authenticate"]
    assert reason in response.data["detail"], response.data["detail"]


# --- accepted ---------------------------------------------------------------------------------


def test_a_bound_jwt_with_a_valid_proof_authenticates(resource_server, stub) -> None:
    token = _bound_token(stub.url)
    response = _call(token, _proof(token))
    assert response.status_code == 200, response.data
    assert response.data == {"sub": "alice", "jkt": jose.thumbprint(_ec())}


@pytest.mark.parametrize("alg", ["RS256", "PS256"])
def test_an_rsa_proof_key_signs_with_rs256_or_ps256(resource_server, stub, alg) -> None:
    token = _bound_token(stub.url, _rsa())
    assert _call(token, _proof(token, _rsa(), alg=alg)).status_code == 200


def test_post_proofs_name_post(resource_server, stub) -> None:
    token = _bound_token(stub.url)
    assert _call(token, _proof(token, htm="POST"), method="post").status_code == 200


def test_a_bound_reference_token_is_checked_with_introspection(resource_server, stub) -> None:
    resource_server(INTROSPECTION_CLIENT_ID="api1", INTROSPECTION_CLIENT_SECRET="secret")
    stub.active["ref-bound"] = {
        "active": True, "iss": stub.url, "aud": "api1", "sub": "alice", "scope": "api1",
        "exp": int(time.time()) + 300, "token_type": "DPoP",
        "cnf": {"jkt": jose.thumbprint(_ec())}}
    response = _call("ref-bound", _proof("ref-bound"))
    assert response.status_code == 200, response.data
    assert response.data["jkt"] == jose.thumbprint(_ec())


@pytest.mark.parametrize("htu", ["HTTP://TestServer/orders", "http://testserver:80/orders",
                                 "http://testserver/orders?page=1#top", "http://testserver/%6Frders"])
def test_htu_is_compared_without_query_and_case_of_scheme_and_host(resource_server, stub,
                                                                   htu) -> None:
    token = _bound_token(stub.url)
    assert _call(token, _proof(token, htu=htu), path=PATH + "?page=2").status_code == 200


@pytest.mark.parametrize("offset", [-80, 20])
def test_iat_within_the_lifetime_and_skew_is_accepted(resource_server, stub, offset) -> None:
    resource_server(DPOP_PROOF_LIFETIME=60, DPOP_CLOCK_SKEW=30)
    token = _bound_token(stub.url)
    proof = _proof(token, iat=int(time.time()) + offset)
    assert _call(token, proof).status_code == 200


def test_unbound_bearer_tokens_work_as_before(resource_server, stub) -> None:
    token = sign(claims_for(stub.url), support.rsa_key())
    response = _call(token, scheme="Bearer", view=_Anything)
    assert response.status_code == 200 and response.data == {"sub": "alice"}


# --- the proof itself -------------------------------------------------------------------------


def test_dpop_without_a_proof_is_refused(resource_server, stub) -> None:
    _refused(_call(_bound_token(stub.url)), INVALID_PROOF, "no DPoP proof")


def test_two_proofs_are_refused(resource_server, stub) -> None:
    token = _bound_token(stub.url)
    _refused(_call(token, f"{_proof(token)}, {_proof(token)}"), INVALID_PROOF,
             "more than one")


@pytest.mark.parametrize("proof", ["not-a-jwt", "a.b", "a.b.c.d", "ü.ö.ä", "x" * 9000])
def test_a_proof_that_is_not_a_jwt_is_refused(resource_server, stub, proof) -> None:
    _refused(_call(_bound_token(stub.url), proof), INVALID_PROOF, "DPoP proof")


@pytest.mark.parametrize("typ", ["jwt", "at+jwt", None])
def test_typ_must_be_dpop_jwt(resource_server, stub, typ) -> None:
    token = _bound_token(stub.url)
    header = {"jwk": jose.public_jwk(_ec()), **({"typ": typ} if typ else {})}
    _refused(_call(token, _custom(token, header)), INVALID_PROOF, "typ is not dpop+jwt")


@pytest.mark.parametrize(("signature", "reason"), [("", "not a signed JWT"),
                                                   ("AAAA", "algorithm is not accepted")])
def test_alg_none_is_refused(resource_server, stub, signature, reason) -> None:
    token = _bound_token(stub.url)
    proof = jose.unsigned(_claims(token), typ="dpop+jwt", jwk=jose.public_jwk(_ec()))
    _refused(_call(token, proof + signature), INVALID_PROOF, reason)


def test_hmac_keyed_with_the_public_jwk_is_refused(resource_server, stub) -> None:
    token = _bound_token(stub.url)
    proof = jose.hmac_with_public_key(_claims(token), _ec(), typ="dpop+jwt",
                                      jwk=jose.public_jwk(_ec()))
    _refused(_call(token, proof), INVALID_PROOF, "algorithm is not accepted")


@pytest.mark.parametrize("alg", ["RS384", "PS512"])
def test_algorithms_beyond_the_three_are_refused(resource_server, stub, alg) -> None:
    token = _bound_token(stub.url, _rsa())
    _refused(_call(token, _proof(token, _rsa(), alg=alg)), INVALID_PROOF,
             "algorithm is not accepted")


@pytest.mark.parametrize("jwk", ["private", "oct", None])
def test_the_jwk_must_be_a_public_key(resource_server, stub, jwk) -> None:
    token = _bound_token(stub.url)
    header: dict[str, Any] = {"typ": "dpop+jwt"}
    if jwk == "private":
        header["jwk"] = _ec().as_dict(private=True)
    elif jwk == "oct":
        header["jwk"] = {"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"}
    _refused(_call(token, _custom(token, header)), INVALID_PROOF, "jwk")


def test_a_jwk_of_the_wrong_type_for_the_alg_is_refused(resource_server, stub) -> None:
    token = _bound_token(stub.url)
    header = {"typ": "dpop+jwt", "jwk": jose.public_jwk(_rsa())}  # an RSA key for ES256
    _refused(_call(token, _custom(token, header)), INVALID_PROOF, "does not serve ES256")


def test_a_signature_by_another_key_than_the_jwk_is_refused(resource_server, stub) -> None:
    token = _bound_token(stub.url)
    header = {"typ": "dpop+jwt", "jwk": jose.public_jwk(_ec())}
    _refused(_call(token, _custom(token, header, key=_other())), INVALID_PROOF,
             "signature does not verify")


def test_a_tampered_proof_is_refused(resource_server, stub) -> None:
    token = _bound_token(stub.url)
    head, _, signature = _proof(token).split(".")
    forged_body = _proof(token, htm="POST").split(".")[1]
    _refused(_call(token, f"{head}.{forged_body}.{signature}"), INVALID_PROOF, "signature")


@pytest.mark.parametrize("htm", ["POST", "get", "PUT"])
def test_htm_must_be_the_request_method(resource_server, stub, htm) -> None:
    token = _bound_token(stub.url)
    _refused(_call(token, _proof(token, htm=htm)), INVALID_PROOF, "htm")


@pytest.mark.parametrize("htu", ["http://testserver/other", "https://testserver/orders",
                                 "http://elsewhere/orders", "http://testserver:8080/orders",
                                 "/orders", "http://testserver/orders/"])
def test_htu_must_be_the_request_url(resource_server, stub, htu) -> None:
    token = _bound_token(stub.url)
    _refused(_call(token, _proof(token, htu=htu)), INVALID_PROOF, "htu")


@pytest.mark.parametrize(("offset", "reason"), [(-100, "expired"), (40, "in the future")])
def test_iat_outside_the_window_is_refused(resource_server, stub, offset, reason) -> None:
    resource_server(DPOP_PROOF_LIFETIME=60, DPOP_CLOCK_SKEW=30)
    token = _bound_token(stub.url)
    _refused(_call(token, _proof(token, iat=int(time.time()) + offset)), INVALID_PROOF, reason)


@pytest.mark.parametrize(("claim", "value", "reason"), [
    ("jti", None, "no jti"), ("jti", "", "no jti"), ("jti", 7, "no jti"),
    ("htm", None, "htm"), ("htu", None, "htu"), ("htu", 5, "htu"),
    ("iat", None, "iat is not a number"), ("iat", "now", "iat is not a number"),
    ("iat", True, "iat is not a number"), ("iat", 10**400, "iat is not a number"),
    ("ath", None, "ath"), ("ath", 1, "ath"),
])
def test_missing_or_mistyped_claims_are_refused(resource_server, stub, claim, value,
                                                reason) -> None:
    token = _bound_token(stub.url)
    header = {"typ": "dpop+jwt", "jwk": jose.public_jwk(_ec())}
    proof = _custom(token, header, **{claim: value})  # None leaves the claim out
    _refused(_call(token, proof), INVALID_PROOF, reason)


def test_ath_must_be_the_hash_of_the_token_presented(resource_server, stub) -> None:
    token, other = _bound_token(stub.url), _bound_token(stub.url, jti="j2")
    _refused(_call(token, _proof(other)), INVALID_PROOF, "ath")


def test_a_proof_is_single_use(resource_server, stub) -> None:
    token = _bound_token(stub.url)
    proof = _proof(token)
    assert _call(token, proof).status_code == 200
    _refused(_call(token, proof), INVALID_PROOF, "used before")


def test_a_jti_is_single_use_in_a_new_proof_too(resource_server, stub) -> None:
    token = _bound_token(stub.url)
    jti = secrets.token_urlsafe(16)
    assert _call(token, _proof(token, jti=jti)).status_code == 200
    _refused(_call(token, _proof(token, jti=jti, htm="POST"), method="post"), INVALID_PROOF,
             "used before")


def test_the_jti_is_kept_for_the_window_under_a_hash(resource_server, stub, settings) -> None:
    settings.CACHES = {**settings.CACHES, "recording": {
        "BACKEND": f"{__name__}.AddRecordingCache", "LOCATION": "contrib-dpop"}}
    resource_server(CACHE_ALIAS="recording", DPOP_PROOF_LIFETIME=60, DPOP_CLOCK_SKEW=30)
    AddRecordingCache.added.clear()
    token = _bound_token(stub.url)
    jti = secrets.token_urlsafe(16)
    assert _call(token, _proof(token, jti=jti)).status_code == 200
    kept = [(key, timeout) for key, timeout in AddRecordingCache.added if ":dpop-jti:" in key]
    AddRecordingCache.added.clear()
    assert len(kept) == 1
    key, timeout = kept[0]
    assert jti not in key
    assert timeout is not None and 60 + 30 - 5 <= timeout <= 60 + 30 + 1


def test_a_cache_that_cannot_record_the_jti_refuses_the_proof(resource_server, stub,
                                                             settings) -> None:
    settings.CACHES = {**settings.CACHES, "broken": {
        "BACKEND": f"{__name__}.BrokenCache", "LOCATION": "contrib-dpop-broken"}}
    resource_server(CACHE_ALIAS="broken")
    token = _bound_token(stub.url)
    _refused(_call(token, _proof(token)), INVALID_PROOF, "could not be checked")


# --- binding between the proof and the token ---------------------------------------------------


def test_a_proof_by_another_key_than_the_tokens_is_refused(resource_server, stub) -> None:
    token = _bound_token(stub.url)  # bound to _ec()
    _refused(_call(token, _proof(token, _other())), INVALID_PROOF, "another key")


def test_a_reference_token_bound_to_another_key_is_refused(resource_server, stub) -> None:
    resource_server(INTROSPECTION_CLIENT_ID="api1", INTROSPECTION_CLIENT_SECRET="secret")
    stub.active["ref-other"] = {"active": True, "iss": stub.url, "aud": "api1",
                                "exp": int(time.time()) + 300, "token_type": "DPoP",
                                "cnf": {"jkt": jose.thumbprint(_other())}}
    _refused(_call("ref-other", _proof("ref-other")), INVALID_PROOF, "another key")


def test_an_unbound_token_with_the_dpop_scheme_is_refused(resource_server, stub) -> None:
    token = sign(claims_for(stub.url), support.rsa_key())
    _refused(_call(token, _proof(token)), INVALID_TOKEN, "not bound to a DPoP key")


def test_a_bad_token_with_a_good_proof_is_invalid_token(resource_server, stub) -> None:
    token = _bound_token(stub.url, aud="api2")
    _refused(_call(token, _proof(token)), INVALID_TOKEN, "not meant for this API")


def test_a_malformed_dpop_authorization_is_invalid_token(resource_server, stub) -> None:
    _refused(_call("two words", _proof("two words")), INVALID_TOKEN, "does not hold")


# --- bound tokens presented as Bearer ---------------------------------------------------------


def test_a_bound_jwt_sent_as_bearer_is_refused_with_a_dpop_challenge(resource_server,
                                                                     stub) -> None:
    token = _bound_token(stub.url)
    response = _call(token, _proof(token), scheme="Bearer")
    _refused(response, INVALID_TOKEN, "bound to a DPoP key")
    assert 'algs="ES256 PS256 RS256"' in response["WWW-Authenticate"]
    assert response.data["detail"].code == "invalid_token"


def test_a_bound_reference_token_sent_as_bearer_is_refused(resource_server, stub) -> None:
    resource_server(INTROSPECTION_CLIENT_ID="api1", INTROSPECTION_CLIENT_SECRET="secret")
    stub.active["ref-bound"] = {"active": True, "iss": stub.url, "aud": "api1",
                                "exp": int(time.time()) + 300, "token_type": "DPoP",
                                "cnf": {"jkt": jose.thumbprint(_ec())}}
    _refused(_call("ref-bound", scheme="Bearer"), INVALID_TOKEN, "bound to a DPoP key")


def test_a_token_bound_otherwise_keeps_the_bearer_refusal(resource_server, stub) -> None:
    token = sign(claims_for(stub.url, cnf={"x5t#S256": "abc"}), support.rsa_key())
    _refused(_call(token, scheme="Bearer"), 'Bearer realm="api", error="invalid_token"',
             "sender-constrained")


def test_the_dpop_challenge_names_the_error_description_and_realm(resource_server,
                                                                 stub) -> None:
    resource_server(REALM="orders")
    response = _call(_bound_token(stub.url))
    assert response["WWW-Authenticate"] == (
        'DPoP error="invalid_dpop_proof", error_description="the request has no DPoP proof", '
        'realm="orders", algs="ES256 PS256 RS256"')
    assert response.data["detail"].code == "invalid_dpop_proof"


# --- the pieces -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [_ec, _rsa])
def test_the_thumbprint_is_rfc_7638s(key) -> None:
    jwk = {**jose.public_jwk(key()), "kid": "ignored", "use": "sig"}
    assert jwk_thumbprint(jwk) == jose.thumbprint(key())


@pytest.mark.parametrize(("url", "normal"), [
    ("HTTPS://Example.COM:443/a/%7Eb%2f?q#f", "https://example.com/a/~b%2F"),
    ("http://example.com", "http://example.com/"),
    ("http://[::1]:8000/x", "http://[::1]:8000/x"),
    ("ftp://example.com/", None), ("/relative", None), ("http://u@example.com/", None),
    ("http://example.com:port/", None),
])
def test_urls_are_normalized_for_htu(url, normal) -> None:
    assert normalize_url(url) == normal


def test_the_dpop_settings_have_defaults_and_are_checked() -> None:
    settings = parse(settings_for("https://id.example.com"))
    assert (settings.dpop_proof_lifetime, settings.dpop_clock_skew) == (60, 300)
    for mistake in ({"DPOP_PROOF_LIFETIME": 0}, {"DPOP_CLOCK_SKEW": -1},
                    {"DPOP_CLOCK_SKEW": "5m"}):
        with pytest.raises(ImproperlyConfigured, match=next(iter(mistake))):
            parse(settings_for("https://id.example.com", **mistake))

