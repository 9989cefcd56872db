"""The device flow walked through Django's test client: the device asks for codes and polls,
a person types the user code on /device and decides."""

from __future__ import annotations

import re
from typing import Any

from identity.constants import GrantType
from tests.factories import make_client, make_secret
from tests.helpers.calls import post_form, post_token

DEVICE_GRANT = GrantType.DEVICE_CODE.value
DEVICE_AUTHORIZATION = "/connect/deviceauthorization"
DEVICE_PAGE = "/device"
TV_AUTH = ("tv", "secret")


def device_client(client_id: str = "tv", **overrides: Any) -> Any:
    """A confidential device client that may ask for openid, profile, api1 and offline access."""
    values: dict[str, Any] = {
        "client_secrets": (make_secret(),),
        "allowed_grant_types": (DEVICE_GRANT,),
        "allowed_scopes": ("openid", "profile", "api1"),
        "allow_offline_access": True,
        "client_name": "Living room TV",
    }
    values.update(overrides)
    return make_client(client_id, **values)


def public_device_client(client_id: str = "tv.public", **overrides: Any) -> Any:
    """A public device client (no secret: it sends client_id)."""
    return device_client(client_id, client_secrets=(), require_client_secret=False, **overrides)


def start(client: Any, scope: str | None = "openid profile api1 offline_access",
          auth: Any = TV_AUTH, **params: str) -> Any:
    """POST a device authorization request."""
    data = {**({"scope": scope} if scope is not None else {}), **params}
    return post_form(client, DEVICE_AUTHORIZATION, data, auth=auth)


def started(client: Any, **kwargs: Any) -> dict[str, Any]:
    """Start a device authorization that must succeed; return its JSON body."""
    response = start(client, **kwargs)
    assert response.status_code == 200, response.content
    body: dict[str, Any] = response.json()
    return body


def poll(client: Any, device_code: str, auth: Any = TV_AUTH, **params: str) -> Any:
    """Poll the token endpoint with a device code."""
    return post_token(client, {"grant_type": DEVICE_GRANT, "device_code": device_code,
                               **params}, auth=auth)


def enter_code(browser: Any, user_code: str, **extra: Any) -> Any:
    """Type a user code on the device page (the first step)."""
    return browser.post(DEVICE_PAGE, {"user_code": user_code}, **extra)


def decide(browser: Any, user_code: str, decision: str = "allow",
           scopes: list[str] | None = None, **extra: Any) -> Any:
    """Approve or deny on the device page; `scopes` are the ticked boxes (all when None)."""
    data: dict[str, Any] = {"user_code": user_code, "decision": decision}
    if scopes is not None:
        data.update(choose_scopes="1", scope=scopes)
    return browser.post(DEVICE_PAGE, data, **extra)


def error_of(response: Any) -> str | None:
    """Return the `error` of a JSON error response."""
    value = response.json().get("error")
    return str(value) if value is not None else None


def message_of(response: Any) -> str:
    """Return the message shown on the device page, or ""."""
    found = re.search(r'id="device-message"[^>]*>([^<]*)<', response.content.decode())
    return found.group(1).strip() if found else ""
