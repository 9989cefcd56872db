"""Client authentication at back-channel endpoints: a registry of methods, one per request.

Spec: RFC 6749 §2.3.1 and Appendix B; OpenID Connect Core §9 (method names); RFC 7523 §2.2
(`private_key_jwt`: the assertion's signature and claims are checked by the caller's
`verify_assertion`, which has the keys and the replay store).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from urllib.parse import unquote_plus

from identity.constants import CLIENT_ID, CLIENT_SECRET, ClientAuthMethod
from identity.domain.client import Client
from identity.errors import InvalidClient, InvalidRequest
from identity.hashing import verify_shared_secret
from identity.stores.interfaces import ClientStore, find_enabled_client
from identity.validation.client_assertion import ASSERTION_TYPE, failed

BASIC_CHALLENGE: Final = 'Basic realm="identity", charset="UTF-8"'


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """What a request presented to identify its client, and how."""

    client_id: str
    secret: str | None
    method: ClientAuthMethod
    assertion: str | None = None


def _scheme(authorization: str | None) -> str:
    return (authorization or "").strip().partition(" ")[0].lower()


def _basic(params: Mapping[str, str], authorization: str | None) -> ClientCredentials | None:
    if not authorization:
        return None
    if _scheme(authorization) != "basic":
        return None
    value = authorization.strip().partition(" ")[2]
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise InvalidClient("malformed Basic credentials",
                            www_authenticate=BASIC_CHALLENGE) from None
    client_id, sep, secret = decoded.partition(":")
    # Appendix B: id and secret are form-encoded before Base64.
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    # NUL is refused as in form values: no store can look it up (PostgreSQL refuses it).
    if not sep or not client_id or not secret or "\x00" in client_id + secret:
        raise InvalidClient("malformed Basic credentials", www_authenticate=BASIC_CHALLENGE)
    return ClientCredentials(client_id, secret, ClientAuthMethod.CLIENT_SECRET_BASIC)


def _post(params: Mapping[str, str], authorization: str | None) -> ClientCredentials | None:
    if CLIENT_SECRET not in params:
        return None
    if CLIENT_ID not in params:
        # RFC 6749 §5.2: a client that also tried Basic is answered with its challenge.
        basic_used = _scheme(authorization) == "basic"
        raise InvalidClient("client_secret was sent without client_id",
                            www_authenticate=BASIC_CHALLENGE if basic_used else None)
    return ClientCredentials(params[CLIENT_ID], params[CLIENT_SECRET],
                             ClientAuthMethod.CLIENT_SECRET_POST)


def _jwt_bearer(params: Mapping[str, str], authorization: str | None
                ) -> ClientCredentials | None:
    assertion = params.get("client_assertion")
    kind = params.get("client_assertion_type")
    if assertion is None and kind is None:
        return None
    if kind != ASSERTION_TYPE or not assertion:
        raise failed(f"client_assertion_type must be {ASSERTION_TYPE} with a client_assertion")
    subject = _unverified_claims(assertion).get("sub")
    if not isinstance(subject, str) or not subject or "\x00" in subject:
        raise failed("sub is missing")
    return ClientCredentials(subject, None, ClientAuthMethod.PRIVATE_KEY_JWT, assertion)


def _unverified_claims(assertion: str) -> dict[str, object]:
    # The client is named by the assertion (RFC 7523 §3: sub) and verified once it is found.
    parts = assertion.split(".")
    if len(parts) != 3:
        raise failed("not a compact JWS")
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        raise failed("the payload is not JSON") from None
    if not isinstance(claims, dict):
        raise failed("the payload is not a JSON object")
    return claims


# Order matters only for error precedence; a request may match one method.
CLIENT_AUTH_METHODS: Final[dict[ClientAuthMethod, Callable[
    [Mapping[str, str], str | None], ClientCredentials | None]]] = {
    ClientAuthMethod.CLIENT_SECRET_BASIC: _basic,
    ClientAuthMethod.CLIENT_SECRET_POST: _post,
    ClientAuthMethod.PRIVATE_KEY_JWT: _jwt_bearer,
}


def extract_credentials(params: Mapping[str, str], authorization: str | None) -> ClientCredentials:
    """Find the client's credentials; exactly one method may be used (RFC 6749 §2.3)."""
    # Counted before extraction: a malformed assertion must not hide that two were sent.
    if ("client_assertion" in params or "client_assertion_type" in params) and (
            CLIENT_SECRET in params or _scheme(authorization) == "basic"):
        raise InvalidRequest("use exactly one client authentication method")
    found = [c for c in (m(params, authorization) for m in CLIENT_AUTH_METHODS.values()) if c]
    if len(found) > 1:
        raise InvalidRequest("use exactly one client authentication method")
    if found:
        credentials = found[0]
        body_id = params.get(CLIENT_ID)
        if body_id is not None and body_id != credentials.client_id:
            raise InvalidClient("client_id does not match the authenticated client",
                                www_authenticate=_challenge(credentials))
        return credentials
    if CLIENT_ID in params:
        return ClientCredentials(params[CLIENT_ID], None, ClientAuthMethod.NONE)
    raise InvalidClient("client authentication is required", www_authenticate=BASIC_CHALLENGE)


def authenticate_client(credentials: ClientCredentials, store: ClientStore, now: datetime,
                        verify_assertion: Callable[[Client, str], None] | None = None
                        ) -> Client:
    """Return the enabled client whose secret or assertion matches, or raise InvalidClient.

    Unknown, disabled and wrong-secret clients get the same description, so that the answer does
    not tell which ids exist. `verify_assertion(client, assertion)` raises InvalidClient unless
    a private_key_jwt assertion is the client's.
    """
    client = find_enabled_client(store, credentials.client_id)
    challenge = _challenge(credentials)
    if client is None:
        raise InvalidClient("client authentication failed", www_authenticate=challenge,
                            detail=f"unknown or disabled client {credentials.client_id!r}")
    if credentials.assertion is not None:
        if verify_assertion is None:
            raise failed("not accepted here")
        verify_assertion(client, credentials.assertion)
        return client
    if credentials.secret is None:
        if client.require_client_secret:
            raise InvalidClient("client authentication failed",
                                detail="a confidential client sent no secret")
        return client
    if not verify_shared_secret(credentials.secret, client.active_secrets(now)):
        raise InvalidClient("client authentication failed", www_authenticate=challenge,
                            detail="no unexpired secret matches")
    return client


def _challenge(credentials: ClientCredentials) -> str | None:
    return BASIC_CHALLENGE if credentials.method is ClientAuthMethod.CLIENT_SECRET_BASIC else None
