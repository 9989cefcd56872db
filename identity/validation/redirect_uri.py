"""Redirect URI matching: exact, except the port of a loopback http URI (native apps).

Spec: RFC 6749 §3.1.2, RFC 9700 §4.1.3 (exact string matching), RFC 8252 §7.3 (loopback ports).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final
from urllib.parse import urlsplit

_LOOPBACK_IPS: Final = frozenset({"127.0.0.1", "[::1]"})


def _without_port(uri: str) -> tuple[str, str, str, str, str] | None:
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    host = parts.netloc.rsplit("@", 1)[-1]
    host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return parts.scheme, host, parts.path, parts.query, parts.fragment


def redirect_uri_matches(requested: str, registered: Iterable[str]) -> bool:
    """Tell whether `requested` is one of the registered URIs, character for character.

    A registered `http://127.0.0.1/...` or `http://[::1]/...` also matches the same URI with any
    port, since a native app listens on whatever port the system gives it.
    """
    registered = tuple(registered)
    if requested in registered:
        return True
    if not requested.startswith(("http://127.0.0.1", "http://[::1]")):
        return False
    asked = _without_port(requested)
    if asked is None or asked[1] not in _LOOPBACK_IPS or "@" in urlsplit(requested).netloc:
        return False
    return any(_without_port(uri) == asked for uri in registered
               if uri.startswith(("http://127.0.0.1", "http://[::1]")))
