"""Authenticate the caller of a back-channel endpoint, with brute-force throttling.

Spec: RFC 6749 §2.3.1; RFC 7662 §2.1 (introspection callers: here API resources with their
ApiSecrets, as in IdentityServer, or clients).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.http import HttpRequest

from identity import clock, signals
from identity.domain.client import Client
from identity.errors import InvalidClient
from identity.hashing import verify_shared_secret
from identity.http import throttling
from identity.stores.registry import get_client_store, get_resource_store
from identity.validation.client_auth import (
    ClientCredentials,
    authenticate_client,
    extract_credentials,
)


@dataclass(frozen=True, slots=True)
class Caller:
    """Who called: an API resource (by name) or a client."""

    api: str | None = None
    client: Client | None = None


def authenticated_client(http: HttpRequest, params: Mapping[str, str]) -> Client:
    """Authenticate the client of a request, counting failures per client id and address."""
    credentials = extract_credentials(params, http.META.get("HTTP_AUTHORIZATION"))
    address = throttling.client_address(http)
    throttling.check_not_locked("client", credentials.client_id, address)
    try:
        return authenticate_client(credentials, get_client_store(), clock.now())
    except InvalidClient as err:
        _failed(http, credentials, address, err)
        raise


def authenticated_caller(http: HttpRequest, params: Mapping[str, str]) -> Caller:
    """Authenticate an API resource by its secrets, or else a client."""
    credentials = extract_credentials(params, http.META.get("HTTP_AUTHORIZATION"))
    address = throttling.client_address(http)
    throttling.check_not_locked("client", credentials.client_id, address)
    if credentials.secret is not None:
        found = get_resource_store().find_api_resources_by_name([credentials.client_id])
        now = clock.now()
        for api in found.api_resources:
            live = [s for s in api.api_secrets if not s.has_expired(now)]
            if api.enabled and verify_shared_secret(credentials.secret, live):
                return Caller(api=api.name)
    try:
        if credentials.secret is None:  # RFC 7662 §2.1: callers authenticate, public or not
            raise InvalidClient("client authentication failed",
                                detail="introspection without a secret")
        return Caller(client=authenticate_client(credentials, get_client_store(), clock.now()))
    except InvalidClient as err:
        _failed(http, credentials, address, err)
        raise


def _failed(http: HttpRequest, credentials: ClientCredentials, address: str,
            err: InvalidClient) -> None:
    throttling.record_failure("client", credentials.client_id, address)
    signals.client_authentication_failed.send(
        authenticated_client, client_id=credentials.client_id, address=address,
        reason=err.detail)
