"""Clients and their secrets over the management API.

A client is represented with the domain client's names (IdentityServer's properties in
snake_case), every collection nested; secrets are a sub-resource whose values are shown once, at
creation. Every write builds the domain client and applies `validate_client`, the rule set of the
admin and the import, so the API can store nothing those would refuse.
"""

from __future__ import annotations

import dataclasses
import enum
import typing
from typing import Any, Final

from django.db.models import QuerySet
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
from clients_app.api.secrets import NewSecretSerializer, secret_summary
from clients_app.forms import known_scope_names
from clients_app.importing import domain_clients
from clients_app.mapping import (
    CLIENT_CHILDREN,
    client_column_values,
    client_to_domain,
    real_models,
)
from identity.constants import CLAIM_VALUE_TYPE_STRING
from identity.domain import client as domain
from identity.hashing import generate_secret, hash_secret
from identity.stores.orm_grants import forget_client
from identity.validation.client_config import validate_client

_HINTS: Final = typing.get_type_hints(domain.Client)
EDITABLE: Final = tuple(f.name for f in dataclasses.fields(domain.Client)
                        if f.name != "client_secrets")
COLLECTIONS: Final = tuple(name for name in CLIENT_CHILDREN if name != "client_secrets")
# The child column that bounds each collection's values.
_CHILD_COLUMN: Final = {"allowed_grant_types": "grant_type", "redirect_uris": "redirect_uri",
                        "post_logout_redirect_uris": "post_logout_redirect_uri",
                        "allowed_scopes": "scope", "allowed_cors_origins": "origin",
                        "identity_provider_restrictions": "provider"}


class EnumField(serializers.ChoiceField):
    """An IdentityServer enumeration: written by name (`OneTimeOnly`) or number, read by name."""

    def __init__(self, enum_cls: type[enum.IntEnum], **kwargs: Any) -> None:
        self.enum_cls = enum_cls
        kwargs.setdefault("help_text", "A name, or its number as IdentityServer stores it.")
        super().__init__(choices=[m.name for m in enum_cls], **kwargs)

    def to_representation(self, value: Any) -> str:
        return self.enum_cls(value).name

    def to_internal_value(self, data: Any) -> Any:  # an IntEnum member
        names = {m.name.lower(): m for m in self.enum_cls}
        if isinstance(data, str) and data.lower() in names:
            return names[data.lower()]
        if isinstance(data, int) and not isinstance(data, bool):
            try:
                return self.enum_cls(data)
            except ValueError:
                pass
        raise serializers.ValidationError(
            f"{data!r} is not one of {', '.join(m.name for m in self.enum_cls)}.")


class ClaimSerializer(StrictSerializer):
    type = serializers.CharField(max_length=250)
    value = serializers.CharField(max_length=250, allow_blank=True)
    value_type = serializers.CharField(max_length=250, required=False,
                                       default=CLAIM_VALUE_TYPE_STRING)


def _max_length(model: Any, column: str) -> int | None:
    return typing.cast(int | None, model._meta.get_field(column).max_length)


def _field_for(name: str) -> serializers.Field:
    hint = _HINTS[name]
    args = typing.get_args(hint)
    optional = type(None) in args
    base = next((a for a in args if a is not type(None)), hint) if args else hint
    if name == "claims":
        return ClaimSerializer(many=True, required=False)
    if name == "properties":
        return serializers.DictField(child=serializers.CharField(max_length=2000,
                                                                 allow_blank=True),
                                     required=False, help_text="Names to values.")
    if name in _CHILD_COLUMN:
        child_model = getattr(models, CLIENT_CHILDREN[name].model)
        return serializers.ListField(child=serializers.CharField(
            max_length=_max_length(child_model, _CHILD_COLUMN[name]), allow_blank=True,
            trim_whitespace=False), required=False)
    if name == "allowed_identity_token_signing_algorithms":
        return serializers.ListField(child=serializers.CharField(max_length=20), required=False)
    if isinstance(base, type) and issubclass(base, enum.IntEnum):
        return EnumField(base, required=False)
    if base is bool:
        return serializers.BooleanField(required=False, allow_null=optional)
    if base is int:
        return serializers.IntegerField(required=False, allow_null=optional,
                                        min_value=-(2**31), max_value=2**31 - 1)
    # Not trimmed: the configuration rules refuse stray spaces with a message, where a silent
    # trim would store something other than what was sent.
    return serializers.CharField(required=name == "client_id", allow_null=optional,
                                 allow_blank=optional, trim_whitespace=False,
                                 max_length=_max_length(models.Client, name))


class ClientSerializer(StrictSerializer):
    """Every property of a client; `secrets` (write-only) makes secrets at creation."""

    # One field per property of the domain client, typed and bounded from it and the model.
    locals().update({name: _field_for(name) for name in EDITABLE})
    secrets = NewSecretSerializer(
        many=True, required=False, write_only=True,
        help_text="At creation only: secrets to generate, each shown once in the response. "
                  "Omitted: one is generated when the client needs a secret.")
    created = serializers.DateTimeField(read_only=True)
    updated = serializers.DateTimeField(read_only=True)
    last_accessed = serializers.DateTimeField(read_only=True, allow_null=True)


def represent(row: models.Client, client: domain.Client | None = None) -> dict[str, Any]:
    """Return the API representation of a client row (and its domain client, when read)."""
    client = client or client_to_domain(row)
    out: dict[str, Any] = {}
    for name in EDITABLE:
        value = getattr(client, name)
        if isinstance(value, enum.IntEnum):
            value = value.name
        elif name == "claims":
            value = [dataclasses.asdict(c) for c in value]
        elif name == "properties":
            value = dict(value)
        elif isinstance(value, tuple):
            value = list(value)
        out[name] = value
    for name in ("created", "updated", "last_accessed"):
        moment = getattr(row, name)
        out[name] = moment.isoformat() if moment else None
    return out


def _domain_values(data: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in EDITABLE:
        if name not in data:
            continue
        value = data[name]
        if name == "claims":
            value = tuple(domain.ClientClaim(**dict(c)) for c in value)
        elif name == "properties":
            value = tuple(sorted(value.items()))
        elif isinstance(value, list):
            value = tuple(value)
        values[name] = value
    return values


def _check(client: domain.Client) -> None:
    problems: dict[str, list[str]] = {}
    for problem in validate_client(client, known_scope_names()):
        field = "secrets" if problem.field == "client_secrets" else problem.field
        problems.setdefault(field, []).append(problem.message)
    if problems:
        raise serializers.ValidationError(problems)


def _needs_secret(client: domain.Client) -> bool:
    return any(p.field == "client_secrets" for p in validate_client(client))


def _save(row: models.Client, client: domain.Client, before: domain.Client | None) -> None:
    for column, value in client_column_values(client).items():
        setattr(row, column, value)
    row.save()  # its signal drops the client (under its old and new id) from every cache
    for attr in COLLECTIONS:
        if before is not None and getattr(before, attr) == getattr(client, attr):
            continue
        child = CLIENT_CHILDREN[attr]
        model = getattr(models, child.model)
        # One row at a time: their signals keep the CORS and client caches right.
        for old in model.objects.filter(client=row):
            old.delete()
        for value in getattr(client, attr):
            model.objects.create(client=row, **child.to_fields(value))


class ClientViewSet(ManagementViewSet):
    """Clients: list, create, read, replace (PUT), change (PATCH), delete."""

    serializer_class = ClientSerializer
    permission_model = models.Client
    queryset = models.Client.objects.none()  # for the schema: get_queryset builds the real one
    audit_type = "client"
    lookup_field = "client_id"
    lookup_value_regex = "[^/]+"
    filter_backends = [filters.SearchFilter, filters.OrderingFilter]
    search_fields = ["client_id", "client_name"]
    ordering_fields = ["client_id", "client_name", "created", "updated", "last_accessed"]
    ordering = ["client_id"]

    def get_queryset(self) -> QuerySet[models.Client]:
        rows = models.Client.objects.all()  # the children of a page are read in one go
        params = self.request.query_params
        rows = filter_enabled(rows, self.request)
        if params.get("grant_type"):
            rows = rows.filter(allowed_grant_types__grant_type=params["grant_type"])
        return rows

    def _row(self, *, lock: bool = False) -> models.Client:
        rows = models.Client.objects.all()
        if lock:
            rows = rows.select_for_update()
        return get_object_or_404(rows, client_id=self.kwargs["client_id"])

    def list(self, request: Request) -> Response:
        rows = list(self.paginate_queryset(self.filter_queryset(self.get_queryset())) or [])
        clients = domain_clients(real_models(), rows)
        return self.get_paginated_response([represent(row, client)
                                            for row, client in zip(rows, clients, strict=True)])

    def retrieve(self, request: Request, client_id: str) -> Response:
        return self.object_response(represent(self._row()))

    def create(self, request: Request) -> Response:
        serializer = ClientSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        new_secrets = list(data.get("secrets") or [])
        client = domain.Client(**_domain_values(data))
        if not new_secrets and _needs_secret(client):
            new_secrets = [{"description": "generated at creation"}]
        shown = [(generate_secret(), s) for s in new_secrets]
        client = dataclasses.replace(client, client_secrets=tuple(
            domain.Secret(value=hash_secret(plain), description=s.get("description") or None,
                          expiration=s.get("expiration")) for plain, s in shown))
        _check(client)
        with self.writing():
            if models.Client.objects.filter(client_id=client.client_id).exists():
                raise serializers.ValidationError(
                    {"client_id": [f"A client with the id {client.client_id!r} exists."]})
            row = models.Client()
            _save(row, client, None)
            rows = [models.ClientSecret.objects.create(
                client=row, value=secret.value, description=secret.description,
                expiration=secret.expiration) for secret in client.client_secrets]
            after = represent(row)
            self.audit("create", client.client_id, differences({}, after))
        body = {**after, "generated_secrets": [
            {**secret_summary(r), "value": plain} for r, (plain, _) in zip(rows, shown,
                                                                               strict=True)]}
        return Response(body, status=status.HTTP_201_CREATED, headers={"ETag": etag(after)})

    def update(self, request: Request, client_id: str) -> Response:
        return self._change(request, partial=False)

    def partial_update(self, request: Request, client_id: str) -> Response:
        return self._change(request, partial=True)

    def _change(self, request: Request, *, partial: bool) -> Response:
        serializer = ClientSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "secrets" in data:
            raise serializers.ValidationError(
                {"secrets": ["Secrets are changed at .../secrets/, not here."]})
        with self.writing():
            row = self._row(lock=True)
            before_rep = represent(row)
            check_if_match(request, before_rep)
            before = client_to_domain(row)
            values = _domain_values(data)
            if partial:
                client = dataclasses.replace(before, **values)
            else:  # a full replacement: what is not sent takes its default
                client = domain.Client(**values, client_secrets=before.client_secrets)
            _check(client)
            if client.client_id != row.client_id and \
                    models.Client.objects.filter(client_id=client.client_id).exists():
                raise serializers.ValidationError(
                    {"client_id": [f"A client with the id {client.client_id!r} exists."]})
            _save(row, client, before)
            after = represent(models.Client.objects.get(pk=row.pk))
            self.audit("change", client.client_id, differences(before_rep, after))
        return self.object_response(after)

    def destroy(self, request: Request, client_id: str) -> Response:
        with self.writing():
            row = self._row(lock=True)
            check_if_match(request, represent(row))
            row.delete()
            grants, consents = forget_client(client_id)
            self.audit("delete", client_id, {"grants": (grants, 0), "consents": (consents, 0)})
        return Response(status=status.HTTP_204_NO_CONTENT)
