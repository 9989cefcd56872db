"""A minimal HTTP user agent for a server in a subprocess: cookies, no automatic redirects, and
the authorization code flow walked as a browser and a client application would."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import re
import secrets
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlencode, urlsplit

REDIRECT = "http://localhost:21402/signin-oidc"
SCOPE = "openid profile api1 offline_access"
BASIC = {"service.client": "Basic " + base64.b64encode(b"service.client:secret").decode(),
         "interactive": "Basic " + base64.b64encode(b"interactive:secret").decode()}
FORM = "application/x-www-form-urlencoded"


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


@dataclass
class Browser:
    """One user agent: a cookie jar over one keep-alive connection to the server."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, form: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> Answer:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body, sent["Content-Type"] = urlencode(form), FORM
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            answer = Answer(response.status, response.headers, response.read())
        finally:
            connection.close()
        for header in answer.headers.get_all("Set-Cookie") or ():
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return answer

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, str], **headers: str) -> Answer:
        return self.request("POST", path, form, headers)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_path(challenge: str) -> str:
    return "/connect/authorize?" + urlencode({
        "client_id": "interactive", "redirect_uri": REDIRECT, "response_type": "code",
        "scope": SCOPE, "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge, "code_challenge_method": "S256"})


def csrf_token(page: Answer) -> str:
    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
    assert found, page.body[:500]
    return found.group(1).decode()


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
