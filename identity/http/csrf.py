"""CSRF protection for the forms on our pages, which are served with `Referrer-Policy: no-referrer`.

Under that policy a browser sends `Origin: null` with the page's own form posts (Fetch, "serializing
a request origin"), and Django's check refuses a null Origin even beside a valid token. These views
accept a null Origin and still require the token, which a page on another site cannot read; any
other Origin must still be this site's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.decorators import decorator_from_middleware
from django.views.decorators.csrf import csrf_exempt


class _NullOriginCsrfMiddleware(CsrfViewMiddleware):
    # A private method of Django's middleware (stable since 4.0), absent from django-stubs.
    def _origin_verified(self, request: HttpRequest) -> bool:
        return (request.META.get("HTTP_ORIGIN") == "null"
                or super()._origin_verified(request))  # type: ignore[misc]


csrf_protect_form = decorator_from_middleware(_NullOriginCsrfMiddleware)


def no_referrer_form(view: Callable[..., Any]) -> Callable[..., Any]:
    """Check CSRF on `view` here instead of in the project's middleware, tolerating `Origin: null`.

    A successful check marks the request as done, so Django's own `csrf_protect` inside the view
    (LoginView has one) does not refuse it again.
    """
    return csrf_exempt(csrf_protect_form(view))
