"""Clients' public keys: JWKs read (RFC 7517 §6.2-6.3, public RSA and P-256 keys only) and their
RFC 7638 thumbprints. Signatures are checked with them by `identity.tokens.client_keys`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric import ec, rsa

# FAPI 2.0 §5.4 allows PS256, ES256 and EdDSA; RS256 stays for the clients of RFC 7523 and OIDC.
CLIENT_ALGORITHMS: Final = ("RS256", "PS256", "ES256")
_CURVES: Final = {"P-256": ec.SECP256R1}
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_MIN_RSA_BITS: Final = 2048
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey


@dataclass(frozen=True, slots=True)
class ClientKey:
    """A client's public key: its `kid` (if any), `alg` (if pinned) and RFC 7638 thumbprint."""

    key: PublicKey
    thumbprint: str
    kid: str | None = None
    alg: str | None = None

    def accepts(self, algorithm: str) -> bool:
        """Tell whether `algorithm` may be verified with this key."""
        if self.alg is not None and self.alg != algorithm:
            return False
        if algorithm.startswith(("RS", "PS")):
            return isinstance(self.key, rsa.RSAPublicKey)
        return isinstance(self.key, ec.EllipticCurvePublicKey)


def parse_jwk(value: str | Mapping[str, Any]) -> ClientKey:
    """Read a public RSA or P-256 JWK (a JSON string or an object); raise ValueError."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise ValueError("the JWK is not JSON") from None
    if not isinstance(value, Mapping):
        raise ValueError("the JWK is not a JSON object")
    jwk = dict(value)
    if _PRIVATE_MEMBERS & set(jwk):
        raise ValueError("the JWK holds private or symmetric key material; give the public "
                         "key only")
    kty = jwk.get("kty")
    if kty == "RSA":
        members = {"e": _member(jwk, "e"), "kty": "RSA", "n": _member(jwk, "n")}
        key: PublicKey = rsa.RSAPublicNumbers(_int(members["e"]), _int(members["n"])
                                              ).public_key()
        if key.key_size < _MIN_RSA_BITS:
            raise ValueError(f"RSA keys must have at least {_MIN_RSA_BITS} bits")
    elif kty == "EC":
        crv = jwk.get("crv")
        if crv not in _CURVES:
            raise ValueError("EC keys must be on P-256")
        members = {"crv": str(crv), "kty": "EC", "x": _member(jwk, "x"), "y": _member(jwk, "y")}
        try:
            key = ec.EllipticCurvePublicNumbers(_int(members["x"]), _int(members["y"]),
                                                _CURVES[str(crv)]()).public_key()
        except ValueError:
            raise ValueError("the EC point is not on the curve") from None
    else:
        raise ValueError("kty must be RSA or EC")
    alg = jwk.get("alg")
    if alg is not None and alg not in CLIENT_ALGORITHMS:
        raise ValueError(f"alg must be one of {', '.join(CLIENT_ALGORITHMS)}")
    kid = jwk.get("kid")
    return ClientKey(key=key, thumbprint=thumbprint(members),
                     kid=str(kid) if kid is not None else None,
                     alg=str(alg) if alg is not None else None)


def thumbprint(members: Mapping[str, str]) -> str:
    """Return the RFC 7638 SHA-256 thumbprint (base64url) of a JWK's required members."""
    canonical = json.dumps(dict(sorted(members.items())), separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _member(jwk: Mapping[str, Any], name: str) -> str:
    value = jwk.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"the JWK has no {name!r}")
    return value


def _int(value: str) -> int:
    if not all(c.isalnum() or c in "-_" for c in value):
        raise ValueError("JWK members are base64url")
    try:
        return int.from_bytes(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)), "big")
    except (binascii.Error, ValueError):
        raise ValueError("JWK members are base64url") from None
