"""Requests the server itself sends to URLs that clients registered (key sets, logout POSTs)."""

from __future__ import annotations

import urllib.request
from typing import Any, Final


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # Only the registered URL is called: a redirect could lead anywhere, inside networks too.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


NO_REDIRECTS: Final = urllib.request.build_opener(_NoRedirects)
"""An opener that never follows a redirect; a 3xx answer raises HTTPError."""
