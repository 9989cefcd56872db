"""What every management API view shares: callers, permissions, the rate limit, pagination,
JSON, `Cache-Control: no-store`, ETags, and audited writes."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from rest_framework import serializers, viewsets
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from clients_app.api.access import (
    ManagementPermission,
    StaffSessionAuthentication,
    TokenAuthentication,
    caller_name,
)
from clients_app.api.conditional import etag
from clients_app.api.throttling import CallerRateThrottle
from clients_app.importing import lock_configuration
from identity import audit


class StrictSerializer(serializers.Serializer):
    """A body's members must all be known: a misspelt property is refused, never ignored.

    Read-only members (`created`, `updated`...) are accepted and left alone, so that what a GET
    returned can be changed and sent back with PUT.
    """

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(str(name) for name in data if name not in self.fields)
            if unknown:
                raise serializers.ValidationError({name: [
                    "Not a property of this object; check its spelling (/api/schema lists "
                    "them all)."] for name in unknown})
        return super().to_internal_value(data)


class ManagementPagination(PageNumberPagination):
    """`?page=N`, 50 per page by default, `?page_size=` up to 500."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class ManagementViewSet(viewsets.GenericViewSet):
    """The base of every management API view."""

    authentication_classes = [TokenAuthentication, StaffSessionAuthentication]
    permission_classes = [ManagementPermission]
    throttle_classes = [CallerRateThrottle]
    pagination_class = ManagementPagination
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer]
    parser_classes = [JSONParser]
    # The model whose permissions a staff user needs (view_, add_, change_, delete_).
    permission_model: Any = None
    # The audit trail's name for the objects of this view.
    audit_type = ""

    def finalize_response(self, request: Request, response: Any, *args: Any,
                          **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        # Responses may carry a secret shown once; none may be kept by a cache on the way.
        response["Cache-Control"] = "no-store"
        return response

    def object_response(self, representation: Any, status: int = 200,
                        headers: Mapping[str, str] | None = None) -> Response:
        """Answer with one object and its ETag."""
        return Response(representation, status=status,
                        headers={"ETag": etag(representation), **(headers or {})})

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Run a write in one transaction, after the imports and admin saves under way."""
        with transaction.atomic():
            lock_configuration()
            yield

    def audit(self, action: str, target: str,
              changes: Mapping[str, tuple[Any, Any]] | None = None) -> None:
        """Record a change made by the caller (inside the write's transaction)."""
        audit.record(actor=caller_name(self.request), via="api", action=action,
                     target_type=self.audit_type, target=target, changes=changes)


def filter_enabled(rows: Any, request: Request) -> Any:
    """Apply `?enabled=true|false` (or 1|0) to a queryset of rows with an `enabled` column."""
    enabled = request.query_params.get("enabled")
    if enabled is None:
        return rows
    if enabled.lower() not in ("true", "false", "1", "0"):
        raise serializers.ValidationError({"enabled": ["Write true or false."]})
    return rows.filter(enabled=enabled.lower() in ("true", "1"))


def differences(before: Mapping[str, Any], after: Mapping[str, Any],
                ignore: frozenset[str] = frozenset({"updated"})) -> dict[str, tuple[Any, Any]]:
    """Return the fields whose values differ, as (before, after)."""
    return {name: (before.get(name), after.get(name)) for name in sorted(set(before) | set(after))
            if name not in ignore and before.get(name) != after.get(name)}
