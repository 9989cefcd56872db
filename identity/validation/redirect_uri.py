"""Redirect URI matching: exact, except the port of a loopback http URI (native apps).

Spec: RFC 6749 §3.1.2, RFC 9700 §4.1.3 (exact string matching), RFC 8252 §7.3 (loopback ports).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

_LOOPBACK_PREFIXES: Final = ("http://127.0.0.1", "http://[::1]")


def _without_port(uri: str) -> str | None:
    """Return a loopback http URI with its port taken out, or None if it is not one.

    Plain string work rather than urlsplit, which drops tabs and newlines and forgets an empty
    "?" or "#": strings that differ must not compare equal.
    """
    for prefix in _LOOPBACK_PREFIXES:
        if not uri.startswith(prefix):
            continue
        rest = uri[len(prefix):]
        if rest.startswith(":"):
            digits = len(rest) - 1 - len(rest[1:].lstrip("0123456789"))
            port, rest = rest[1:1 + digits], rest[1 + digits:]
            if digits > 5 or (port and int(port) > 65535):
                return None
        if rest[:1] not in ("", "/", "?", "#"):
            return None  # another host (127.0.0.1.evil...), user info, a port that is not one
        return prefix + rest
    return None


def redirect_uri_matches(requested: str, registered: Iterable[str]) -> bool:
    """Tell whether `requested` is one of the registered URIs, character for character.

    A registered `http://127.0.0.1/...` or `http://[::1]/...` also matches the same URI with any
    port, since a native app listens on whatever port the system gives it.
    """
    registered = tuple(registered)
    if requested in registered:
        return True
    asked = _without_port(requested)
    return asked is not None and any(_without_port(uri) == asked for uri in registered)
