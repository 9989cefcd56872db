"""Verify compact JWS tokens signed by our keys, without PyJWT's per-character decoding.

Spec: RFC 7515 §5.2 (validation), RFC 7518 §3.3-3.5 (RS, ES, PS). Only the algorithms of our own
keys are accepted, `alg` must match the key named by `kid`, and `crit` is refused (§4.1.11), so
`none`, HMAC with a public key, and embedded keys never verify.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from identity.errors import JwsError as JwsError  # importable from here too

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
_SEGMENT: Final = re.compile(r"[A-Za-z0-9_-]*")
_HASHES: Final[dict[str, Callable[[], hashes.HashAlgorithm]]] = {
    "256": hashes.SHA256, "384": hashes.SHA384, "512": hashes.SHA512}




def _b64(segment: str) -> bytes:
    if not _SEGMENT.fullmatch(segment):
        raise JwsError("not base64url")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise JwsError("not base64url") from None


def _json(segment: str) -> dict[str, Any]:
    try:
        value = json.loads(_b64(segment))
    except (UnicodeDecodeError, ValueError, RecursionError):  # deep nesting: not a JOSE header
        raise JwsError("not JSON") from None
    if not isinstance(value, dict):
        raise JwsError("not a JSON object")
    return value


def unverified_header(token: str) -> dict[str, Any]:
    """Return the JOSE header of a compact JWS, unverified."""
    parts = token.split(".")
    if len(parts) != 3:
        raise JwsError("not a compact JWS")
    return _json(parts[0])


def verify(token: str, keys: dict[str, tuple[str, PublicKey]]) -> tuple[dict[str, Any],
                                                                      dict[str, Any]]:
    """Return (header, claims) when a key of `keys` (kid -> (alg, key)) signed the token."""
    header, payload, signed, signature = split(token)
    entry = keys.get(str(header.get("kid")))
    if entry is None or header.get("alg") != entry[0]:
        raise JwsError("not signed by a key of this server")
    check_signature(entry[0], entry[1], signed, signature)
    return header, _json(payload)


def split(token: str) -> tuple[dict[str, Any], str, bytes, bytes]:
    """Return the header, the payload segment, the signing input and the signature of a
    compact JWS; `crit` is refused (RFC 7515 §4.1.11)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise JwsError("not a compact JWS")
    header = _json(parts[0])
    if "crit" in header:
        raise JwsError("critical header parameters are not supported")
    signature = _b64(parts[2])
    if not _SEGMENT.fullmatch(parts[1]):  # the signing input must be ASCII (RFC 7515 §5.2)
        raise JwsError("not base64url")
    return header, parts[1], f"{parts[0]}.{parts[1]}".encode("ascii"), signature


def payload_json(segment: str) -> dict[str, Any]:
    """Decode a payload segment of `split` as a JSON object."""
    return _json(segment)


def check_signature(algorithm: str, key: PublicKey, signed: bytes, signature: bytes) -> None:
    """Raise JwsError unless `signature` is `key`'s RS/PS/ES signature of `signed`."""
    digest = _HASHES.get(algorithm[-3:], hashes.SHA256)()
    try:
        if algorithm.startswith("RS") and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed, padding.PKCS1v15(), digest)
        elif algorithm.startswith("PS") and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed, padding.PSS(padding.MGF1(digest),
                                                      digest.digest_size), digest)
        elif algorithm.startswith("ES") and isinstance(key, ec.EllipticCurvePublicKey):
            size = (key.curve.key_size + 7) // 8
            if len(signature) != 2 * size:
                raise JwsError("bad signature length")
            der = encode_dss_signature(int.from_bytes(signature[:size], "big"),
                                       int.from_bytes(signature[size:], "big"))
            key.verify(der, signed, ec.ECDSA(digest))
        else:
            raise JwsError("unsupported algorithm")
    except InvalidSignature:
        raise JwsError("bad signature") from None
