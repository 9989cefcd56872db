"""Thin HTTP views of the identity app."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_safe


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """Say what this server is, for people and load balancers."""
    return JsonResponse({"service": "identity", "status": "ok"})
