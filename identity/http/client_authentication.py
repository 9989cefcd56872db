"""Authenticate the caller of a back-channel endpoint, with brute-force throttling.

Spec: RFC 6749 §2.3.1; RFC 7662 §2.1 (introspection callers: here API resources with their
ApiSecrets, as in IdentityServer, or clients); RFC 7523 §3 (client assertions: signed by one
of the client's keys, `jti` used once across every process).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from django.http import HttpRequest

from identity import clock, signals
from identity.conf import identity_settings
from identity.domain.client import Client
from identity.errors import InvalidClient, JwsError
from identity.freshness import cache_is_shared, prefetch
from identity.hashing import verify_shared_secret
from identity.http import replay, throttling
from identity.http.client_jwks import accepted_algorithms, client_keys
from identity.http.issuer import get_issuer
from identity.stores.caching import stamp_keys_of_client
from identity.stores.registry import get_client_store, get_resource_store
from identity.tokens.client_keys import unverified_kid, verify_with
from identity.validation.client_assertion import check_assertion_claims, failed
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
    _prefetch(credentials.client_id, address)
    throttling.check_not_locked("client", credentials.client_id, address)
    try:
        return authenticate_client(credentials, get_client_store(), clock.now(),
                                   _assertion_verifier(http))
    except InvalidClient as err:
        _failed(http, credentials, address, err)
        raise


def _assertion_verifier(http: HttpRequest) -> Callable[[Client, str], None]:
    """Check a private_key_jwt assertion sent to this endpoint: signature, claims, single use."""

    def verify(client: Client, assertion: str) -> None:
        # Worked out here, not for every request: most callers send a secret.
        issuer = get_issuer(http)
        # OIDC Core §9: the token endpoint's URL; FAPI 2.0 and RFC 7523 §3: the issuer. The URL
        # of the endpoint called stands for the others (introspection, revocation, PAR).
        issuer_only = identity_settings.CLIENT_ASSERTION_ISSUER_AUDIENCE_ONLY
        audiences = frozenset({issuer} if issuer_only else {issuer, issuer + http.path})
        now = clock.now()
        try:
            keys = client_keys(client, now, kid=unverified_kid(assertion))
            _, claims, _ = verify_with(assertion, keys, accepted_algorithms())
        except JwsError as err:
            raise failed(str(err)) from None
        jti, exp = check_assertion_claims(claims, client.client_id, audiences, now.timestamp(),
                                          identity_settings.CLIENT_ASSERTION_MAX_LIFETIME,
                                          string_audience=issuer_only)
        if not replay.first_use("assertion", f"{client.client_id}\x00{jti}", exp):
            raise failed("jti already used")

    return verify


def authenticated_caller(http: HttpRequest, params: Mapping[str, str]) -> Caller:
    """Authenticate an API resource by its secrets, or else a client."""
    credentials = extract_credentials(params, http.META.get("HTTP_AUTHORIZATION"))
    address = throttling.client_address(http)
    _prefetch(credentials.client_id, address)
    throttling.check_not_locked("client", credentials.client_id, address)
    if credentials.secret is not None and credentials.assertion is None:
        found = get_resource_store().find_api_resources_by_name([credentials.client_id])
        now = clock.now()
        for api in found.api_resources:
            live = [s for s in api.api_secrets if not s.has_expired(now)]
            if api.enabled and verify_shared_secret(credentials.secret, live):
                return Caller(api=api.name)
    try:
        if credentials.secret is None and credentials.assertion is None:
            # RFC 7662 §2.1: callers authenticate, public or not
            raise InvalidClient("client authentication failed",
                                detail="introspection without a secret")
        return Caller(client=authenticate_client(credentials, get_client_store(), clock.now(),
                                                 _assertion_verifier(http)))
    except InvalidClient as err:
        _failed(http, credentials, address, err)
        raise


def _prefetch(client_id: str, address: str) -> None:
    # One round trip to a shared cache for what the request reads next: the failure counters,
    # the client's and the resources' stamps, the configuration generation. Without a shared
    # cache there is nothing to fetch, and the keys are not worth hashing.
    if not cache_is_shared():
        return
    prefetch([*throttling.counter_keys("client", client_id, address),
              *stamp_keys_of_client(client_id)])


def _failed(http: HttpRequest, credentials: ClientCredentials, address: str,
            err: InvalidClient) -> None:
    throttling.record_failure("client", credentials.client_id, address)
    signals.client_authentication_failed.send(
        authenticated_client, client_id=credentials.client_id, address=address,
        reason=err.detail)
