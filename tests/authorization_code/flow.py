"""Helpers that walk the authorization code flow through Django's test client."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

REDIRECT = "http://localhost:21402/signin-oidc"


@dataclass
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode()).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())


def authorize_params(pkce: Pkce | None = None, **overrides: str) -> dict[str, str]:
    params = {"client_id": "interactive", "redirect_uri": REDIRECT, "response_type": "code",
              "scope": "openid profile email api1 offline_access", "state": "st-123",
              "nonce": "n-456"}
    if pkce is not None:
        params.update(code_challenge=pkce.challenge, code_challenge_method="S256")
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def authorize(client, **params: str):
    return client.get("/connect/authorize?" + urlencode(params))


def redirect_params(response) -> dict[str, str]:
    """Return the query (or fragment) parameters of a redirect to the client."""
    location = response["Location"]
    parts = urlsplit(location)
    raw = parts.fragment or parts.query
    return {k: v[0] for k, v in parse_qs(raw).items()}


def login(client, username: str = "alice", password: str = "pw-alice-123"):
    client.login(username=username, password=password)


def get_code(client, pkce: Pkce, **overrides: str) -> str:
    response = authorize(client, **authorize_params(pkce, **overrides))
    assert response.status_code == 302, response.content[:500]
    params = redirect_params(response)
    assert "code" in params, params
    return params["code"]


def exchange(client, code: str, pkce: Pkce | None, *, redirect_uri: str = REDIRECT,
             auth=("interactive", "secret")):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if pkce is not None:
        data["code_verifier"] = pkce.verifier
    headers = {}
    if auth is not None:
        raw = f"{auth[0]}:{auth[1]}".encode()
        headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(raw).decode()
    return client.post("/connect/token", urlencode(data),
                       content_type="application/x-www-form-urlencoded", **headers)


def refresh(client, token: str, scope: str | None = None, auth=("interactive", "secret")):
    data = {"grant_type": "refresh_token", "refresh_token": token}
    if scope:
        data["scope"] = scope
    raw = f"{auth[0]}:{auth[1]}".encode()
    return client.post("/connect/token", urlencode(data),
                       content_type="application/x-www-form-urlencoded",
                       HTTP_AUTHORIZATION="Basic " + base64.b64encode(raw).decode())
