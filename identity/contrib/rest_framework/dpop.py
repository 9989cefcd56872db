"""DPoP proofs (RFC 9449) checked at the resource server: §4.3 and §7.1.

A DPoP-bound access token names a public key in `cnf.jkt` (its RFC 7638 thumbprint); the
client presents it as `Authorization: DPoP <token>` with a `DPoP` header holding a proof: a JWT
it signed, for this request only, with the private half of that key. `verify_proof` checks the
proof against the request and returns its key's thumbprint; the authentication class compares
it with the token's `cnf.jkt`.

The proof carries its own public key (`jwk` in its header), so the signature shows only that
the sender holds *some* key; the thumbprint comparison makes it the token's. Algorithms are
fixed to the asymmetric ones the identity server accepts: a proof signed with 'none' or an HMAC
(perhaps keyed with the public JWK itself) never verifies. A proof is single-use: its `jti`
is remembered in Django's cache, the one store the API's processes share, for as long as its
`iat` would be accepted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import math
import re
import time
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from django.core.cache import caches

from identity.contrib.rest_framework.conf import ResourceServerSettings
from identity.contrib.rest_framework.jwk import Check, _checks_for, b64url

logger = logging.getLogger("identity.contrib.rest_framework")

PROOF_TYPE: Final = "dpop+jwt"
# RFC 9449 §5.1 / the identity server's dpop_signing_alg_values_supported.
DPOP_ALGORITHMS: Final = frozenset({"RS256", "PS256", "ES256"})
# What a JWK may carry only when it is a private (or symmetric) key (RFC 7518 §6.2.2, §6.3.2,
# §6.4.1): a proof whose header holds one of these has leaked its key.
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
# RFC 7638 §3.2: the required members, the only ones the thumbprint hashes.
_THUMBPRINT_MEMBERS: Final[Mapping[str, tuple[str, ...]]] = {
    "RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}
_COMPACT_JWS: Final = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# A proof with an RSA 4096 key is under 3,000 characters; anything much longer is refused
# before it is parsed.
MAX_PROOF_LENGTH: Final = 8192
_UNRESERVED: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                               "0123456789-._~")
_PERCENT: Final = re.compile(r"%([0-9A-Fa-f]{2})")
_DEFAULT_PORTS: Final[Mapping[str, int]] = {"http": 80, "https": 443}


class _InvalidProof(Exception):
    """The DPoP proof is missing, malformed, forged, stale, replayed or not for this request.
    The message is safe to send back as the challenge's error_description."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def access_token_hash(token: str) -> str:
    """Return the `ath` a proof carries for `token`: base64url(SHA-256(token)) (§4.2)."""
    return _b64(hashlib.sha256(token.encode("utf-8")).digest())


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """Return the RFC 7638 SHA-256 thumbprint of an RSA or EC public JWK, base64url: what
    `cnf.jkt` holds (RFC 9449 §6.1). Raise ValueError for another key type or a bad member."""
    members = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None:
        raise ValueError("not an RSA or EC key")
    required = {name: jwk.get(name) for name in members}
    if not all(isinstance(value, str) and value for value in required.values()):
        raise ValueError("a required member is missing")
    canonical = json.dumps(required, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return _b64(hashlib.sha256(canonical.encode("utf-8")).digest())


def _normalize_escape(match: re.Match[str]) -> str:
    character = chr(int(match.group(1), 16))
    return character if character in _UNRESERVED else "%" + match.group(1).upper()


def normalize_url(url: str) -> str | None:
    """Return `url` as `htu` is compared (§4.3 item 9, RFC 3986 §6.2.2 and §6.2.3): scheme and
    host in lower case, the default port left out, an empty path as "/", percent-escapes of
    unreserved characters decoded and the others in upper case, no query or fragment. None
    for what is not an absolute http(s) URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port that is not a number, a bad IPv6 literal
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname  # lower case, without the brackets of an IPv6 literal
    if scheme not in _DEFAULT_PORTS or not host or parts.username is not None:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    path = _PERCENT.sub(_normalize_escape, parts.path) or "/"
    return f"{scheme}://{host}{path}"


def _load_json(encoded: str) -> Any:
    try:
        return json.loads(b64url(encoded))
    except (ValueError, RecursionError):  # bad base64, bad JSON, non-ASCII, too deep
        raise _InvalidProof("the DPoP proof is malformed") from None


def _proof_key(header: Mapping[str, Any], algorithm: str) -> tuple[Check, str]:
    """Return the signature check of the proof's `jwk` for `algorithm` and the key's
    thumbprint; raise _InvalidProof for a key that is private, symmetric or unreadable."""
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        raise _InvalidProof("the DPoP proof has no jwk")
    if _PRIVATE_MEMBERS & set(jwk):
        raise _InvalidProof("the DPoP proof's jwk holds a private key")
    try:
        thumbprint = jwk_thumbprint(jwk)
        # jwk.py builds the public key and refuses a small RSA key or a point off its curve.
        check = _checks_for(jwk, frozenset({algorithm})).get(algorithm)
    except (ValueError, KeyError, TypeError):
        raise _InvalidProof("the DPoP proof's jwk is not a usable public key") from None
    if check is None:
        raise _InvalidProof(f"the DPoP proof's jwk does not serve {algorithm}")
    return check, thumbprint


def _number(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    try:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(name)
        number = float(value)  # an int of 400 digits overflows: the signer chose it
    except (ValueError, OverflowError):
        raise _InvalidProof(f"the DPoP proof's {name} is not a number") from None
    if not math.isfinite(number):
        raise _InvalidProof(f"the DPoP proof's {name} is not a number")
    return number


def _replay_key(thumbprint: str, jti: str) -> str:
    # Per key, so that one client's jti never blocks another's; hashed, so that the cache
    # never holds what the client chose.
    digest = hashlib.sha256(f"{thumbprint} {jti}".encode()).hexdigest()
    return f"identity.contrib.rest_framework:dpop-jti:{digest}"


def _remember(settings: ResourceServerSettings, thumbprint: str, jti: str, issued: float,
              now: float) -> None:
    """Record the proof as used until its `iat` leaves the window; raise _InvalidProof when
    it already was (a replay) or the cache cannot say (single use cannot be shown)."""
    seconds = math.ceil(issued + settings.dpop_proof_lifetime + settings.dpop_clock_skew - now)
    try:
        added = caches[settings.cache_alias].add(_replay_key(thumbprint, jti), True,
                                                 max(seconds, 0) + 1)
    except Exception as err:  # a proof whose freshness cannot be shown is not accepted
        logger.error("Could not record a DPoP proof as used: %s", err)
        raise _InvalidProof("the DPoP proof could not be checked") from None
    if not added:
        raise _InvalidProof("the DPoP proof was used before")


def verify_proof(proof: str | None, *, method: str, url: str, access_token: str,
                 settings: ResourceServerSettings, now: float | None = None) -> str:
    """Check the `DPoP` header value `proof` for a request of `method` to `url` (absolute; its
    query is ignored) carrying `access_token`, and record its `jti`; return the thumbprint of
    the proof's key. Raise _InvalidProof, whose message says what is wrong."""
    if not proof or not proof.strip():
        raise _InvalidProof("the request has no DPoP proof")
    proof = proof.strip()
    if "," in proof:  # a server joins repeated headers with commas (RFC 9110 §5.3)
        raise _InvalidProof("the request has more than one DPoP proof")
    if len(proof) > MAX_PROOF_LENGTH or not _COMPACT_JWS.fullmatch(proof):
        raise _InvalidProof("the DPoP proof is not a signed JWT")
    encoded_header, encoded_payload, encoded_signature = proof.split(".")
    header = _load_json(encoded_header)
    if not isinstance(header, dict):
        raise _InvalidProof("the DPoP proof is malformed")
    token_type = header.get("typ")
    if not isinstance(token_type, str) or token_type.lower() != PROOF_TYPE:
        raise _InvalidProof("the DPoP proof's typ is not dpop+jwt")
    algorithm = header.get("alg")
    if algorithm not in DPOP_ALGORITHMS:
        raise _InvalidProof("the DPoP proof's signing algorithm is not accepted")
    if "crit" in header:
        raise _InvalidProof("the DPoP proof has critical header parameters")
    check, thumbprint = _proof_key(header, algorithm)
    try:
        signature = b64url(encoded_signature)
    except ValueError:
        raise _InvalidProof("the DPoP proof is malformed") from None
    signed = f"{encoded_header}.{encoded_payload}".encode("ascii")
    if not check(signature, signed):
        raise _InvalidProof("the DPoP proof's signature does not verify")
    claims = _load_json(encoded_payload)
    if not isinstance(claims, dict):
        raise _InvalidProof("the DPoP proof is malformed")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise _InvalidProof("the DPoP proof has no jti")
    if claims.get("htm") != method:
        raise _InvalidProof("the DPoP proof's htm is not the request's method")
    htu = claims.get("htu")
    expected = normalize_url(url)
    if not isinstance(htu, str) or expected is None or normalize_url(htu) != expected:
        raise _InvalidProof("the DPoP proof's htu is not the request's URL")
    now = time.time() if now is None else now
    issued = _number(claims, "iat")
    if issued > now + settings.dpop_clock_skew:
        raise _InvalidProof("the DPoP proof was issued in the future")
    if issued < now - settings.dpop_proof_lifetime - settings.dpop_clock_skew:
        raise _InvalidProof("the DPoP proof has expired")
    ath = claims.get("ath")
    if not isinstance(ath, str) or not hmac.compare_digest(
            ath.encode("utf-8"), access_token_hash(access_token).encode("ascii")):
        raise _InvalidProof("the DPoP proof's ath is not the access token's hash")
    _remember(settings, thumbprint, jti, issued, now)
    return thumbprint
