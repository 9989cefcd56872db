"""Identity resources, API scopes and API resources over the management API, by name.

Represented with the domain's names, collections nested (an API resource's secrets are a
sub-resource). Names are scope values on the wire, so they are checked as the protocol reads
them; a client's allowed scopes must name existing ones, so a scope that clients use is not
deleted or renamed from under them.
"""

from __future__ import annotations

import dataclasses
import functools
import typing
from typing import Any, Final

from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404
from rest_framework import filters, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from clients_app import models
from clients_app.api.base import (
    ManagementViewSet,
    StrictSerializer,
    differences,
    filter_enabled,
)
from clients_app.api.conditional import check_if_match, etag
from clients_app.mapping import (
    real_models,
    resource_child_rows,
    resource_column_values,
    resource_model_names,
    resource_to_domain,
)
from identity.domain import resources as rdomain

_CHILD_LENGTH: Final = {"user_claims": 200, "scopes": 200}


def _field_for(cls: type, name: str, model: type[Model]) -> serializers.Field:
    hint = typing.get_type_hints(cls)[name]
    args = typing.get_args(hint)
    optional = type(None) in args
    if name == "properties":
        return serializers.DictField(child=serializers.CharField(allow_blank=True),
                                     required=False, help_text="Names to values.")
    if name in _CHILD_LENGTH:
        return serializers.ListField(child=serializers.CharField(
            max_length=_CHILD_LENGTH[name]), required=False)
    if name == "allowed_access_token_signing_algorithms":
        return serializers.ListField(child=serializers.CharField(max_length=20), required=False)
    if hint is bool:
        return serializers.BooleanField(required=False)
    field: Any = model._meta.get_field(name)
    return serializers.CharField(required=name == "name", allow_null=optional,
                                 allow_blank=optional, max_length=field.max_length)


@functools.cache  # one class per kind: the schema names it once
def _serializer(cls: type, model: type[Model]) -> type[serializers.Serializer]:
    fields: dict[str, Any] = {f.name: _field_for(cls, f.name, model)
                              for f in dataclasses.fields(cls) if f.name != "api_secrets"}
    fields["created"] = serializers.DateTimeField(read_only=True)
    fields["updated"] = serializers.DateTimeField(read_only=True)
    return type(f"{cls.__name__}Serializer", (StrictSerializer,), fields)


def represent(cls: type, row: Any) -> dict[str, Any]:
    """Return the API representation of a resource row."""
    resource = resource_to_domain(cls, row)
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name == "api_secrets":
            continue
        value = getattr(resource, f.name)
        out[f.name] = dict(value) if f.name == "properties" else (
            list(value) if isinstance(value, tuple) else value)
    out["created"] = row.created.isoformat() if row.created else None
    out["updated"] = row.updated.isoformat() if row.updated else None
    return out


def _values(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name == "properties":
            value = tuple(sorted((str(k), str(v)) for k, v in value.items()))
        elif isinstance(value, list):
            value = tuple(value)
        out[name] = value
    return out


def _name_problems(name: str) -> list[str]:
    if not name.strip() or any(ch.isspace() or not ch.isprintable() for ch in name):
        return ["A scope or resource name is one word: no spaces or control characters "
                "(scopes are separated by spaces on the wire)."]
    return []


class _ResourceViewSet(ManagementViewSet):
    domain_class: Any = None
    lookup_field = "name"
    lookup_value_regex = "[^/]+"
    filter_backends = [filters.SearchFilter, filters.OrderingFilter]
    search_fields = ["name", "display_name"]
    ordering_fields = ["name", "created", "updated"]
    ordering = ["name"]

    def get_queryset(self) -> QuerySet[Any]:
        _, children = resource_model_names(self.domain_class)
        rows = self.permission_model.objects.prefetch_related(*children)
        return typing.cast(QuerySet[Any], filter_enabled(rows, self.request))

    def get_serializer_class(self) -> Any:
        return _serializer(self.domain_class, self.permission_model)

    def _row(self, name: str, *, lock: bool = False) -> Any:
        rows = self.permission_model.objects.all()
        if lock:
            rows = rows.select_for_update()
        return get_object_or_404(rows, name=name)

    def _represent(self, row: Any) -> dict[str, Any]:
        return represent(self.domain_class, row)

    def _validated(self, request: Request, *, partial: bool) -> dict[str, Any]:
        serializer = self.get_serializer_class()(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "name" in data and (problems := _name_problems(data["name"])):
            raise serializers.ValidationError({"name": problems})
        return data

    def check_deletion(self, row: Any) -> None:
        """Raise ValidationError when something depends on the resource's name."""

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([self._represent(row) for row in page or []])

    def retrieve(self, request: Request, name: str) -> Response:
        return self.object_response(self._represent(self._row(name)))

    def create(self, request: Request) -> Response:
        resource = self.domain_class(**_values(self._validated(request, partial=False)))
        with self.writing():
            if self.permission_model.objects.filter(name=resource.name).exists():
                raise serializers.ValidationError({"name": [
                    f"The name {resource.name!r} is taken by another {self.audit_type}."]})
            row = self._save(self.permission_model(), resource, None)
            after = self._represent(row)
            self.audit("create", resource.name, differences({}, after))
        return Response(after, status=status.HTTP_201_CREATED, headers={"ETag": etag(after)})

    def update(self, request: Request, name: str) -> Response:
        return self._change(request, name, partial=False)

    def partial_update(self, request: Request, name: str) -> Response:
        return self._change(request, name, partial=True)

    def _change(self, request: Request, name: str, *, partial: bool) -> Response:
        data = self._validated(request, partial=partial)
        with self.writing():
            row = self._row(name, lock=True)
            before_rep = self._represent(row)
            check_if_match(request, before_rep)
            before = resource_to_domain(self.domain_class, row)
            values = _values(data)
            if partial:
                resource = dataclasses.replace(before, **values)
            else:
                kept = {"api_secrets": before.api_secrets} if hasattr(before, "api_secrets") \
                    else {}
                resource = self.domain_class(**values, **kept)
            if resource.name != row.name:
                self.check_deletion(row)
                if self.permission_model.objects.filter(name=resource.name).exists():
                    raise serializers.ValidationError({"name": [
                        f"The name {resource.name!r} is taken by another {self.audit_type}."]})
            row = self._save(row, resource, before)
            after = self._represent(row)
            self.audit("change", resource.name, differences(before_rep, after))
        return self.object_response(after)

    def destroy(self, request: Request, name: str) -> Response:
        with self.writing():
            row = self._row(name, lock=True)
            check_if_match(request, self._represent(row))
            self.check_deletion(row)
            row.delete()
            self.audit("delete", name)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _save(self, row: Any, resource: Any, before: Any) -> Any:
        for column, value in resource_column_values(resource).items():
            setattr(row, column, value)
        row.save()  # its signal drops the cached resources in every process
        _, children = resource_model_names(self.domain_class)
        for attr in children:
            if attr == "api_secrets" or (before is not None and
                                         getattr(before, attr) == getattr(resource, attr)):
                continue
            for old in getattr(row, attr).all():
                old.delete()
            for child in resource_child_rows(real_models(), row, resource):
                if child._meta.model_name == getattr(models, children[attr])._meta.model_name:
                    child.save()
        return self.permission_model.objects.get(pk=row.pk)


class _ScopeViewSet(_ResourceViewSet):
    def check_deletion(self, row: Any) -> None:
        users = sorted(models.ClientScope.objects.filter(scope=row.name)
                       .values_list("client__client_id", flat=True)[:11])
        if users:
            shown = ", ".join(users[:10]) + (", ..." if len(users) > 10 else "")
            raise serializers.ValidationError({"name": [
                f"Clients are allowed the scope {row.name!r} ({shown}); remove it from their "
                f"allowed scopes first."]})


class IdentityResourceViewSet(_ScopeViewSet):
    """Identity resources: sets of user claims requested by an identity scope."""

    domain_class = rdomain.IdentityResource
    permission_model = models.IdentityResource
    queryset = models.IdentityResource.objects.none()
    audit_type = "identity resource"


class ApiScopeViewSet(_ScopeViewSet):
    """API scopes: what a client may ask to do at an API."""

    domain_class = rdomain.ApiScope
    permission_model = models.ApiScope
    queryset = models.ApiScope.objects.none()
    audit_type = "API scope"


class ApiResourceViewSet(_ResourceViewSet):
    """API resources: audiences of tokens, and introspection callers (secrets: .../secrets)."""

    domain_class = rdomain.ApiResource
    permission_model = models.ApiResource
    queryset = models.ApiResource.objects.none()
    audit_type = "API resource"
