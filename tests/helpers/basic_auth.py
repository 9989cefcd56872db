"""HTTP Basic client authentication, built as RFC 6749 §2.3.1 asks: the client id and secret are
form-urlencoded (Appendix B) before they are joined with ":" and base64-encoded."""

from __future__ import annotations

import base64
from urllib.parse import quote_plus

Credentials = tuple[str, str]


def basic(client_id: str, secret: str, *, form_encode: bool = True) -> str:
    """Return the `Authorization` header value for `client_id` and `secret`.

    `form_encode=False` joins them as given: for tests that send what a sloppy client sends
    (a raw "%" or ":" inside the credentials).
    """
    if form_encode:
        client_id, secret = quote_plus(client_id), quote_plus(secret)
    raw = f"{client_id}:{secret}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def basic_auth(auth: Credentials | None) -> dict[str, str]:
    """Return the Django test client's keyword argument carrying Basic credentials: unpack it
    into `client.post(...)`. None: no credentials, an empty dict."""
    return {} if auth is None else {"HTTP_AUTHORIZATION": basic(*auth)}
