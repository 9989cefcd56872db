"""Ceilings for the token endpoint: what Django alone, and Django plus one JWT signature, cost.

(a) `django_ceiling` answers a small JSON body and does nothing else. (b) `rs256_ceiling` and
`es256_ceiling` also sign a JWT with PyJWT, with a key loaded once at import, with the claim set
and header of our access tokens (same names, same sizes for the same issuer and client; the
issuer found as the token endpoint finds it, with identity.http.issuer.get_issuer). (c)
`rs256_ceiling_mget` and `es256_ceiling_mget` first make the shared-cache read of a token
request (a `get_many` of as many keys, through Django's cache, which bench/production.py points
at Redis; once warm, the backend answers it from the worker's tracked copies, as it answers a
token request's), so that a run can tell the read's cost from the rest of a token request's. All are
csrf_exempt POST views, so that the benchmark's wrk script hits them as it hits /connect/token,
and the benchmark settings keep the Accept-Language negotiation off them, as off the protocol
endpoints (bench.middleware).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from identity.http.issuer import get_issuer

CLIENT_ID = "bench.client"
AUDIENCE = "api1"
SCOPE = "api1"
LIFETIME = 3600
TOKEN_TYPE = "at+jwt"

# As many keys, of the same length, as a token request's MGET: the two failure counters, the
# client's and the resources' stamps, the configuration generation's mirror
# (identity.http.client_authentication._prefetch). None is set: Redis answers five nils, where a
# token request usually finds three small values.
MGET_KEYS = [f"bench:ceiling:{name}:{'0' * 40}"
             for name in ("pair", "address", "client-stamp", "resources-stamp", "generation")]

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _load(key: PrivateKey) -> PrivateKey:
    """Round-trip a fresh key through PKCS#8 PEM, as a key read from storage would be."""
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    loaded = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey)
    return loaded


def _kid(key: PrivateKey) -> str:
    """Return the RFC 7638 thumbprint, the same kind (and length) of kid as ours."""
    if isinstance(key, rsa.RSAPrivateKey):
        rsa_numbers = key.public_key().public_numbers()
        members = {"e": _b64(rsa_numbers.e.to_bytes(3, "big")), "kty": "RSA",
                   "n": _b64(rsa_numbers.n.to_bytes(256, "big"))}
    else:
        point = key.public_key().public_numbers()
        members = {"crv": "P-256", "kty": "EC", "x": _b64(point.x.to_bytes(32, "big")),
                   "y": _b64(point.y.to_bytes(32, "big"))}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return _b64(hashlib.sha256(canonical).digest())


RSA_KEY = _load(rsa.generate_private_key(public_exponent=65537, key_size=2048))
EC_KEY = _load(ec.generate_private_key(ec.SECP256R1()))
RSA_KID = _kid(RSA_KEY)
EC_KID = _kid(EC_KEY)


def _respond(body: dict[str, Any]) -> HttpResponse:
    response = HttpResponse(json.dumps(body, separators=(",", ":")),
                            content_type="application/json")
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


def _signed(request: HttpRequest, key: PrivateKey, algorithm: str, kid: str) -> HttpResponse:
    now = int(time.time())
    claims = {
        "iss": get_issuer(request),
        "exp": now + LIFETIME,
        "iat": now,
        "nbf": now,
        "aud": AUDIENCE,
        "sub": CLIENT_ID,
        "client_id": CLIENT_ID,
        "scope": SCOPE,
        "jti": secrets.token_hex(16),
    }
    token = jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid, "typ": TOKEN_TYPE})
    return _respond({"access_token": token, "token_type": "Bearer", "expires_in": LIFETIME,
                     "scope": SCOPE})


@csrf_exempt
@require_POST
def django_ceiling(request: HttpRequest) -> HttpResponse:
    """(a) The framework ceiling: a small JSON body, nothing computed."""
    return _respond({"access_token": "ceiling", "token_type": "Bearer", "expires_in": LIFETIME,
                     "scope": SCOPE})


@csrf_exempt
@require_POST
def rs256_ceiling(request: HttpRequest) -> HttpResponse:
    """(b) The signing ceiling for RS256 (RSA-2048)."""
    return _signed(request, RSA_KEY, "RS256", RSA_KID)


@csrf_exempt
@require_POST
def es256_ceiling(request: HttpRequest) -> HttpResponse:
    """(b) The signing ceiling for ES256 (P-256)."""
    return _signed(request, EC_KEY, "ES256", EC_KID)


@csrf_exempt
@require_POST
def rs256_ceiling_mget(request: HttpRequest) -> HttpResponse:
    """(c) The RS256 ceiling after a token request's shared-cache read."""
    caches["default"].get_many(MGET_KEYS)
    return _signed(request, RSA_KEY, "RS256", RSA_KID)


@csrf_exempt
@require_POST
def es256_ceiling_mget(request: HttpRequest) -> HttpResponse:
    """(c) The ES256 ceiling after a token request's shared-cache read."""
    caches["default"].get_many(MGET_KEYS)
    return _signed(request, EC_KEY, "ES256", EC_KID)
