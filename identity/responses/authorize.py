"""Authorization codes: 256 random bits, stored only as a hash, bound to the whole request.

Spec: RFC 6749 §4.1.2, §10.10; RFC 7636 §4.4; OpenID Connect Core §3.1.2.5.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from identity.domain.grants import GRANT_AUTHORIZATION_CODE, PersistedGrant
from identity.domain.requests import UserSession, ValidatedAuthorizeRequest
from identity.stores import PersistedGrantStore
from identity.validation.grants.authorization_code import handle_key


def issue_code(request: ValidatedAuthorizeRequest, session: UserSession, now: datetime,
               grants: PersistedGrantStore) -> str:
    """Store a new code for this request and user; return the handle for the redirect."""
    handle = secrets.token_urlsafe(32)
    grants.store(PersistedGrant(
        key=handle_key(handle), type=GRANT_AUTHORIZATION_CODE,
        client_id=request.client.client_id, subject_id=session.subject_id,
        session_id=session.session_id, created=now,
        expires=now + timedelta(seconds=request.client.authorization_code_lifetime),
        data={"redirect_uri": request.redirect_uri, "scopes": list(request.scopes),
              "nonce": request.nonce, "code_challenge": request.code_challenge,
              "code_challenge_method": request.code_challenge_method,
              "auth_time": session.auth_time, "amr": list(session.amr)}))
    return handle
