"""Published keys (RFC 7517) turned into ready-made signature checks, once per fetch.

Building a public key from its JWK members, and the padding and hash objects an algorithm
needs, costs more than verifying one signature; doing it when the key set arrives leaves a
request one dictionary look-up and one `verify` call. The checks call cryptography directly:
the algorithm comes from our allowed list, never from the key or the token alone, and a key
serves only the algorithms of its type and curve (RFC 7518 §3).
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

logger = logging.getLogger("identity.contrib.rest_framework")

# A check takes the signature and the signing input and says whether they match.
Check = Callable[[bytes, bytes], bool]

_HASHES: Final[Mapping[str, type[hashes.HashAlgorithm]]] = {
    "256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}
_CURVES: Final[Mapping[str, tuple[ec.EllipticCurve, str, int]]] = {
    # crv: (curve, the one algorithm it serves, bytes of r and of s)
    "P-256": (ec.SECP256R1(), "ES256", 32),
    "P-384": (ec.SECP384R1(), "ES384", 48),
    "P-521": (ec.SECP521R1(), "ES512", 66),
}
MIN_RSA_BITS: Final = 2048


def b64url(text: str) -> bytes:
    """Decode unpadded base64url (RFC 7515 §2)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _rsa_check(key: rsa.RSAPublicKey, algorithm: str) -> Check:
    digest = _HASHES[algorithm[2:]]()
    pad: padding.AsymmetricPadding = (
        padding.PKCS1v15() if algorithm.startswith("RS")
        # RFC 7518 §3.5: MGF1 with the same hash, a salt as long as the hash.
        else padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size))

    def check(signature: bytes, signed: bytes) -> bool:
        try:
            key.verify(signature, signed, pad, digest)
        except InvalidSignature:
            return False
        return True

    return check


def _ec_check(key: ec.EllipticCurvePublicKey, algorithm: str, size: int) -> Check:
    signer = ec.ECDSA(_HASHES[algorithm[2:]]())

    def check(signature: bytes, signed: bytes) -> bool:
        # JWS carries r and s as fixed-size big-endian integers (RFC 7518 §3.4), cryptography
        # wants DER.
        if len(signature) != 2 * size:
            return False
        der = encode_dss_signature(int.from_bytes(signature[:size], "big"),
                                   int.from_bytes(signature[size:], "big"))
        try:
            key.verify(der, signed, signer)
        except InvalidSignature:
            return False
        return True

    return check


def _checks_for(jwk: Mapping[str, Any], allowed: frozenset[str]) -> dict[str, Check]:
    """Return a check per allowed algorithm this key serves; raise ValueError (or KeyError,
    TypeError) for a key that cannot be read."""
    wanted = jwk.get("alg")
    kty = jwk.get("kty")
    if kty == "RSA":
        key = rsa.RSAPublicNumbers(int.from_bytes(b64url(jwk["e"]), "big"),
                                   int.from_bytes(b64url(jwk["n"]), "big")).public_key()
        if key.key_size < MIN_RSA_BITS:
            raise ValueError(f"an RSA key of {key.key_size} bits is too small")
        names = [a for a in sorted(allowed) if a[:2] in ("RS", "PS")]
        return {a: _rsa_check(key, a) for a in names if wanted in (None, a)}
    if kty == "EC":
        curve, algorithm, size = _CURVES[jwk["crv"]]
        x, y = b64url(jwk["x"]), b64url(jwk["y"])
        if len(x) != size or len(y) != size:
            raise ValueError("EC coordinates of the wrong length")
        point = ec.EllipticCurvePublicKey.from_encoded_point(curve, b"\x04" + x + y)
        if algorithm in allowed and wanted in (None, algorithm):
            return {algorithm: _ec_check(point, algorithm, size)}
        return {}
    return {}  # symmetric ("oct") and unknown key types never verify anything here


def build_checks(keys: Iterable[object],
                 allowed: frozenset[str]) -> dict[tuple[str | None, str], Check]:
    """Return the checks of a JWKS's `keys` by (kid, algorithm). Keys meant for encryption,
    unreadable ones and ones for algorithms not allowed are left out (and logged): one bad key
    must not take the others down."""
    checks: dict[tuple[str | None, str], Check] = {}
    for jwk in keys:
        if not isinstance(jwk, Mapping):
            continue
        if jwk.get("use", "sig") != "sig":
            continue
        ops = jwk.get("key_ops")
        if isinstance(ops, list) and "verify" not in ops:
            continue
        kid = jwk.get("kid")
        if kid is not None and not isinstance(kid, str):
            continue
        try:
            found = _checks_for(jwk, allowed)
        except (ValueError, KeyError, TypeError) as err:
            logger.warning("Skipping the published key %r: %s", kid, err)
            continue
        for algorithm, check in found.items():
            checks[(kid, algorithm)] = check
    return checks
