"""The authentication and permission classes inside DRF views, in this process, against a stub
identity server over HTTP: the DRF contract (None without a Bearer header, (user, claims) on
success, 401 with a Bearer challenge, 403 with insufficient_scope) and the failure modes.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import RequestFactory
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import force_authenticate
from rest_framework.views import APIView

from identity.contrib.rest_framework import (
    HasAnyScope,
    HasScopes,
    IdentityTokenAuthentication,
    TokenUser,
    any_scope,
    exception_handler,
    scopes,
)
from tests.contrib.support import claims_for, ec_key, rsa_key, sign

factory = RequestFactory()


class _View(APIView):
    authentication_classes = [IdentityTokenAuthentication]
    renderer_classes = [JSONRenderer]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        user = request.user
        if not getattr(user, "is_authenticated", False):
            return Response({"anonymous": True})
        return Response({"sub": user.sub, "client_id": user.client_id,
                         "scopes": sorted(user.scopes),
                         "auth_is_claims": request.auth is user.claims})


class WithHandler(_View):
    """A project that names the contrib exception handler in its REST_FRAMEWORK settings."""

    def get_exception_handler(self) -> Any:
        return exception_handler


class Open(_View):
    permission_classes = [AllowAny]


class NeedsRead(_View):
    permission_classes = [HasScopes]
    required_scopes = ["api1.read", "api1"]


class NeedsWrite(WithHandler):
    permission_classes = [HasScopes]
    required_scopes = ["api1.write"]


class NeedsEither(_View):
    permission_classes = [HasAnyScope]
    required_scopes = ["api1.write", "api1.read"]


class FactoryAll(WithHandler):
    permission_classes = [scopes("api1", "api1.write")]


class FactoryAny(_View):
    permission_classes = [any_scope("api1.write", "api1")]


class EitherOperator(_View):
    permission_classes = [scopes("api1.write") | scopes("api1.read")]


class NeitherOperator(WithHandler):
    permission_classes = [scopes("api1.write") | ~scopes("api1.read")]


class WriteWithoutHandler(_View):
    permission_classes = [HasScopes]
    required_scopes = ["api1.write"]


class Forgotten(_View):
    permission_classes = [HasScopes]


def _call(view: type[APIView], token: str | None = None, *, authorization: str | None = None,
          user: Any = None) -> Any:
    headers = {}
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    elif authorization is not None:
        headers["HTTP_AUTHORIZATION"] = authorization
    request = factory.get("/", **headers)
    if user is not None:
        force_authenticate(request, user=user)
    response = view.as_view()(request)
    response.render()
    return response


def _token(issuer: str, **claims: Any) -> str:
    return sign(claims_for(issuer, **claims), rsa_key())


def test_without_a_bearer_header_authenticate_returns_none(resource_server) -> None:
    authentication = IdentityTokenAuthentication()
    for header in (None, "Basic YTpi", "Digest x", "Bearer"):
        meta = {"HTTP_AUTHORIZATION": header} if header else {}
        request = Request(factory.get("/", **meta))
        if header == "Bearer":  # the scheme without a token is a malformed bearer request
            with pytest.raises(Exception, match="does not hold a bearer token"):
                authentication.authenticate(request)
        else:
            assert authentication.authenticate(request) is None


def test_the_dpop_scheme_without_a_proof_is_refused_not_ignored(resource_server) -> None:
    # RFC 9449 §7.1: DPoP is a scheme this class handles, so no other class gets a say.
    request = Request(factory.get("/", HTTP_AUTHORIZATION="DPoP eyJ.eyJ.sig"))
    with pytest.raises(AuthenticationFailed, match="no DPoP proof"):
        IdentityTokenAuthentication().authenticate(request)


def test_no_token_is_a_401_with_a_bearer_challenge(resource_server) -> None:
    assert _call(Open).data == {"anonymous": True}
    response = _call(_View)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_valid_token_authenticates(resource_server, stub) -> None:
    for token in (_token(stub.url), sign(claims_for(stub.url), ec_key(), "ec", "ES256")):
        response = _call(_View, token)
        assert response.status_code == 200, response.data
        assert response.data == {"sub": "alice", "client_id": "service.client",
                                 "scopes": ["api1", "api1.read"], "auth_is_claims": True}
    assert stub.hits["/jwks"] == 1


def test_authenticate_returns_a_token_user_and_the_claims(resource_server, stub) -> None:
    request = Request(factory.get("/", HTTP_AUTHORIZATION=f"Bearer {_token(stub.url)}"))
    user, claims = IdentityTokenAuthentication().authenticate(request)
    assert isinstance(user, TokenUser) and user.is_authenticated and not user.is_anonymous
    assert user.scopes == frozenset({"api1", "api1.read"}) and user.claims is claims
    assert (user.pk, str(user)) == ("alice", "alice")
    client_only = TokenUser.from_claims({"client_id": "svc", "scope": ["a", "b"]})
    assert (client_only.sub, client_only.pk, client_only.scopes) == (
        None, "client:svc", frozenset({"a", "b"}))


def test_a_bad_token_is_a_401_invalid_token(resource_server, stub) -> None:
    response = _call(_View, _token(stub.url, aud="api2"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == (
        'Bearer realm="api", error="invalid_token", '
        'error_description="the token is not meant for this API"')
    assert response.data["detail"].code == "invalid_token"


def test_the_realm_is_a_setting(resource_server, stub) -> None:
    resource_server(REALM="orders")
    assert _call(_View)["WWW-Authenticate"] == 'Bearer realm="orders"'


def test_a_missing_scope_is_a_403_insufficient_scope(resource_server, stub) -> None:
    token = _token(stub.url)
    assert _call(NeedsRead, token).status_code == 200
    assert _call(NeedsEither, token).status_code == 200
    assert _call(FactoryAny, token).status_code == 200
    assert _call(EitherOperator, token).status_code == 200  # DRF's | composes them
    for view, wanted in ((NeedsWrite, "api1.write"), (FactoryAll, "api1 api1.write")):
        response = _call(view, token)
        assert response.status_code == 403
        assert response["WWW-Authenticate"] == (
            f'Bearer realm="api", error="insufficient_scope", scope="{wanted}"')
        assert response.data["detail"].code == "insufficient_scope"
        assert response.data["detail"] == f"This resource needs all of the scopes: {wanted}."
    narrow = _token(stub.url, scope="api1.other")
    assert _call(NeedsEither, narrow).status_code == 403
    assert _call(NeedsEither, narrow).data["detail"] == (
        "This resource needs one of the scopes: api1.read api1.write.")
    # composed with | and ~: DRF's generic 403 (its OR has no message), the challenge still
    # names a scope that was missing
    response = _call(NeitherOperator, token)
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response["WWW-Authenticate"]


def test_without_the_handler_a_missing_scope_is_a_403_without_challenge(resource_server,
                                                                       stub) -> None:
    response = _call(WriteWithoutHandler, _token(stub.url))
    assert response.status_code == 403 and "WWW-Authenticate" not in response
    assert response.data["detail"].code == "insufficient_scope"


def test_scope_permissions_without_a_token(resource_server, stub) -> None:
    response = _call(NeedsRead)
    assert response.status_code == 401 and response["WWW-Authenticate"] == 'Bearer realm="api"'

    class SessionUser:
        is_authenticated = True

    response = _call(NeedsRead, user=SessionUser())  # authenticated otherwise: no scopes
    assert response.status_code == 403 and "WWW-Authenticate" not in response


def test_a_view_without_required_scopes_is_a_configuration_error(resource_server, stub) -> None:
    with pytest.raises(ImproperlyConfigured, match="sets no required_scopes"):
        _call(Forgotten, _token(stub.url))
    with pytest.raises(ImproperlyConfigured):
        scopes()
    with pytest.raises(ImproperlyConfigured):
        scopes('bad"scope')


def test_the_unauthenticated_user_may_be_none(resource_server, stub, settings) -> None:
    settings.REST_FRAMEWORK = {**getattr(settings, "REST_FRAMEWORK", {}),
                               "UNAUTHENTICATED_USER": None}
    assert _call(Open).data == {"anonymous": True}
    assert _call(NeedsRead).status_code == 401
    assert _call(NeedsRead, _token(stub.url)).status_code == 200


def test_an_unreachable_identity_server_is_a_401_not_a_500(resource_server, stub,
                                                           caplog) -> None:
    stub.failing = True
    token = _token(stub.url)
    with caplog.at_level(logging.ERROR, logger="identity.contrib.rest_framework"):
        response = _call(_View, token)
    assert response.status_code == 401
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert "could not be checked" in response.data["detail"]
    assert "503" in caplog.text
    assert token not in caplog.text and token.split(".")[2] not in caplog.text


def test_a_server_on_a_closed_port_is_a_401(settings) -> None:
    from tests.helpers.servers import free_port

    settings.IDENTITY_RESOURCE_SERVER = {
        "AUTHORITY": f"http://127.0.0.1:{free_port()}", "AUDIENCE": "api1",
        "REQUIRE_HTTPS": False, "HTTP_TIMEOUT": 2}
    response = _call(_View, _token("http://127.0.0.1"))
    assert response.status_code == 401


def test_random_kids_do_not_hammer_the_server(resource_server, stub) -> None:
    assert _call(_View, _token(stub.url)).status_code == 200
    for attempt in range(20):
        token = sign(claims_for(stub.url), rsa_key(), kid=f"random-{attempt}")
        assert _call(_View, token).status_code == 401
    assert stub.hits["/jwks"] == 1  # the interval since the first fetch has not passed


def test_reference_tokens_through_the_stubs_introspection(resource_server, stub) -> None:
    resource_server(INTROSPECTION_CLIENT_ID="api1", INTROSPECTION_CLIENT_SECRET="secret")
    stub.active["ref-handle"] = {"active": True, "iss": stub.url, "aud": ["api1"],
                                 "client_id": "service.client", "scope": "api1 api1.read",
                                 "exp": claims_for(stub.url)["exp"], "token_type": "Bearer"}
    assert _call(NeedsRead, "ref-handle").status_code == 200
    assert _call(NeedsRead, "ref-handle").status_code == 200
    assert _call(_View, "never-issued").status_code == 401
    assert stub.hits["/introspect"] == 2  # the first handle once, then from the cache
    assert stub.introspection_auth[0] == "Basic YXBpMTpzZWNyZXQ="


def test_malformed_authorization_values_are_401(resource_server, stub) -> None:
    for value in ("Bearer two words", "Bearer ünïcode", "Bearer a.b.c"):
        response = _call(_View, authorization=value)
        assert response.status_code == 401, value
