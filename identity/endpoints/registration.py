"""Dynamic client registration (RFC 7591) and its management protocol (RFC 7592).

`POST /connect/dcr` registers a client with a JSON body, authorized by an initial access token:
an access token of this server carrying IDENTITY['REGISTRATION_SCOPE'] (none needed when
IDENTITY['REGISTRATION_ALLOW_ANONYMOUS']). The client is then read (GET), replaced (PUT) and
deleted (DELETE) at `/connect/dcr/<client_id>` with its registration access token as Bearer.

Django REST framework views in the error frame of the other back-channel endpoints: every error
is the RFC 7591 §3.2.2 JSON body (or RFC 6750 §3.1 with a Bearer challenge), never a traceback
or one of DRF's own answers. No CSRF check, no session: callers authenticate with a token.
"""

from __future__ import annotations

import json
import math
import typing
from collections.abc import Callable, Iterable, Mapping
from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.request import RawPostDataException
from django.urls import reverse
from rest_framework import exceptions
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from identity import clock
from identity.conf import identity_settings
from identity.constants import SecretType
from identity.domain.client import Secret
from identity.errors import (
    InvalidClientMetadata,
    InvalidToken,
    MethodNotAllowed,
    TooManyRequests,
)
from identity.hashing import generate_secret, hash_secret, verify_shared_secret
from identity.http.bearer import bearer_token, require_scope, verify_access_token
from identity.http.frame import answer
from identity.http.issuer import get_issuer
from identity.http.rendering import error_json, json_response
from identity.http.throttling import client_address, over_rate
from identity.stores.interfaces import Registration
from identity.stores.registry import get_client_registration_store, get_resource_store
from identity.validation.registration import (
    RegistrationPolicy,
    audit_changes,
    build_client,
    check_client,
    issued_secret,
    metadata_document,
    new_client_id,
    new_registration_token,
    parse_metadata,
    registration_token_hash,
    registration_token_matches,
)

JSON_TYPE = "application/json"


def policy() -> RegistrationPolicy:
    """Return the registration policy of the settings."""
    settings = identity_settings
    return RegistrationPolicy(
        grant_types=frozenset(settings.REGISTRATION_GRANT_TYPES),
        scopes=frozenset(settings.REGISTRATION_SCOPES),
        secret_lifetime=int(settings.REGISTRATION_SECRET_LIFETIME),
        require_consent=bool(settings.REGISTRATION_REQUIRE_CONSENT),
        client_id_prefix=str(settings.REGISTRATION_CLIENT_ID_PREFIX or ""),
        jwks_uri_require_https=bool(settings.JWKS_URI_REQUIRE_HTTPS))


class MetadataParser(BaseParser):
    """Every request body of the registration endpoints, whatever its type, so that each
    refusal is the RFC 7591 error: a JSON object within MAX_REQUEST_BODY, each member once."""

    media_type = "*/*"

    def parse(self, stream: Any, media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> Any:
        http = (parser_context or {})["request"]._request
        return _read_json(http.content_type or "", http.META, stream)


def _document(request: Request) -> Mapping[str, Any]:
    """Return the request's JSON object, or raise invalid_client_metadata."""
    # Django's content_type, without parameters (DRF's has them: "...; charset=utf-8").
    if (request._request.content_type or "").lower() != JSON_TYPE:
        raise InvalidClientMetadata("send the metadata as a JSON object with Content-Type "
                                    "application/json.")
    document = request.data
    if isinstance(document, QueryDict):  # DRF's answer for an empty body: no parser ran
        raise InvalidClientMetadata("the request body is not valid JSON.")
    return typing.cast(Mapping[str, Any], document)


def _read_json(content_type: str, meta: Mapping[str, Any], stream: Any) -> Mapping[str, Any]:
    if content_type.lower() != JSON_TYPE:
        raise InvalidClientMetadata("send the metadata as a JSON object with Content-Type "
                                    "application/json.")
    limit = identity_settings.MAX_REQUEST_BODY
    try:
        declared = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise InvalidClientMetadata("invalid Content-Length.") from None
    if declared > limit:
        raise InvalidClientMetadata(f"the request body is larger than {limit} bytes.")
    try:
        body = stream.read(limit + 1)
    except (OSError, RawPostDataException):
        raise InvalidClientMetadata("the request body could not be read.") from None
    if len(body) > limit:
        raise InvalidClientMetadata(f"the request body is larger than {limit} bytes.")
    try:
        document = json.loads(body.decode("utf-8"), object_pairs_hook=_no_duplicates,
                              parse_constant=_no_constant)
    except _Repeated as repeated:
        raise InvalidClientMetadata(f"{repeated.args[0][:100]}: is given more than once; "
                                    f"give each member once.") from None
    except (ValueError, RecursionError):
        raise InvalidClientMetadata("the request body is not valid JSON.") from None
    if not isinstance(document, dict):
        raise InvalidClientMetadata("the request body must be a JSON object.")
    return document


class _Repeated(ValueError):  # private: never leaves this module
    """A JSON object names a member twice; which value counts would be a guess."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for name, value in pairs:
        if name in seen:
            raise _Repeated(name)
        seen[name] = value
    return seen


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _known_scopes() -> set[str]:
    resources = get_resource_store().all_resources()
    return {r.name for r in resources.identity_resources} | {s.name for s in resources.api_scopes}


def _registration_uri(http: HttpRequest, client_id: str) -> str:
    return get_issuer(http) + reverse("identity:registration_client", args=[client_id])


def _initial_caller(http: HttpRequest) -> str:
    """Check the initial access token and name its holder for the audit trail."""
    if identity_settings.REGISTRATION_ALLOW_ANONYMOUS and "HTTP_AUTHORIZATION" not in http.META:
        rate = identity_settings.REGISTRATION_ANONYMOUS_RATE
        wait = rate and over_rate("dcr", client_address(http), rate,
                                  "REGISTRATION_ANONYMOUS_RATE")
        if wait:
            raise TooManyRequests(math.ceil(wait), "too many registrations from this address; "
                                                   "retry later")
        return "anonymous"
    found = verify_access_token(http, bearer_token(http, allow_body=False))
    require_scope(found, identity_settings.REGISTRATION_SCOPE)
    user = f" for user:{found.subject_id}" if found.subject_id else ""
    return f"client:{found.client_id}{user}"


def _response(http: HttpRequest, registration: Registration, token: str, *,
              secret: str | None, status: int) -> HttpResponse:
    body = metadata_document(registration)
    if secret is not None:
        body["client_secret"] = secret
    body["registration_access_token"] = token
    body["registration_client_uri"] = _registration_uri(http, registration.client.client_id)
    return json_response(body, status=status)


def _new_secret(lifetime: int) -> tuple[str, Secret]:
    plaintext = generate_secret()
    expiration = clock.now() + timedelta(seconds=lifetime) if lifetime > 0 else None
    return plaintext, issued_secret(hash_secret(plaintext), expiration)


def _register(request: Request) -> HttpResponse:
    http = request._request
    actor = _initial_caller(http)
    rules = policy()
    metadata = parse_metadata(_document(request), rules)
    client_id = new_client_id(rules.client_id_prefix)
    plaintext, stored = _new_secret(rules.secret_lifetime) if metadata.shared_secret else \
        (None, None)
    client = build_client(metadata, client_id=client_id,
                          client_secrets=(stored,) if stored else (), policy=rules)
    check_client(client, _known_scopes())
    token = new_registration_token()
    registration = Registration(client=client, token_hash=registration_token_hash(token),
                                issued_at=clock.now(), metadata=metadata.extra())
    get_client_registration_store().create(
        registration, actor=actor, changes=audit_changes(None, metadata_document(registration)))
    return _response(http, registration, token, secret=plaintext, status=201)


def _authorized(http: HttpRequest, client_id: str) -> tuple[Registration, str]:
    """Return the registration the presented registration access token manages.

    A missing client and another client's token get the same 401 (RFC 7592 §2): the answer
    does not tell whether the client exists.
    """
    token = bearer_token(http, allow_body=False)
    registration = get_client_registration_store().get(client_id)
    if not registration_token_matches(token, registration.token_hash if registration else None) \
            or registration is None:
        raise InvalidToken("the registration access token is invalid")
    return registration, token


def _update(request: Request, current: Registration, token: str) -> HttpResponse:
    """RFC 7592 §2.2: replace the metadata; the secret and the token stay unless the client
    comes to need a shared secret (from none or private_key_jwt: a new secret is issued and
    returned once). The keys are those of the request."""
    http = request._request
    document = _document(request)
    client_id = current.client.client_id
    if document.get("client_id") != client_id:
        raise InvalidClientMetadata("client_id: must be sent and equal the registered client id.")
    sent_secret = document.get("client_secret")
    if sent_secret is not None and not (
            isinstance(sent_secret, str)
            and verify_shared_secret(sent_secret, current.client.active_secrets(clock.now()))):
        raise InvalidClientMetadata("client_secret: does not match the client's secret.")
    rules = policy()
    metadata = parse_metadata(document, rules, granted_scopes=current.client.allowed_scopes)
    secrets = tuple(s for s in current.client.client_secrets if s.type != SecretType.JWK)
    plaintext = None
    if metadata.shared_secret and not secrets:
        plaintext, stored = _new_secret(rules.secret_lifetime)
        secrets = (stored,)
    client = build_client(metadata, client_id=client_id, client_secrets=secrets, policy=rules,
                          base=current.client)
    check_client(client, _known_scopes())
    updated = Registration(client=client, token_hash=current.token_hash,
                           issued_at=current.issued_at, metadata=metadata.extra())
    changes = audit_changes(metadata_document(current), metadata_document(updated))
    if not get_client_registration_store().replace(
            updated, actor=f"registration:{client_id}", changes=changes):
        raise InvalidToken("the registration access token is invalid")
    return _response(http, updated, token, secret=plaintext, status=200)


def _delete(http: HttpRequest, client_id: str) -> HttpResponse:
    if not get_client_registration_store().delete(client_id, actor=f"registration:{client_id}"):
        raise InvalidToken("the registration access token is invalid")
    response = HttpResponse(status=204)
    response["Cache-Control"] = "no-store"
    return response


class _AlwaysJson(BaseContentNegotiation):
    """One parser and one renderer: no 406 or 415 of DRF's, the RFC's error instead."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser:
        return next(iter(parsers))

    def select_renderer(self, request: Request, renderers: Iterable[BaseRenderer],
                        format_suffix: str | None = None) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class _RegistrationView(APIView):
    """Django REST framework views in the protocol's error frame: every refusal is the JSON of
    RFC 7591 §3.2.2 or RFC 6750 §3.1, an outage a 503 with Retry-After, never DRF's own
    answers. The tokens are checked by the views themselves, for those errors."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    throttle_classes: list[Any] = []
    parser_classes = [MetadataParser]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = _AlwaysJson
    metadata_class = None  # OPTIONS is not part of the protocol: 405
    schema = None  # a protocol endpoint, described by RFC 7591 and discovery, not /api/schema

    def framed(self, request: Request, call: Callable[[], HttpResponse]) -> HttpResponse:
        """Answer `call()`, its protocol errors and outages rendered as the RFC says."""
        return answer(request._request, call, refuse=error_json, fail=error_json)

    @property
    def allowed_methods(self) -> list[str]:
        return [m for m in ("GET", "POST", "PUT", "DELETE") if hasattr(self, m.lower())]

    def handle_exception(self, exc: Exception) -> Any:
        if isinstance(exc, exceptions.MethodNotAllowed):
            return error_json(MethodNotAllowed(", ".join(self.allowed_methods)))
        return super().handle_exception(exc)


class RegistrationView(_RegistrationView):
    """RFC 7591 §3: register a client."""

    def post(self, request: Request) -> HttpResponse:
        return self.framed(request, lambda: _register(request))


class RegistrationClientView(_RegistrationView):
    """RFC 7592 §2: read, update or delete a registered client with its registration access
    token. A missing client and another client's token get the same 401."""

    def get(self, request: Request, client_id: str) -> HttpResponse:
        def read() -> HttpResponse:  # RFC 7592 §2.1: no rotation; the secret is stored hashed
            registration, token = _authorized(request._request, client_id)
            return _response(request._request, registration, token, secret=None, status=200)

        return self.framed(request, read)

    def put(self, request: Request, client_id: str) -> HttpResponse:
        def update() -> HttpResponse:
            registration, token = _authorized(request._request, client_id)
            return _update(request, registration, token)

        return self.framed(request, update)

    def delete(self, request: Request, client_id: str) -> HttpResponse:
        def delete() -> HttpResponse:
            _authorized(request._request, client_id)
            return _delete(request._request, client_id)

        return self.framed(request, delete)


registration_endpoint = RegistrationView.as_view()
registration_client_endpoint = RegistrationClientView.as_view()
