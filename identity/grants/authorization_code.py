"""The authorization code grant: a code issued at the authorize endpoint, redeemed once.

Spec: RFC 6749 §4.1.2, §4.1.3, §10.10; RFC 7636 §4.4-4.6; RFC 9700 §4.2.4 (codes are single
use; a replay revokes the tokens issued from the code); OpenID Connect Core §3.1.2.5; RFC 9449
§10 (dpop_jkt binds the code to a DPoP key).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

from identity.constants import GrantType
from identity.domain.client import Client
from identity.domain.grants import GRANT_AUTHORIZATION_CODE, CodeData
from identity.domain.requests import (
    Redemption,
    UserSession,
    ValidatedAuthorizeRequest,
    ValidatedTokenRequest,
)
from identity.errors import GrantReplayed, InvalidDPoPProof, InvalidGrant, InvalidRequest
from identity.grants import records
from identity.grants.handler import ACCESS_TOKEN, ID_TOKEN, REFRESH_TOKEN, TokenRequestContext
from identity.grants.handles import handle_key, new_handle
from identity.stores.interfaces import PersistedGrantStore
from identity.validation import pkce
from identity.validation.scopes import resolve_user_scopes, still_allowed

_INVALID: Final = "the code is invalid, expired or already used"


def issue_code(request: ValidatedAuthorizeRequest, session: UserSession, now: datetime,
               grants: PersistedGrantStore) -> str:
    """Store a new code for this request and user; return the handle for the redirect."""
    handle = new_handle()
    grants.store(records.code_grant(
        handle_key(handle), request.client.client_id, session, now,
        now + timedelta(seconds=request.client.authorization_code_lifetime),
        CodeData(redirect_uri=request.redirect_uri, scopes=request.scopes,
                 auth_time=session.auth_time, amr=session.amr, nonce=request.nonce,
                 code_challenge=request.code_challenge,
                 code_challenge_method=request.code_challenge_method,
                 dpop_jkt=request.dpop_jkt)))
    return handle


class AuthorizationCodeGrant:
    """`grant_type=authorization_code`."""

    grant_type: Final = GrantType.AUTHORIZATION_CODE.value
    parameters: Final = frozenset({"code", "redirect_uri", "code_verifier"})
    redeems: Final = GRANT_AUTHORIZATION_CODE
    issues: Final = frozenset({ACCESS_TOKEN, REFRESH_TOKEN, ID_TOKEN})

    def client_may_use(self, client: Client) -> bool:
        """Tell whether the client lists the grant."""
        return self.grant_type in client.allowed_grant_types

    def validate(self, params: Mapping[str, str], client: Client,
                 context: TokenRequestContext) -> ValidatedTokenRequest:
        """Redeem a code issued to this client, once."""
        code = params.get("code")
        if code is None:
            raise InvalidRequest("code is missing")
        if "redirect_uri" not in params:
            raise InvalidRequest("redirect_uri is missing")
        key = handle_key(code)
        grant = context.grants.get(key)
        if grant is None or grant.type != GRANT_AUTHORIZATION_CODE:
            raise InvalidGrant(_INVALID)
        if grant.client_id != client.client_id:
            raise InvalidGrant(_INVALID, detail=f"code of {grant.client_id!r} presented by "
                                                f"{client.client_id!r}")
        if grant.consumed is not None:
            raise GrantReplayed(_INVALID, key=key, family=key, detail="replayed")
        if grant.is_expired(context.now):
            raise InvalidGrant(_INVALID, detail="expired")
        data = records.code_data(grant)
        if params["redirect_uri"] != data.redirect_uri:
            raise InvalidGrant("redirect_uri differs from the authorization request's")
        pkce.verify(params.get("code_verifier"), data.code_challenge,
                    data.code_challenge_method)
        if data.dpop_jkt is not None and context.dpop_jkt != data.dpop_jkt:
            raise InvalidDPoPProof("the authorization request bound the code to another DPoP "
                                   "key" if context.dpop_jkt else "the code is bound to a DPoP "
                                   "key: send a DPoP proof")
        if not context.users.is_active(grant.subject_id):
            raise InvalidGrant("the user is no longer active")
        # What the configuration took away since the code was issued is not granted (RFC 6749
        # §3.3).
        scopes, _ = still_allowed(data.scopes, client, context.resources)
        if not scopes:
            raise InvalidGrant("the code no longer grants any scope",
                               detail="every scope of the code was removed from the "
                                      "configuration")
        return ValidatedTokenRequest(
            client=client, grant_type=self.grant_type, scopes=scopes,
            resources=resolve_user_scopes(scopes, context.resources), subject=grant.subject_id,
            session=UserSession(grant.subject_id, data.auth_time, grant.session_id, data.amr),
            grant=grant, nonce=data.nonce,
            redemption=Redemption(key=key, family=key, refusal=_INVALID))
