"""JWT access tokens (RFC 9068): what is accepted, and everything that must be refused.

The validator runs against a key store fed by a fake fetch: no network, no Django request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from identity.contrib.rest_framework.conf import parse
from identity.contrib.rest_framework.failures import _InvalidToken
from identity.contrib.rest_framework.jwt_tokens import JwtValidator
from identity.contrib.rest_framework.keys import KeyStore
from tests.contrib.support import (
    claims_for,
    ec_key,
    forge,
    public_jwk,
    rsa_key,
    settings_for,
    sign,
)

ISSUER = "https://id.example.com"


def _validator(keys: list[dict[str, Any]] | None = None, **overrides: Any) -> JwtValidator:
    settings = parse({**settings_for(ISSUER), "REQUIRE_HTTPS": True, "SHARE_KEYS_IN_CACHE": False,
                      **overrides})
    published = keys if keys is not None else [
        public_jwk(rsa_key(), "rsa"), public_jwk(ec_key(), "ec"),
        public_jwk(ec_key("ec384", "P-384"), "ec384")]

    def fetch(url: str, **_: Any) -> dict[str, Any]:
        if url.endswith("/openid-configuration"):
            return {"jwks_uri": f"{ISSUER}/jwks"}
        return {"keys": published}

    return JwtValidator(settings, KeyStore(settings, fetch=fetch))


def _refused(validator: JwtValidator, token: str, reason: str) -> None:
    with pytest.raises(_InvalidToken, match=reason):
        validator.validate(token)


@pytest.mark.parametrize(("key", "kid", "algorithm", "allowed"), [
    (rsa_key, "rsa", "RS256", None),
    (rsa_key, "rsa", "PS256", None),
    (ec_key, "ec", "ES256", None),
    (rsa_key, "rsa", "RS512", ["RS512"]),
    (rsa_key, "rsa", "PS384", ["PS384"]),
    (lambda: ec_key("ec384", "P-384"), "ec384", "ES384", ["ES384"]),
])
def test_a_valid_token_gives_its_claims(key, kid, algorithm, allowed) -> None:
    validator = _validator(**({"ALGORITHMS": allowed} if allowed else {}))
    claims = validator.validate(sign(claims_for(ISSUER), key(), kid, algorithm))
    assert claims["sub"] == "alice" and claims["scope"] == "api1 api1.read"


def test_typ_may_be_the_media_type_and_aud_a_list() -> None:
    token = sign(claims_for(ISSUER, aud=["other", "api1"]), rsa_key(), typ="application/at+JWT")
    assert _validator().validate(token)["aud"] == ["other", "api1"]


@dataclass(frozen=True)
class _From:
    """A time `seconds` from when the test runs."""

    seconds: int


@pytest.mark.parametrize(("claims", "reason"), [
    ({"iss": "https://evil.example.com"}, "another issuer"),
    ({"iss": None}, "another issuer"),
    ({"aud": "api2"}, "not meant for this API"),
    ({"aud": ["api2", "api3"]}, "not meant for this API"),
    ({"aud": None}, "not meant for this API"),
    ({"exp": None}, "no expiry"),
    ({"exp": "soon"}, "not a number"),
    ({"exp": True}, "not a number"),
    ({"exp": _From(-31)}, "expired"),
    ({"nbf": _From(120)}, "not valid yet"),
    ({"iat": _From(120)}, "issued in the future"),
    ({"cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}, "sender-constrained"),
])
def test_claims_that_are_refused(claims, reason) -> None:
    now = int(time.time())  # at run time: the whole suite may run long after collection
    claims = {k: now + v.seconds if isinstance(v, _From) else v for k, v in claims.items()}
    _refused(_validator(), sign(claims_for(ISSUER, **claims), rsa_key()), reason)


def test_leeway_covers_small_clock_differences() -> None:
    now = int(time.time())
    token = sign(claims_for(ISSUER, exp=now - 10, nbf=now + 10, iat=now + 10), rsa_key())
    assert _validator().validate(token)["jti"] == "j1"
    _refused(_validator(LEEWAY=0), token, "expired")


def test_the_issuer_setting_replaces_the_authority() -> None:
    token = sign(claims_for("https://issuer.example.com"), rsa_key())
    assert _validator(ISSUER="https://issuer.example.com").validate(token)
    _refused(_validator(), token, "another issuer")


def test_audience_none_is_an_explicit_opt_out() -> None:
    assert _validator(AUDIENCE=None).validate(sign(claims_for(ISSUER, aud="api9"), rsa_key()))
    assert _validator(AUDIENCE=["api9", "x"]).validate(
        sign(claims_for(ISSUER, aud="api9"), rsa_key()))


@pytest.mark.parametrize("typ", [None, "JWT", "at+jwt+x", "id_token"])
def test_a_jwt_that_is_not_an_access_token_is_refused(typ) -> None:
    # typ None: PyJWT leaves the member out
    token = sign(claims_for(ISSUER), rsa_key(), typ=typ)
    if typ is None:
        assert "typ" not in jwt.get_unverified_header(token)
    _refused(_validator(), token, "not a JWT access token")


def test_alg_none_is_refused() -> None:
    token = forge(claims_for(ISSUER), {"alg": "none", "typ": "at+jwt", "kid": "rsa"})
    _refused(_validator(), token, "algorithm is not accepted")


def test_hmac_with_the_published_public_key_as_secret_is_refused() -> None:
    pem = rsa_key().public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    token = forge(claims_for(ISSUER), {"alg": "HS256", "typ": "at+jwt", "kid": "rsa"}, pem)
    _refused(_validator(), token, "algorithm is not accepted")


def test_an_algorithm_outside_the_allowed_list_is_refused() -> None:
    token = sign(claims_for(ISSUER), rsa_key(), algorithm="RS384")
    _refused(_validator(), token, "algorithm is not accepted")


def test_a_key_serves_only_its_own_algorithms() -> None:
    # An RSA key named in a token that claims ES256, and a key whose JWK pins RS256
    token = sign(claims_for(ISSUER), ec_key(), kid="rsa", algorithm="ES256")
    _refused(_validator(), token, "does not serve ES256")
    pinned = _validator([public_jwk(rsa_key(), "rsa", alg="RS256")])
    _refused(pinned, sign(claims_for(ISSUER), rsa_key(), algorithm="PS256"), "does not serve")


def test_a_bad_signature_is_refused() -> None:
    other = rsa_key("other")
    _refused(_validator(), sign(claims_for(ISSUER), other), "signature does not verify")
    token = sign(claims_for(ISSUER), ec_key(), "ec", "ES256")
    head, payload, _ = token.split(".")
    forged_payload = sign(claims_for(ISSUER, sub="mallory"), ec_key(), "ec", "ES256").split(".")[1]
    _refused(_validator(), f"{head}.{forged_payload}.{token.split('.')[2]}", "signature")
    _refused(_validator(), f"{head}.{payload}.AAAA", "signature")


@pytest.mark.parametrize("token", ["a.b.c", "e30.e30.", "W10.e30.e30", "é.b.c", "a.b.c.d.e",
                                   "eyJhbGciOiJSUzI1NiJ9.e30.e30"])
def test_malformed_tokens_are_refused(token) -> None:
    with pytest.raises(_InvalidToken):
        _validator().validate(token)


def test_critical_headers_and_unknown_kids_are_refused() -> None:
    _refused(_validator(), sign(claims_for(ISSUER), rsa_key(), crit=["exp"]), "critical")
    _refused(_validator(), sign(claims_for(ISSUER), rsa_key(), kid="nope"), "unknown")


@pytest.mark.filterwarnings("ignore:The RSA key is 1024 bits")
def test_weak_and_encryption_keys_are_not_used() -> None:
    weak = rsa_key("weak", 1024)
    validator = _validator([public_jwk(weak, "weak"), public_jwk(rsa_key(), "enc", use="enc")])
    _refused(validator, sign(claims_for(ISSUER), weak, "weak"), "unknown")
    _refused(validator, sign(claims_for(ISSUER), rsa_key(), "enc"), "unknown")
