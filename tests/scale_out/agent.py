"""Requests to the nodes as clients and users send them: the user agent of the fault tests
(cookies kept, no redirects followed) pointed at a node, and the back-channel calls."""

from __future__ import annotations

import json
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

from tests.faults import browser as ua
from tests.helpers.user_agent import FORM, Answer, Browser
from tests.scale_out.nodes import Node, request


@dataclass
class NodeBrowser(Browser):
    """The fault tests' Browser, talking to `node` from `source` instead of to 127.0.0.1."""

    node: Node | None = None
    source: str | None = None

    def request(self, method: str, path: str, form: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> Answer:
        assert self.node is not None
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body, sent["Content-Type"] = urlencode(form).encode(), FORM
        status, answer_headers, data = request(self.node, method, path, body=body,
                                               headers=sent, source=self.source,
                                               timeout=self.timeout)
        answer = Answer(status, answer_headers, data)
        for header in answer.headers.get_all("Set-Cookie") or ():
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return answer


def browser(node: Node, source: str) -> NodeBrowser:
    return NodeBrowser(port=0, node=node, source=source)


def post(node: Node, source: str, path: str, form: dict[str, str], client: str,
         secret: str = "secret") -> Answer:
    """A back-channel POST authenticated as `client` (HTTP Basic)."""
    from tests.helpers.basic_auth import basic

    return browser(node, source).post(path, form, Authorization=basic(client, secret))


def exchange(node: Node, source: str, code: str, verifier: str) -> Answer:
    return post(node, source, "/connect/token", {
        "grant_type": "authorization_code", "code": code, "redirect_uri": ua.REDIRECT,
        "code_verifier": verifier}, "interactive")


def refresh(node: Node, source: str, refresh_token: str) -> Answer:
    return post(node, source, "/connect/token", {
        "grant_type": "refresh_token", "refresh_token": refresh_token}, "interactive")


def client_credentials(node: Node, source: str, client: str = "service.client",
                       secret: str = "secret", scope: str = "api1") -> Answer:
    return post(node, source, "/connect/token",
                {"grant_type": "client_credentials", "scope": scope}, client, secret)


def introspect(node: Node, source: str, token: str, client: str = "service.client") -> Answer:
    return post(node, source, "/connect/introspect", {"token": token}, client)


def api(node: Node, source: str, token: str, method: str, path: str,
        body: Any = None) -> tuple[int, Any]:
    """A management API call with a Bearer token; return the status and the JSON body."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    status, _, data = request(node, method, path, headers=headers, source=source,
                              body=json.dumps(body).encode() if body is not None else None)
    return status, json.loads(data or b"null")
