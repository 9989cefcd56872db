"""Fixtures of the registration tests: a seeded server whose `dcr.admin` client may get the
registration scope, and calls to the registration endpoints."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.factories import make_client, make_interactive_client
from tests.helpers.calls import client_credentials_token
from tests.helpers.seeding import seed_with_api_secrets

DCR = "/connect/dcr"
JSON = "application/json"
ADMIN_AUTH = ("dcr.admin", "secret")
# A client-credentials registration that the test policy allows.
SERVICE = {"grant_types": ["client_credentials"], "scope": "api1", "client_name": "Robot"}
NATIVE_REDIRECT = "http://127.0.0.1:7890/callback"
WEB = {"redirect_uris": ["https://app.example.com/cb"], "client_name": "Web app",
       "scope": "openid profile"}


@pytest.fixture
def dcr_server(db, identity_config) -> None:
    """The reference clients and APIs (api1 may introspect), the `dcr` API scope, a client
    `dcr.admin` allowed it, and a policy that lets registered clients have api1 too."""
    from clients_app.models import ApiScope

    ApiScope.objects.create(name="dcr")
    seed_with_api_secrets(make_client(), make_interactive_client(),
                          make_client("dcr.admin", allowed_scopes=("dcr",)))
    identity_config(REGISTRATION_SCOPES=["openid", "profile", "email", "api1"])


@pytest.fixture
def initial_token(dcr_server, token_post) -> str:
    """An initial access token: dcr.admin's client-credentials token with the dcr scope."""
    return client_credentials_token(token_post, auth=ADMIN_AUTH, scope="dcr")


def bearer(token: str | None) -> dict[str, str]:
    """The test client's keyword argument carrying a Bearer token (none for None)."""
    return {} if token is None else {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def send(client: Any, method: str, path: str, body: Any = None, *, token: str | None = None,
         content_type: str = JSON, raw: bytes | str | None = None, **meta: str) -> Any:
    """Send `body` as JSON (or `raw` as is) with a Bearer token (and `meta`, e.g. REMOTE_ADDR);
    return the response."""
    if method == "GET":
        return client.get(path, **bearer(token), **meta)
    data = raw if raw is not None else (json.dumps(body) if body is not None else "")
    call = getattr(client, method.lower())
    return call(path, data, content_type=content_type, **bearer(token), **meta)


@pytest.fixture
def register(client, initial_token) -> Callable[..., Any]:
    """POST metadata to the registration endpoint with the initial access token (or `token`)."""

    def post(body: Any, token: str | None = initial_token, **kwargs: Any) -> Any:
        return send(client, "POST", DCR, body, token=token, **kwargs)

    return post


@pytest.fixture
def registered(register) -> Callable[..., dict[str, Any]]:
    """Register a client (the service metadata by default); return the 201 body."""

    def make(body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = register(SERVICE if body is None else body)
        assert response.status_code == 201, response.content
        return dict(response.json())

    return make


def registration_path(reply: dict[str, Any]) -> str:
    """The path of a client's registration_client_uri."""
    return f"{DCR}/{reply['client_id']}"
