"""The issuer identifier: the configured one, or this request's origin."""

from __future__ import annotations

from django.http import HttpRequest

from identity.conf import identity_settings


def get_issuer(request: HttpRequest) -> str:
    """Return IDENTITY['ISSUER'], never taken from request headers when set."""
    configured = identity_settings.ISSUER
    if configured:
        return str(configured).rstrip("/")
    return request.build_absolute_uri("/").rstrip("/")
