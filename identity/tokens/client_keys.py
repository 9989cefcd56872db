"""JWS signed by a client: checked against its keys, or against the key in its own header.

Used for client assertions (RFC 7523), request objects (RFC 9101) and DPoP proofs (RFC 9449).
Only asymmetric signatures verify: `alg` must be one of the accepted algorithms and match the
key's type, so `none`, HMAC with a public key as the secret, and keys of the wrong kind fail.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from identity.errors import JwsError
from identity.tokens.jws import check_signature, payload_json, split
from identity.validation.jwk import CLIENT_ALGORITHMS, ClientKey, parse_jwk


def verify_with(token: str, keys: Iterable[ClientKey],
                algorithms: Iterable[str] = CLIENT_ALGORITHMS
                ) -> tuple[dict[str, Any], dict[str, Any], ClientKey]:
    """Return (header, claims, key) when one of `keys` signed the compact JWS `token`.

    A `kid` in the header selects the keys with that kid; without one, every key of the right
    type is tried (clients with one key often leave kid out).
    """
    header, payload, signed, signature = split(token)
    algorithm = header.get("alg")
    if algorithm not in tuple(algorithms):
        raise JwsError(f"alg {algorithm!r} is not accepted")
    kid = header.get("kid")
    candidates = [k for k in keys if k.accepts(algorithm)
                  and (kid is None or k.kid is None or k.kid == kid)]
    if kid is not None and any(k.kid == kid for k in candidates):
        candidates = [k for k in candidates if k.kid == kid]
    for candidate in candidates:
        try:
            check_signature(algorithm, candidate.key, signed, signature)
        except JwsError:
            continue
        return header, payload_json(payload), candidate
    raise JwsError("not signed by a key of the client")


def unverified_kid(token: str) -> str | None:
    """Return the `kid` a JWS header names, unverified (to pick or fetch keys), or None."""
    try:
        kid = split(token)[0].get("kid")
    except JwsError:
        return None
    return kid if isinstance(kid, str) else None


def verify_embedded(token: str, algorithms: Iterable[str] = CLIENT_ALGORITHMS
                    ) -> tuple[dict[str, Any], dict[str, Any], ClientKey]:
    """Return (header, claims, key) of a JWS signed by the public JWK in its own `jwk` header
    (DPoP proofs, RFC 9449 §4.2)."""
    header, _, _, _ = split(token)
    jwk = header.get("jwk")
    if not isinstance(jwk, Mapping):
        raise JwsError("the header has no jwk")
    try:
        key = parse_jwk(jwk)
    except ValueError as err:
        raise JwsError(str(err)) from None
    return verify_with(token, [ClientKey(key.key, key.thumbprint)], algorithms)
