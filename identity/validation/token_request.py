"""Token request validation: a registry of grants, each declaring the parameters it reads.

Spec: RFC 6749 §4 and §5.2. Parameters a grant does not declare are dropped before dispatch.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Final

from identity.constants import GRANT_TYPE
from identity.domain.client import Client
from identity.domain.requests import ValidatedTokenRequest
from identity.errors import InvalidRequest, UnauthorizedClient, UnsupportedGrantType
from identity.stores import ResourceStore
from identity.validation.grants import client_credentials

TOKEN_GRANTS: Final[dict[str, ModuleType]] = {
    module.GRANT_TYPE: module for module in (client_credentials,)
}


def validate_token_request(params: Mapping[str, str], client: Client,
                           resources: ResourceStore) -> ValidatedTokenRequest:
    """Dispatch to the grant named by `grant_type` once the client is authenticated."""
    grant_type = params.get(GRANT_TYPE)
    if grant_type is None:
        raise InvalidRequest("grant_type is missing")
    grant = TOKEN_GRANTS.get(grant_type)
    if grant is None:
        raise UnsupportedGrantType(f"grant_type {grant_type} is not supported")
    if grant_type not in client.allowed_grant_types:
        raise UnauthorizedClient(f"the client may not use {grant_type}")
    used = {name: value for name, value in params.items() if name in grant.PARAMETERS}
    result: ValidatedTokenRequest = grant.handle(used, client, resources)
    return result
