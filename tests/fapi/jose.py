"""Keys, client assertions, request objects and DPoP proofs made with joserfc, a JOSE library
this project did not write, so that the server is checked against an independent encoder."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ISSUER = "http://testserver"
TOKEN_URL = ISSUER + "/connect/token"
PAR_URL = ISSUER + "/connect/par"
USERINFO_URL = ISSUER + "/connect/userinfo"
AnyKey = RSAKey | ECKey


def rsa_key(kid: str | None = None) -> RSAKey:
    """A new RSA 2048 key pair."""
    return RSAKey.generate_key(2048, parameters={"kid": kid} if kid else None)


def ec_key(kid: str | None = None) -> ECKey:
    """A new P-256 key pair."""
    return ECKey.generate_key("P-256", parameters={"kid": kid} if kid else None)


def public_jwk(key: AnyKey) -> dict[str, Any]:
    """The public JWK, as a client registers it."""
    return key.as_dict(private=False)


def jwk_secret(key: AnyKey, **overrides: Any) -> Any:
    """A client secret of type JWK holding the key's public half (IdentityServer's form)."""
    from identity.domain.client import Secret

    return Secret(value=json.dumps(public_jwk(key)), type="JWK", **overrides)


def sign(claims: dict[str, Any], key: AnyKey, alg: str, **header: Any) -> str:
    """A compact JWS of `claims` signed by `key` with `alg`, `kid` added when the key has one."""
    head: dict[str, Any] = {"alg": alg, **header}
    if key.kid and "kid" not in head:
        head["kid"] = key.kid
    return jwt.encode(head, claims, key, algorithms=[alg])


def assertion(client_id: str, key: AnyKey, alg: str = "RS256", *, aud: Any = ISSUER,
              lifetime: int = 60, **claims: Any) -> str:
    """A private_key_jwt client assertion (RFC 7523 §3), claims overridable (None drops one)."""
    now = int(time.time())
    body: dict[str, Any] = {"iss": client_id, "sub": client_id, "aud": aud,
                            "jti": secrets.token_urlsafe(16), "iat": now, "exp": now + lifetime}
    body.update(claims)
    return sign({k: v for k, v in body.items() if v is not None}, key, alg)


def assertion_form(client_id: str, key: AnyKey, alg: str = "RS256", **claims: Any
                   ) -> dict[str, str]:
    """The form members that authenticate with private_key_jwt."""
    return {"client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion(client_id, key, alg, **claims)}


def unsigned(claims: dict[str, Any], **header: Any) -> str:
    """A JWT with alg none (RFC 7519 §6): what the server must refuse."""
    return (_b64(json.dumps({"alg": "none", **header}).encode()) + "."
            + _b64(json.dumps(claims).encode()) + ".")


def hmac_with_public_key(claims: dict[str, Any], key: AnyKey, **header: Any) -> str:
    """An HS256 JWT whose HMAC secret is the public JWK's JSON: the key-confusion attack."""
    head = _b64(json.dumps({"alg": "HS256", **header}).encode())
    body = _b64(json.dumps(claims).encode())
    secret = json.dumps(public_jwk(key)).encode()
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(mac)}"


def dpop_proof(key: AnyKey, htm: str, htu: str, *, alg: str | None = None,
               access_token: str | None = None, nonce: str | None = None,
               iat: int | None = None, jti: str | None = None, typ: str = "dpop+jwt",
               **claims: Any) -> str:
    """A DPoP proof (RFC 9449 §4.2) for one request; `access_token` adds `ath`."""
    alg = alg or ("ES256" if isinstance(key, ECKey) else "PS256")
    body: dict[str, Any] = {"jti": jti or secrets.token_urlsafe(16), "htm": htm, "htu": htu,
                            "iat": int(time.time()) if iat is None else iat}
    if access_token is not None:
        body["ath"] = _b64(hashlib.sha256(access_token.encode()).digest())
    if nonce is not None:
        body["nonce"] = nonce
    body.update(claims)
    header = {"alg": alg, "typ": typ, "jwk": public_jwk(key)}
    return jwt.encode(header, {k: v for k, v in body.items() if v is not None}, key,
                      algorithms=[alg])


def thumbprint(key: AnyKey) -> str:
    """The RFC 7638 SHA-256 thumbprint, base64url: what `cnf.jkt` and `dpop_jkt` carry."""
    return key.thumbprint()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
