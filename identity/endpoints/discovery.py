"""Discovery documents: OpenID Connect Discovery 1.0 §4 and RFC 8414 §3.

Every URL is built with `reverse`; the documents list only what this server implements, and
state a member outright where its absence would mean something else (an absent
request_uri_parameter_supported means true).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from identity.conf import identity_settings
from identity.constants import ClientAuthMethod
from identity.errors import MethodNotAllowed
from identity.freshness import current_generation
from identity.grants.registry import GRANT_HANDLERS
from identity.http.client_jwks import accepted_algorithms
from identity.http.cors import with_cors
from identity.http.frame import protocol_errors
from identity.http.issuer import get_issuer
from identity.http.rendering import json_response
from identity.stores.interfaces import ClientStore, any_client_allows_plain_pkce
from identity.stores.registry import get_client_store, get_key_ring, get_resource_store
from identity.validation import pkce
from identity.validation.authorize_request import PROMPTS, RESPONSE_MODES

CACHE_SECONDS = 300
_SECRET_METHODS = (ClientAuthMethod.CLIENT_SECRET_BASIC.value,
                   ClientAuthMethod.CLIENT_SECRET_POST.value)
_PRIVATE_KEY_JWT = ClientAuthMethod.PRIVATE_KEY_JWT.value
_NONE = ClientAuthMethod.NONE.value
# The client store and configuration generation the last answer was computed under.
_plain_pkce: tuple[ClientStore, int, bool] | None = None


def discovery_document(issuer: str, *, openid: bool) -> dict[str, Any]:
    """Build the metadata document; `openid` adds the OpenID Connect members."""
    resources = get_resource_store().all_resources()
    scopes = [r.name for r in resources.identity_resources
              if r.enabled and r.show_in_discovery_document]
    scopes += [s.name for s in resources.api_scopes if s.enabled and s.show_in_discovery_document]
    if "offline_access" not in scopes:
        scopes.append("offline_access")
    algorithms = list(dict.fromkeys(k.algorithm for k in get_key_ring().public_keys()))
    doc: dict[str, Any] = {
        "issuer": issuer,
        "authorization_endpoint": issuer + reverse("identity:authorize"),
        "token_endpoint": issuer + reverse("identity:token"),
        "jwks_uri": issuer + reverse("identity:jwks"),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": list(RESPONSE_MODES),
        "grant_types_supported": sorted(GRANT_HANDLERS),
        "token_endpoint_auth_methods_supported": [*_SECRET_METHODS, _PRIVATE_KEY_JWT, _NONE],
        "token_endpoint_auth_signing_alg_values_supported": list(accepted_algorithms()),
        "introspection_endpoint": issuer + reverse("identity:introspection"),
        "introspection_endpoint_auth_methods_supported": [*_SECRET_METHODS, _PRIVATE_KEY_JWT],
        "introspection_endpoint_auth_signing_alg_values_supported": list(accepted_algorithms()),
        "revocation_endpoint": issuer + reverse("identity:revocation"),
        "revocation_endpoint_auth_methods_supported": [*_SECRET_METHODS, _PRIVATE_KEY_JWT,
                                                       _NONE],
        "revocation_endpoint_auth_signing_alg_values_supported": list(accepted_algorithms()),
        # RFC 9126 §5: PAR, and whether every client must use it.
        "pushed_authorization_request_endpoint": issuer + reverse(
            "identity:pushed_authorization"),
        "require_pushed_authorization_requests": identity_settings.REQUIRE_PUSHED_AUTHORIZATION,
        "dpop_signing_alg_values_supported": list(accepted_algorithms()),
        # RFC 8628 §4: where devices start the device authorization grant.
        "device_authorization_endpoint": issuer + reverse("identity:device_authorization"),
        # RFC 7591 §3: the initial access token decides who may register.
        "registration_endpoint": issuer + reverse("identity:registration"),
        "code_challenge_methods_supported": [pkce.S256] + (
            [pkce.PLAIN] if plain_pkce_in_use() else []),
        "authorization_response_iss_parameter_supported": True,
        # Signed request objects by value (RFC 9101); request_uri only from PAR, never fetched
        # from another host, so request_uri_parameter_supported is false.
        "request_parameter_supported": True,
        "request_object_signing_alg_values_supported": list(accepted_algorithms()),
        "request_uri_parameter_supported": False,
    }
    if openid:
        doc.update({
            "userinfo_endpoint": issuer + reverse("identity:userinfo"),
            "end_session_endpoint": issuer + reverse("identity:end_session"),
            "subject_types_supported": ["public", "pairwise"],
            "id_token_signing_alg_values_supported": algorithms,
            "claims_supported": sorted({"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce",
                                        "at_hash", "sid", "amr"} |
                                       {c for r in resources.identity_resources if r.enabled
                                        for c in r.user_claims}),
            "prompt_values_supported": sorted(PROMPTS),
            "frontchannel_logout_supported": True,
            "frontchannel_logout_session_supported": True,
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
        })
    return doc


def plain_pkce_in_use() -> bool:
    """Tell whether some enabled client may send code_challenge_method=plain.

    The database store answers with one query; a store that can only be read whole costs about
    0.35 s per thousand clients. Either way the answer is kept for the configuration generation,
    which every client change bumps (`identity.freshness`), so a change shows at the next
    request. The generation is read first: a change committed meanwhile only makes the next
    request compute again.
    """
    global _plain_pkce
    store, generation = get_client_store(), current_generation()
    known = _plain_pkce
    if known is not None and known[0] is store and known[1] == generation:
        return known[2]
    in_use = any_client_allows_plain_pkce(store)
    _plain_pkce = (store, generation, in_use)
    return in_use


def _document_view(openid: bool) -> Any:
    @with_cors("GET")
    @protocol_errors
    def view(http: HttpRequest) -> HttpResponse:
        if http.method not in ("GET", "HEAD"):
            raise MethodNotAllowed("GET")
        body = discovery_document(get_issuer(http), openid=openid)
        return json_response(body, no_store=False,
                             headers={"Cache-Control": f"public, max-age={CACHE_SECONDS}"})

    return view


openid_configuration = _document_view(openid=True)
oauth_authorization_server = _document_view(openid=False)
