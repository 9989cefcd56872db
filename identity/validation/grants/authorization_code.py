"""The authorization code grant.

Spec: RFC 6749 §4.1.3; RFC 7636 §4.5-4.6; RFC 9700 §4.2.4 (codes are single use; a replay
revokes the tokens issued from the code).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from identity.constants import GrantType
from identity.domain.client import Client
from identity.domain.grants import GRANT_AUTHORIZATION_CODE
from identity.domain.requests import UserSession, ValidatedTokenRequest
from identity.errors import InvalidGrant, InvalidRequest
from identity.validation import pkce
from identity.validation.scopes import resolve_user_scopes, still_allowed

if TYPE_CHECKING:
    from identity.validation.token_request import TokenContext

logger = logging.getLogger(__name__)
GRANT_TYPE: Final = GrantType.AUTHORIZATION_CODE
PARAMETERS: Final = frozenset({"code", "redirect_uri", "code_verifier"})


def handle_key(handle: str) -> str:
    """Return the storage key of a code or token handle: its SHA-256, hex."""
    return hashlib.sha256(handle.encode("utf-8")).hexdigest()


def handle(params: Mapping[str, str], client: Client,
           context: TokenContext) -> ValidatedTokenRequest:
    """Redeem a code issued to this client, once."""
    code = params.get("code")
    if code is None:
        raise InvalidRequest("code is missing")
    if "redirect_uri" not in params:
        raise InvalidRequest("redirect_uri is missing")
    key = handle_key(code)
    grant = context.grants.get(key)
    if grant is None or grant.type != GRANT_AUTHORIZATION_CODE:
        raise InvalidGrant("the code is invalid, expired or already used")
    if grant.client_id != client.client_id:
        raise InvalidGrant("the code is invalid, expired or already used",
                           detail=f"code of {grant.client_id!r} presented by {client.client_id!r}")
    if grant.consumed is not None:
        _replayed(context, key, client)
    if grant.is_expired(context.now):
        raise InvalidGrant("the code is invalid, expired or already used", detail="expired")
    data = grant.data
    if params["redirect_uri"] != data["redirect_uri"]:
        raise InvalidGrant("redirect_uri differs from the authorization request's")
    pkce.verify(params.get("code_verifier"), data.get("code_challenge"),
                data.get("code_challenge_method"))
    # Last, so that a request failing the checks above cannot burn the code.
    if not context.grants.consume(key, context.now):
        _replayed(context, key, client)
    if not context.users.is_active(grant.subject_id):
        raise InvalidGrant("the user is no longer active")
    # What the configuration took away since the code was issued is not granted: RFC 6749 §3.3.
    scopes, _ = still_allowed(tuple(data["scopes"]), client, context.resources)
    if not scopes:
        raise InvalidGrant("the code no longer grants any scope",
                           detail="every scope of the code was removed from the configuration")
    return ValidatedTokenRequest(
        client=client, grant_type=GRANT_TYPE, scopes=scopes,
        resources=resolve_user_scopes(scopes, context.resources), subject=grant.subject_id,
        session=UserSession(grant.subject_id, data["auth_time"], grant.session_id,
                            tuple(data.get("amr", ("pwd",)))),
        grant=grant)


def _replayed(context: TokenContext, key: str, client: Client) -> None:
    # The code goes first: a concurrent winner that finds it gone revokes what it just issued
    # (responses.token.revoke_if_parent_gone), whichever of the two finishes last.
    context.grants.remove(key)
    removed = context.grants.remove_family(key)
    logger.warning("authorization code replayed by client %s: %d grants revoked",
                   client.client_id, removed)
    raise InvalidGrant("the code is invalid, expired or already used", detail="replayed")
