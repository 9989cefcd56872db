"""The client credentials grant: a client asks for a token of its own.

Spec: RFC 6749 §4.4; Duende 7.3 (only confidential clients). Nothing is read from or written to
the grant store.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from identity.constants import SCOPE, GrantType
from identity.domain.client import Client
from identity.domain.requests import ValidatedTokenRequest
from identity.errors import UnauthorizedClient
from identity.grants.handler import ACCESS_TOKEN, TokenRequestContext
from identity.validation.scopes import parse_scope, resolve_api_scopes


class ClientCredentialsGrant:
    """`grant_type=client_credentials`."""

    grant_type: Final = GrantType.CLIENT_CREDENTIALS.value
    parameters: Final = frozenset({SCOPE})
    redeems: Final = None
    issues: Final = frozenset({ACCESS_TOKEN})

    def client_may_use(self, client: Client) -> bool:
        """Tell whether the client lists the grant."""
        return self.grant_type in client.allowed_grant_types

    def validate(self, params: Mapping[str, str], client: Client,
                 context: TokenRequestContext) -> ValidatedTokenRequest:
        """Validate a client credentials request of an authenticated client."""
        if not client.require_client_secret:
            raise UnauthorizedClient("a public client cannot use client_credentials")
        scopes, found = resolve_api_scopes(parse_scope(params.get(SCOPE)), client,
                                           context.resources)
        return ValidatedTokenRequest(client=client, grant_type=self.grant_type, scopes=scopes,
                                     resources=found)
