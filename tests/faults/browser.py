"""The authorization code flow walked over HTTP, as a browser and a client application would,
against a server in a subprocess (the user agent is tests/helpers/user_agent.py)."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.helpers import forms
from tests.helpers.basic_auth import basic
from tests.helpers.pkce import Pkce
from tests.helpers.user_agent import Answer, Browser

__all__ = ["Answer", "Browser"]

REDIRECT = "http://localhost:21402/signin-oidc"
SCOPE = "openid profile api1 offline_access"
BASIC = {client: basic(client, "secret") for client in ("service.client", "interactive")}


def pkce_pair() -> tuple[str, str]:
    pkce = Pkce.new()
    return pkce.verifier, pkce.challenge


def authorize_path(challenge: str) -> str:
    return "/connect/authorize?" + urlencode({
        "client_id": "interactive", "redirect_uri": REDIRECT, "response_type": "code",
        "scope": SCOPE, "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge, "code_challenge_method": "S256"})


def csrf_token(page: Answer) -> str:
    return forms.csrf_token(page.body)


def sign_in(browser: Browser, next_path: str, password: str = "alice-demo-password") -> Answer:
    """Fill in the login page for `next_path`; return the answer to the form post."""
    page = browser.get("/account/login?" + urlencode({"next": next_path}))
    assert page.status == 200, page.status
    return browser.post("/account/login", {"csrfmiddlewaretoken": csrf_token(page),
                                           "username": "alice", "password": password,
                                           "next": next_path})


def get_code(browser: Browser, challenge: str) -> str:
    """Walk authorize (signing in and consenting when asked); return the code."""
    path = authorize_path(challenge)
    for _ in range(6):
        answer = browser.get(path)
        assert answer.status == 302, (answer.status, answer.body[:300])
        target = answer.location
        if target.startswith(REDIRECT):
            return parse_qs(urlsplit(target).query)["code"][0]
        if target.startswith("/account/login"):
            signed_in = sign_in(browser, parse_qs(urlsplit(target).query)["next"][0])
            assert signed_in.status == 302, (signed_in.status, signed_in.body[:300])
            path = signed_in.location
        elif target.startswith("/connect/consent"):
            page = browser.get(target)
            back = parse_qs(urlsplit(target).query)["return"][0]
            answer = browser.post("/connect/consent", {"csrfmiddlewaretoken": csrf_token(page),
                                                       "return": back, "decision": "allow"})
            path = answer.location
        else:
            path = target
    raise AssertionError("authorize did not end at the client")


def token(port: int, form: dict[str, str], client: str = "interactive") -> Answer:
    return Browser(port).post("/connect/token", form, Authorization=BASIC[client])


def exchange(port: int, code: str, verifier: str) -> Answer:
    return token(port, {"grant_type": "authorization_code", "code": code,
                        "redirect_uri": REDIRECT, "code_verifier": verifier})


def refresh(port: int, refresh_token: str) -> Answer:
    return token(port, {"grant_type": "refresh_token", "refresh_token": refresh_token})


def client_credentials(port: int) -> Answer:
    return token(port, {"grant_type": "client_credentials", "scope": "api1"}, "service.client")
