"""Authorize request validation, in two stages.

First the client and the redirect URI: until both are trusted, errors go to an error page and
never to a redirect. Then everything else: those errors are redirected back to the client.
Spec: RFC 6749 §4.1.1 and §4.1.2.1; OpenID Connect Core §3.1.2.1-3.1.2.2; RFC 7636; RFC 9449
§10 (dpop_jkt).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from identity.constants import GrantType, StandardScope
from identity.domain.client import Client
from identity.domain.requests import ValidatedAuthorizeRequest
from identity.domain.resources import Resources
from identity.errors import (
    InvalidRequest,
    InvalidScope,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from identity.stores.interfaces import ClientStore, ResourceStore, find_enabled_client
from identity.validation import pkce
from identity.validation.client_support import unsupported_problems
from identity.validation.redirect_uri import redirect_uri_matches
from identity.validation.scopes import granted_resources, parse_scope

RESPONSE_TYPE_CODE: Final = "code"
RESPONSE_MODES: Final = ("query", "fragment", "form_post")
PROMPTS: Final = frozenset({"none", "login", "consent", "select_account"})


class UntrustedRequest(InvalidRequest):
    """The client or redirect URI cannot be trusted: show an error page, never redirect."""

    redirectable = False


def trusted_client_and_redirect(params: Mapping[str, str],
                                store: ClientStore) -> tuple[Client, str]:
    """Return the enabled client and its registered redirect URI, or raise UntrustedRequest."""
    client_id = params.get("client_id")
    if client_id is None:
        raise UntrustedRequest("client_id is missing")
    client = find_enabled_client(store, client_id)
    if client is None:
        raise UntrustedRequest("unknown or disabled client", detail=f"client_id={client_id!r}")
    redirect_uri = params.get("redirect_uri")
    if redirect_uri is None:
        raise UntrustedRequest("redirect_uri is missing")
    if not redirect_uri_matches(redirect_uri, client.redirect_uris):
        raise UntrustedRequest("redirect_uri is not registered for this client",
                               detail=f"client_id={client_id!r}")
    return client, redirect_uri


def error_response_mode(params: Mapping[str, str]) -> str:
    """Return how an error goes back to the client: the requested mode when it is one we
    support, else the query (RFC 6749 §4.1.2.1)."""
    mode = params.get("response_mode", "query")
    return mode if mode in RESPONSE_MODES else "query"


def validate_authorize_request(params: Mapping[str, str], client: Client, redirect_uri: str,
                               store: ResourceStore) -> ValidatedAuthorizeRequest:
    """Check every other parameter; raise a redirectable OAuthError on the first problem.

    `params` are the request's own, whether from the query, a request object or a pushed
    request (`identity.http.authorization_request` resolves those first).
    """
    response_type = params.get("response_type")
    if response_type is None:
        raise InvalidRequest("response_type is missing")
    if response_type != RESPONSE_TYPE_CODE:
        raise UnsupportedResponseType("only response_type=code is supported")
    if GrantType.AUTHORIZATION_CODE not in client.allowed_grant_types:
        raise UnauthorizedClient("the client may not use the authorization code flow")
    unsupported = unsupported_problems(client)
    if unsupported:  # fail closed, e.g. RequirePushedAuthorization would be skipped otherwise
        raise UnauthorizedClient(
            "the client's configuration uses features this server does not support yet",
            detail="; ".join(p.describe(client.client_id) for p in unsupported))
    response_mode = params.get("response_mode", "query")
    if response_mode != error_response_mode(params):
        raise InvalidRequest("response_mode must be query, fragment or form_post")
    scopes, resources = user_scopes(parse_scope(params.get("scope")), client, store)
    challenge, method = pkce.validate_challenge(client, params.get("code_challenge"),
                                                params.get("code_challenge_method"))
    return ValidatedAuthorizeRequest(
        client=client, redirect_uri=redirect_uri, response_mode=response_mode, scopes=scopes,
        resources=resources, state=params.get("state"), nonce=params.get("nonce"),
        prompt=_prompt(params.get("prompt")), max_age=_max_age(params.get("max_age")),
        login_hint=params.get("login_hint"), code_challenge=challenge,
        code_challenge_method=method, dpop_jkt=_dpop_jkt(params.get("dpop_jkt")))


def _dpop_jkt(value: str | None) -> str | None:
    # RFC 9449 §10: the SHA-256 thumbprint of the key, base64url: 43 characters.
    if value is None:
        return None
    if len(value) != 43 or not all(c.isalnum() or c in "-_" for c in value):
        raise InvalidRequest("dpop_jkt must be a base64url SHA-256 JWK thumbprint")
    return value


def _prompt(value: str | None) -> frozenset[str]:
    prompts = frozenset(value.split()) if value else frozenset()
    if not prompts <= PROMPTS:
        raise InvalidRequest("prompt must be some of none, login, consent, select_account")
    if "none" in prompts and len(prompts) > 1:
        raise InvalidRequest("prompt=none cannot be combined with other values")
    return prompts


def _max_age(value: str | None) -> int | None:
    if value is None:
        return None
    if not (value.isascii() and value.isdigit()) or len(value) > 9:
        raise InvalidRequest("max_age must be a non-negative number of seconds")
    return int(value)


def user_scopes(requested: tuple[str, ...], client: Client,
                store: ResourceStore) -> tuple[tuple[str, ...], Resources]:
    """Check the scopes a user is asked to grant (authorize, device authorization)."""
    if not requested:
        raise InvalidScope("scope is required")
    # offline_access follows AllowOfflineAccess, listed in AllowedScopes or not (IdentityServer).
    not_allowed = [s for s in requested if s not in client.allowed_scopes
                   and s != StandardScope.OFFLINE_ACCESS]
    if StandardScope.OFFLINE_ACCESS in requested and not client.allow_offline_access:
        not_allowed.append(StandardScope.OFFLINE_ACCESS)
    if not_allowed:
        raise InvalidScope(f"the client may not request {' '.join(dict.fromkeys(not_allowed))}")
    found = store.find_resources_by_scope_names(requested)
    identity = {r.name for r in found.identity_resources if r.enabled}
    api = {s.name for s in found.api_scopes if s.enabled}
    unknown = [s for s in requested
               if s not in identity | api and s != StandardScope.OFFLINE_ACCESS]
    if unknown:
        raise InvalidScope(f"unknown or disabled scope: {' '.join(unknown)}")
    if identity and StandardScope.OPENID not in requested:
        raise InvalidScope("identity scopes need the openid scope")
    return requested, granted_resources(found, requested)
