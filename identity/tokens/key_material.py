"""Key generation, encryption at rest, and public JWKs (RFC 7517, RFC 7638 thumbprints)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, Final

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from identity.errors import KeyDecryptionError as KeyDecryptionError  # importable from here too

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
_CURVES: Final = {"ES256": (ec.SECP256R1, "P-256"), "ES384": (ec.SECP384R1, "P-384"),
                  "ES512": (ec.SECP521R1, "P-521")}
SUPPORTED: Final = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", *_CURVES})




def generate_private_key(algorithm: str) -> PrivateKey:
    """Create a key for `algorithm`: RSA-2048 for RS*/PS*, the matching curve for ES*."""
    if algorithm in _CURVES:
        return ec.generate_private_key(_CURVES[algorithm][0]())
    if algorithm in SUPPORTED:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(f"unsupported signing algorithm {algorithm!r}")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int(value: int, size: int | None = None) -> str:
    return _b64(value.to_bytes(size or (value.bit_length() + 7) // 8, "big"))


def public_jwk(key: PrivateKey, algorithm: str) -> dict[str, Any]:
    """Return the public JWK with `kid` (its RFC 7638 thumbprint), `use` and `alg`."""
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.public_key().public_numbers()
        members = {"e": _int(numbers.e), "kty": "RSA", "n": _int(numbers.n)}
    else:
        point = key.public_key().public_numbers()
        size = (key.curve.key_size + 7) // 8
        members = {"crv": _CURVES[algorithm][1], "kty": "EC", "x": _int(point.x, size),
                   "y": _int(point.y, size)}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    kid = _b64(hashlib.sha256(canonical).digest())
    return {**members, "kid": kid, "use": "sig", "alg": algorithm}


def _fernet(secret: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"identity.signing-keys",
                   info=b"fernet-v1").derive(secret.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt_private_key(key: PrivateKey, secret: str) -> str:
    """Serialise the private key as PKCS#8 PEM and encrypt it with a key derived from `secret`."""
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return _fernet(secret).encrypt(pem).decode("ascii")


def decrypt_private_key(token: str, secret: str) -> PrivateKey:
    """Decrypt and load a stored private key, or raise KeyDecryptionError."""
    try:
        pem = _fernet(secret).decrypt(token.encode("ascii"))
    except (InvalidToken, ValueError):
        raise KeyDecryptionError("the signing key cannot be decrypted; was SECRET_KEY or "
                                 "KEY_ENCRYPTION_SECRET changed?") from None
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise KeyDecryptionError("unexpected key type")
    return key
