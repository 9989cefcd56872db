"""Read the HTML forms of the server's pages as a browser filling them in would."""

from __future__ import annotations

import re
from typing import Any

_CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


def find_csrf_token(page: Any) -> str | None:
    """Return the CSRF token of the page's form, or None when it has none. `page`: the HTML
    (text or bytes), or a Django test client response."""
    html = getattr(page, "content", page)
    found = _CSRF.search(html.encode() if isinstance(html, str) else html)
    return found.group(1).decode() if found else None


def csrf_token(page: Any) -> str:
    """Return the CSRF token of the page's form; a page without one fails the test."""
    token = find_csrf_token(page)
    assert token is not None, getattr(page, "content", page)[:500]
    return token


def add_generated_secret(fields: dict[str, str]) -> None:
    """Add a row with Generate ticked to the client-secrets inline of an admin form's fields."""
    total = int(fields["client_secrets-TOTAL_FORMS"])
    fields.update({"client_secrets-TOTAL_FORMS": str(total + 1),
                   f"client_secrets-{total}-type": "SharedSecret",
                   f"client_secrets-{total}-generate": "on"})
