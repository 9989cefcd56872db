"""Fixtures of the management API tests: an automation client allowed the management scopes,
its tokens, and staff users with chosen permissions."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client as HttpClient

from identity.domain.resources import ApiScope
from tests.factories import make_client
from tests.helpers.calls import post_form

AUTOMATION = ("automation", "automation-secret")
MANAGE, READ = "identity.manage", "identity.manage.read"


@pytest.fixture
def api_seeded(db: Any) -> None:
    """The reference clients and scopes, the management scopes, and the automation client."""
    from clients_app.importing import import_document
    from clients_app.mapping import real_models
    from identity.config_document import ConfigDocument
    from identity.domain.resources import STANDARD_IDENTITY_RESOURCES, Resources
    from tests.factories import make_interactive_client, make_resources, make_secret

    reference = make_resources()
    scopes = (*reference.api_scopes, ApiScope(name=MANAGE), ApiScope(name=READ))
    automation = make_client("automation", client_secrets=(make_secret("automation-secret"),),
                             allowed_scopes=(MANAGE, READ, "api1"))
    clients = (make_client(), make_interactive_client(), automation)
    import_document(ConfigDocument(clients=clients, resources=Resources(
        identity_resources=STANDARD_IDENTITY_RESOURCES, api_scopes=scopes,
        api_resources=reference.api_resources)), real_models())


@pytest.fixture
def token_for(api_seeded: None, client: HttpClient) -> Callable[[str], str]:
    """Return an access token of the automation client carrying `scope`."""

    def issue(scope: str = MANAGE) -> str:
        response = post_form(client, "/connect/token",
                             {"grant_type": "client_credentials", "scope": scope},
                             auth=AUTOMATION)
        assert response.status_code == 200, response.content
        return str(response.json()["access_token"])

    return issue


class Api:
    """Calls to /api/ with a bearer token (or a signed-in session) and JSON bodies."""

    def __init__(self, http: HttpClient, token: str | None) -> None:
        self.http, self.token = http, token

    def _headers(self, headers: dict[str, str]) -> dict[str, str]:
        out = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
        if self.token:
            out["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        return out

    def get(self, path: str, **headers: str) -> Any:
        return self.http.get(path, **self._headers(headers))

    def send(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        data = json.dumps(body) if body is not None else ""
        return getattr(self.http, method.lower())(
            path, data, content_type="application/json", **self._headers(headers))

    def post(self, path: str, body: Any = None, **headers: str) -> Any:
        return self.send("POST", path, body, **headers)

    def put(self, path: str, body: Any, **headers: str) -> Any:
        return self.send("PUT", path, body, **headers)

    def patch(self, path: str, body: Any, **headers: str) -> Any:
        return self.send("PATCH", path, body, **headers)

    def delete(self, path: str, **headers: str) -> Any:
        return self.send("DELETE", path, None, **headers)


@pytest.fixture
def api(token_for: Callable[[str], str], client: HttpClient) -> Api:
    """The API as the automation client with the management scope."""
    return Api(client, token_for(MANAGE))


@pytest.fixture
def staff(api_seeded: None) -> Callable[..., Api]:
    """Return the API as a signed-in staff user holding the named permissions."""

    def make(*codenames: str, username: str = "operator") -> Api:
        user = User.objects.create_user(username, password="pw-unused", is_staff=True)
        for codename in codenames:
            app, _, code = codename.partition(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app, codename=code))
        http = HttpClient(enforce_csrf_checks=False)
        http.force_login(user)
        return Api(http, None)

    return make
