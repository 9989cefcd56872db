"""DPoP at this server's endpoints: the proof of a request, its single use, server nonces, and
the sender check of a DPoP-bound access token.

Spec: RFC 9449 §4.3 (checking a proof), §5 (token requests), §7 (resources: the DPoP scheme,
`ath`, a bound token never accepted as a bearer token), §8-9 (nonces). Nonces are stateless: a
timestamp and its HMAC under SECRET_KEY, so that every process and host accepts the nonces of
the others.
"""

from __future__ import annotations

import base64
import hmac
import math

from django.http import HttpRequest
from django.utils.crypto import salted_hmac

from identity import clock
from identity.conf import identity_settings
from identity.constants import DPoPTokenExpirationValidationMode
from identity.domain.client import Client
from identity.errors import DPoPBoundToken, InvalidDPoPProof, UseDPoPNonce
from identity.grants.lookup import FoundToken
from identity.http import replay
from identity.http.client_jwks import accepted_algorithms
from identity.http.issuer import get_issuer
from identity.tokens.dpop import DPoPProof, check_proof

_NONCE_SALT = "identity.dpop.nonce"


def request_proof(http: HttpRequest, client: Client | None, *, access_token: str | None = None,
                  resource: bool = False) -> DPoPProof | None:
    """Return the checked proof of this request, None when it carries none; raise
    InvalidDPoPProof or UseDPoPNonce."""
    header = http.META.get("HTTP_DPOP")  # META: cheaper than building .headers
    if header is None:
        return None
    now = clock.now().timestamp()
    lifetime = identity_settings.DPOP_PROOF_LIFETIME
    skew = client.dpop_clock_skew if client is not None else 0
    urls = frozenset({get_issuer(http) + http.path, http.build_absolute_uri(http.path)})
    proof = check_proof(header.strip(), method=http.method or "", urls=urls, now=now,
                        lifetime=lifetime, skew=skew, access_token=access_token,
                        resource=resource, algorithms=accepted_algorithms())
    wants_nonce = client is not None and bool(
        client.dpop_validation_mode & DPoPTokenExpirationValidationMode.Nonce)
    if wants_nonce and not nonce_is_current(proof.nonce, now):
        raise UseDPoPNonce(new_nonce(now), resource=resource)
    if not replay.first_use("dpop", f"{proof.jkt}\x00{proof.jti}",
                            math.ceil(now + lifetime + 2 * skew)):
        raise InvalidDPoPProof("the DPoP proof is invalid", detail="jti already used",
                               resource=resource)
    return proof


def new_nonce(now: float) -> str:
    """Return a nonce for DPoP-Nonce: the time it was made and its HMAC."""
    stamp = str(int(now))
    mac = salted_hmac(_NONCE_SALT, stamp, algorithm="sha256").digest()[:16]
    return f"{stamp}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def nonce_is_current(nonce: str | None, now: float) -> bool:
    """Tell whether `nonce` was made by a process of this server within DPOP_NONCE_LIFETIME."""
    if not nonce:
        return False
    stamp, _, mac = nonce.partition(".")
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        return False
    expected = new_nonce(int(stamp)).partition(".")[2]
    if not hmac.compare_digest(mac, expected):
        return False
    return int(stamp) <= now + 1 and now - int(stamp) <= identity_settings.DPOP_NONCE_LIFETIME


def bound_key(found: FoundToken) -> str | None:
    """Return the DPoP key thumbprint a token is bound to (`cnf.jkt`), if any."""
    cnf = found.claims.get("cnf")
    jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
    return jkt if isinstance(jkt, str) else None


def check_sender(http: HttpRequest, found: FoundToken, token: str, scheme: str) -> None:
    """Refuse a bound token sent as a bearer token, or sent without its key's proof (§7)."""
    jkt = bound_key(found)
    if scheme != "dpop":
        if jkt is not None:
            raise DPoPBoundToken("the token is bound to a DPoP key: send it with the DPoP "
                                 "scheme and a proof")
        return
    proof = request_proof(http, found.client, access_token=token, resource=True)
    if proof is None:
        raise InvalidDPoPProof("a DPoP proof is required", resource=True)
    if jkt is None:
        raise DPoPBoundToken("the token is not bound to a DPoP key; send it as a Bearer token")
    if proof.jkt != jkt:
        raise InvalidDPoPProof("the DPoP proof is signed by another key than the token's",
                               resource=True)
