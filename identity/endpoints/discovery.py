"""Discovery documents: OpenID Connect Discovery 1.0 §4 and RFC 8414 §3.

Every URL is built with `reverse`; the documents list only what this server implements.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from identity.constants import ClientAuthMethod
from identity.cors import with_cors
from identity.endpoints.guard import protocol_errors
from identity.endpoints.issuer import get_issuer
from identity.errors import MethodNotAllowed
from identity.rendering import json_response
from identity.stores import get_resource_store
from identity.tokens.keys import get_key_ring
from identity.validation.token_request import TOKEN_GRANTS

CACHE_SECONDS = 300


def discovery_document(issuer: str, *, openid: bool) -> dict[str, Any]:
    """Build the metadata document; `openid` adds the OpenID Connect members."""
    resources = get_resource_store().all_resources()
    scopes = [r.name for r in resources.identity_resources
              if r.enabled and r.show_in_discovery_document]
    scopes += [s.name for s in resources.api_scopes if s.enabled and s.show_in_discovery_document]
    doc: dict[str, Any] = {
        "issuer": issuer,
        "jwks_uri": issuer + reverse("identity:jwks"),
        "token_endpoint": issuer + reverse("identity:token"),
        "scopes_supported": scopes,
        "response_types_supported": [],
        "grant_types_supported": sorted(TOKEN_GRANTS),
        "token_endpoint_auth_methods_supported": [
            ClientAuthMethod.CLIENT_SECRET_BASIC.value, ClientAuthMethod.CLIENT_SECRET_POST.value],
    }
    if openid:
        algorithms = list(dict.fromkeys(k.algorithm for k in get_key_ring().public_keys()))
        doc["id_token_signing_alg_values_supported"] = algorithms
        doc["claims_supported"] = sorted({c for r in resources.identity_resources if r.enabled
                                          for c in r.user_claims})
    return doc


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
