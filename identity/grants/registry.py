"""The grants the token endpoint serves: one handler per `grant_type`, one line each."""

from __future__ import annotations

from typing import Final

from identity.grants.authorization_code import AuthorizationCodeGrant
from identity.grants.client_credentials import ClientCredentialsGrant
from identity.grants.device_code import DeviceCodeGrant
from identity.grants.handler import GrantHandler
from identity.grants.refresh_token import RefreshTokenGrant

GRANT_HANDLERS: Final[dict[str, GrantHandler]] = {
    handler.grant_type: handler
    for handler in (
        AuthorizationCodeGrant(),
        ClientCredentialsGrant(),
        DeviceCodeGrant(),
        RefreshTokenGrant(),
    )
}
