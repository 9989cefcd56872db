"""A minimal HTTP user agent for a server in a subprocess: a cookie jar, no automatic redirects,
a new connection per request (gunicorn's sync workers close them anyway). Used by the fault
tests and by bench/soak.py."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urlencode

FORM = "application/x-www-form-urlencoded"


@dataclass
class Answer:
    """One response, read whole."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


@dataclass
class Browser:
    """One user agent on 127.0.0.1:`port`: keeps the cookies the server sets, sends them back.
    Transport failures (timeouts, refused connections, broken answers) propagate as OSError or
    http.client.HTTPException."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    timeout: float = 60.0

    def request(self, method: str, path: str, form: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> Answer:
        """Send one request (`form` form-urlencoded in the body); return the answer."""
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body, sent["Content-Type"] = urlencode(form), FORM
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
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
