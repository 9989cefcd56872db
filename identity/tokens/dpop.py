"""DPoP proofs: a JWT signed by the key in its own header, for one HTTP request.

Spec: RFC 9449 §4.2 (the proof), §4.3 (checking it: typ, alg, jwk, htm, htu, iat, jti, ath,
nonce), §6.1 (`jkt`: the RFC 7638 thumbprint of the key). The single use of `jti` and the nonces
are the caller's: they need the shared store and the server secret.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit, urlunsplit

from identity.errors import InvalidDPoPProof, JwsError
from identity.tokens.client_keys import verify_embedded
from identity.validation.jwk import CLIENT_ALGORITHMS

PROOF_TYPE: Final = "dpop+jwt"
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class DPoPProof:
    """A proof that checked out: the key's thumbprint, the proof's jti and iat, its nonce."""

    jkt: str
    jti: str
    iat: int
    nonce: str | None = None


def check_proof(proof: str, *, method: str, urls: frozenset[str], now: float, lifetime: int,
                skew: int, access_token: str | None = None, resource: bool = False,
                algorithms: Iterable[str] = CLIENT_ALGORITHMS) -> DPoPProof:
    """Check a proof for a request (`method`, one of `urls`); raise InvalidDPoPProof.

    Accepted when its iat lies in [now - lifetime - skew, now + skew]; with an `access_token`,
    `ath` must be its hash (§4.3 point 11).
    """

    def bad(reason: str) -> InvalidDPoPProof:
        return InvalidDPoPProof("the DPoP proof is invalid", detail=reason, resource=resource)

    try:
        header, claims, key = verify_embedded(proof, algorithms)
    except JwsError as err:
        raise bad(str(err)) from None
    if str(header.get("typ", "")).lower() != PROOF_TYPE:
        raise bad("typ must be dpop+jwt")
    jti, iat = claims.get("jti"), claims.get("iat")
    if not isinstance(jti, str) or not jti or len(jti) > 256:
        raise bad("jti is required")
    if claims.get("htm") != method:
        raise bad(f"htm must be {method}")
    htu = claims.get("htu")
    if not isinstance(htu, str) or normalized_url(htu) not in {normalized_url(u) for u in urls}:
        raise bad("htu is not this endpoint's URL")
    if not isinstance(iat, int | float) or isinstance(iat, bool):
        raise bad("iat is required")
    if not now - lifetime - skew <= iat <= now + skew:  # NaN and infinities fail here too
        raise bad("iat is outside the accepted window")
    if access_token is not None and claims.get("ath") != access_token_hash(access_token):
        raise bad("ath does not match the access token")
    nonce = claims.get("nonce")
    return DPoPProof(jkt=key.thumbprint, jti=jti, iat=int(iat),
                     nonce=nonce if isinstance(nonce, str) else None)


def access_token_hash(token: str) -> str:
    """Return `ath`: base64url of the SHA-256 of the access token (RFC 9449 §4.2)."""
    digest = hashlib.sha256(token.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def normalized_url(url: str) -> str:
    """The URL without query and fragment, scheme and host in lower case, the default port
    dropped (RFC 9449 §4.3 point 9; RFC 3986 §6.2.2-6.2.3)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path or "/", "", ""))

