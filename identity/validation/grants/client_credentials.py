"""The client credentials grant.

Spec: RFC 6749 §4.4; Duende 7.3 (only confidential clients).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from identity.constants import SCOPE, GrantType
from identity.domain.client import Client
from identity.domain.requests import ValidatedTokenRequest
from identity.errors import UnauthorizedClient
from identity.validation.scopes import parse_scope, resolve_api_scopes

if TYPE_CHECKING:
    from identity.validation.token_request import TokenContext

GRANT_TYPE: Final = GrantType.CLIENT_CREDENTIALS
PARAMETERS: Final = frozenset({SCOPE})


def handle(params: Mapping[str, str], client: Client,
           context: TokenContext) -> ValidatedTokenRequest:
    """Validate a client credentials request of an authenticated client."""
    if not client.require_client_secret:
        raise UnauthorizedClient("a public client cannot use client_credentials")
    scopes, found = resolve_api_scopes(parse_scope(params.get(SCOPE)), client,
                                           context.resources)
    return ValidatedTokenRequest(client=client, grant_type=GRANT_TYPE, scopes=scopes,
                                 resources=found)
