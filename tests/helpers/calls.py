"""Calls to the back-channel endpoints through Django's test client, each returning the response
untouched: the token endpoint (RFC 6749 §3.2), introspection (RFC 7662), revocation (RFC 7009) and
userinfo (OpenID Connect Core §5.3). Tests assert on the response; these only build requests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from tests.helpers.basic_auth import Credentials, basic_auth

FORM = "application/x-www-form-urlencoded"
TOKEN = "/connect/token"
INTROSPECT = "/connect/introspect"
REVOKE = "/connect/revocation"
USERINFO = "/connect/userinfo"

INTERACTIVE_AUTH: Credentials = ("interactive", "secret")
SERVICE_AUTH: Credentials = ("service.client", "secret")
API_AUTH: Credentials = ("api1", "api-secret")  # the ApiSecret seed_with_api_secrets gives api1


def post_form(client: Any, path: str, data: Mapping[str, str] | str | bytes, *,
              auth: Credentials | None = None, **extra: str) -> Any:
    """POST `data` form-urlencoded to `path`, with Basic credentials when `auth` is given;
    `extra` goes to the test client as is (META names: HTTP_ORIGIN=...)."""
    body = data if isinstance(data, str | bytes) else urlencode(data)
    return client.post(path, body, content_type=FORM, **basic_auth(auth), **extra)


def post_token(client: Any, data: Mapping[str, str],
               auth: Credentials | None = INTERACTIVE_AUTH) -> Any:
    """POST a form to the token endpoint; Basic credentials unless `auth` is None."""
    return post_form(client, TOKEN, data, auth=auth)


def refresh(client: Any, token: str, scope: str | None = None,
            auth: Credentials | None = INTERACTIVE_AUTH) -> Any:
    """Redeem a refresh token (RFC 6749 §6), narrowing the scope when `scope` is given."""
    data = {"grant_type": "refresh_token", "refresh_token": token}
    if scope:
        data["scope"] = scope
    return post_token(client, data, auth=auth)


def client_credentials_token(token_post: Callable[..., Any],
                             auth: Credentials = SERVICE_AUTH, **params: str) -> str:
    """Return an access token from the client credentials grant, posted with `token_post` (the
    fixture of tests/conftest.py); a setup step, so anything but a 200 fails the test."""
    response = token_post({"grant_type": "client_credentials", **params}, auth=auth)
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def introspect(client: Any, token: str | None, *, auth: Credentials | None = API_AUTH,
               **params: str) -> Any:
    """POST `token` to the introspection endpoint, as api1 with its ApiSecret by default."""
    data = {**({"token": token} if token is not None else {}), **params}
    return post_form(client, INTROSPECT, data, auth=auth)


def revoke(client: Any, token: str | None, *, auth: Credentials | None = INTERACTIVE_AUTH,
           **params: str) -> Any:
    """POST `token` to the revocation endpoint, as the interactive client by default."""
    data = {**({"token": token} if token is not None else {}), **params}
    return post_form(client, REVOKE, data, auth=auth)


def userinfo(client: Any, token: str) -> Any:
    """GET the userinfo endpoint with `token` in a Bearer header (RFC 6750 §2.1)."""
    return client.get(USERINFO, HTTP_AUTHORIZATION=f"Bearer {token}")
