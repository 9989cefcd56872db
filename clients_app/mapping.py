"""The only converter between configuration rows and `identity.domain` objects.

Functions take the model classes as a `ModelSet`, so that data migrations can pass historical
models (`apps.get_model`) and the running server the real ones.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from identity.constants import (
    AccessTokenType,
    DPoPTokenExpirationValidationMode,
    TokenExpiration,
    TokenUsage,
)
from identity.domain import client as domain
from identity.domain import resources as rdomain
from identity.validation.client_config import validate_client
from identity.validation.client_support import ConfigProblem

MODEL_NAMES: Final = (
    "Client", "ClientSecret", "ClientGrantType", "ClientRedirectUri",
    "ClientPostLogoutRedirectUri", "ClientScope", "ClientCorsOrigin", "ClientClaim",
    "ClientProperty", "ClientIdPRestriction", "IdentityResource", "IdentityResourceClaim",
    "ApiScope", "ApiScopeClaim", "ApiResource", "ApiResourceScope", "ApiResourceClaim",
    "ApiResourceSecret",
)


@dataclass(frozen=True)
class ModelSet:
    """The configuration model classes, real or historical."""

    models: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.models[name]
        except KeyError:
            raise AttributeError(name) from None

    @classmethod
    def from_apps(cls, apps: Any) -> ModelSet:
        """Build from a migration's `apps` registry (or `django.apps.apps`)."""
        return cls({name: apps.get_model("clients_app", name) for name in MODEL_NAMES})


def real_models() -> ModelSet:
    """Return the current model classes."""
    from django.apps import apps

    return ModelSet.from_apps(apps)


@dataclass(frozen=True)
class Child:
    """How one domain collection is stored: the related name, and row <-> value converters."""

    model: str
    to_value: Callable[[Any], Any]
    to_fields: Callable[[Any], dict[str, Any]]


def _one(model: str, column: str) -> Child:
    return Child(model, lambda row: getattr(row, column), lambda value: {column: value})


def _secret_fields(s: domain.Secret) -> dict[str, Any]:
    return {"value": s.value, "type": str(s.type), "description": s.description,
            "expiration": s.expiration}


def _secret_value(row: Any) -> domain.Secret:
    return domain.Secret(value=row.value, type=row.type, description=row.description or None,
                         expiration=row.expiration)


CLIENT_CHILDREN: Final = {
    "client_secrets": Child("ClientSecret", _secret_value, _secret_fields),
    "allowed_grant_types": _one("ClientGrantType", "grant_type"),
    "redirect_uris": _one("ClientRedirectUri", "redirect_uri"),
    "post_logout_redirect_uris": _one("ClientPostLogoutRedirectUri", "post_logout_redirect_uri"),
    "allowed_scopes": _one("ClientScope", "scope"),
    "allowed_cors_origins": _one("ClientCorsOrigin", "origin"),
    "claims": Child(
        "ClientClaim",
        lambda r: domain.ClientClaim(type=r.type, value=r.value, value_type=r.value_type),
        lambda c: {"type": c.type, "value": c.value, "value_type": c.value_type}),
    "properties": Child("ClientProperty", lambda r: (r.key, r.value),
                        lambda kv: {"key": kv[0], "value": kv[1]}),
    "identity_provider_restrictions": _one("ClientIdPRestriction", "provider"),
}
CSV_FIELDS: Final = frozenset({"allowed_identity_token_signing_algorithms",
                               "allowed_access_token_signing_algorithms"})
ENUMS: Final[dict[str, type[enum.IntEnum]]] = {
    "dpop_validation_mode": DPoPTokenExpirationValidationMode,
    "refresh_token_usage": TokenUsage,
    "refresh_token_expiration": TokenExpiration,
    "access_token_type": AccessTokenType,
}
CLIENT_SCALARS: Final = tuple(
    f.name for f in dataclasses.fields(domain.Client) if f.name not in CLIENT_CHILDREN)
# Attributes whose domain value is "no value" as None while a form may hand over "".
_OPTIONAL_TEXT: Final = frozenset(
    f.name for f in dataclasses.fields(domain.Client) if f.type == "str | None")


def scalar_to_domain(name: str, value: Any) -> Any:
    """Convert one column value to its domain form."""
    if name in CSV_FIELDS:
        return tuple(v.strip() for v in (value or "").split(",") if v.strip())
    if name in ENUMS:
        return ENUMS[name](value)
    if name in _OPTIONAL_TEXT and value == "":
        return None
    return value


def scalar_to_column(name: str, value: Any) -> Any:
    """Convert one domain value to its column form."""
    if name in CSV_FIELDS:
        return ",".join(value)
    if isinstance(value, enum.IntEnum):
        return int(value)
    return value


def client_to_domain(row: Any, children: Mapping[str, Iterable[Any]] | None = None
                     ) -> domain.Client:
    """Build the domain client from a row; `children` overrides the related rows (forms)."""
    values = {name: scalar_to_domain(name, getattr(row, name)) for name in CLIENT_SCALARS}
    for attr, child in CLIENT_CHILDREN.items():
        rows = children[attr] if children and attr in children else _related(row, attr)
        collected = [child.to_value(r) for r in rows]
        values[attr] = tuple(sorted(collected)) if attr == "properties" else tuple(collected)
    return domain.Client(**values)


def _related(row: Any, attr: str) -> list[Any]:
    if row.pk is None:
        return []
    # all() then sort in Python: uses prefetched rows when there are some, no extra query.
    return sorted(getattr(row, attr).all(), key=lambda r: r.pk)


def client_scalar_problems(row: Any) -> list[ConfigProblem]:
    """Return the problems of a client row's own columns (not its collections)."""
    client = domain.Client(**{name: scalar_to_domain(name, getattr(row, name))
                              for name in CLIENT_SCALARS})
    collection_fields = set(CLIENT_CHILDREN) | {"require_client_secret", "require_pkce"}
    return [p for p in validate_client(client) if p.field not in collection_fields]


def client_column_values(client: domain.Client) -> dict[str, Any]:
    """Return the Client row's column values for a domain client."""
    return {name: scalar_to_column(name, getattr(client, name)) for name in CLIENT_SCALARS}


def client_child_rows(models: ModelSet, row: Any, client: domain.Client,
                      attrs: Iterable[str] | None = None) -> dict[str, list[Any]]:
    """Build (unsaved) child rows of `row` for the collections named in `attrs` (all by default)."""
    out: dict[str, list[Any]] = {}
    for attr in attrs if attrs is not None else CLIENT_CHILDREN:
        child = CLIENT_CHILDREN[attr]
        model = getattr(models, child.model)
        out[attr] = [model(client=row, **child.to_fields(v)) for v in getattr(client, attr)]
    return out


# ---- resources ---------------------------------------------------------------------------------

_RESOURCE_KINDS: Final = {
    rdomain.IdentityResource: ("IdentityResource", {"user_claims": "IdentityResourceClaim"}),
    rdomain.ApiScope: ("ApiScope", {"user_claims": "ApiScopeClaim"}),
    rdomain.ApiResource: ("ApiResource", {"user_claims": "ApiResourceClaim",
                                          "scopes": "ApiResourceScope",
                                          "api_secrets": "ApiResourceSecret"}),
}
_RESOURCE_VALUE_COLUMN: Final = {"user_claims": "type", "scopes": "scope"}


def resource_model_names(cls: type) -> tuple[str, dict[str, str]]:
    """Return the row model name and child model names of a domain resource class."""
    return _RESOURCE_KINDS[cls]


def resource_to_domain(cls: type, row: Any) -> Any:
    """Build a domain resource (identity resource, API scope or API resource) from its row."""
    _, children = _RESOURCE_KINDS[cls]
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name in children:
            rows = sorted(getattr(row, f.name).all(), key=lambda r: r.pk)
            if f.name == "api_secrets":
                values[f.name] = tuple(_secret_value(r) for r in rows)
            else:
                values[f.name] = tuple(getattr(r, _RESOURCE_VALUE_COLUMN[f.name]) for r in rows)
        elif f.name == "properties":
            pairs = (row.properties or {}).items()
            values[f.name] = tuple(sorted((str(k), str(v)) for k, v in pairs))
        else:
            value = scalar_to_domain(f.name, getattr(row, f.name))
            values[f.name] = None if value == "" and f.type == "str | None" else value
    return cls(**values)


def resource_column_values(resource: Any) -> dict[str, Any]:
    """Return the row's column values for a domain resource."""
    _, children = _RESOURCE_KINDS[type(resource)]
    out: dict[str, Any] = {}
    for f in dataclasses.fields(resource):
        if f.name in children:
            continue
        value = getattr(resource, f.name)
        out[f.name] = dict(value) if f.name == "properties" else scalar_to_column(f.name, value)
    return out


def resource_child_rows(models: ModelSet, row: Any, resource: Any) -> list[Any]:
    """Build the (unsaved) child rows of a resource row."""
    _, children = _RESOURCE_KINDS[type(resource)]
    rows: list[Any] = []
    for attr, model_name in children.items():
        model = getattr(models, model_name)
        fk = model._meta.get_field(
            next(f.name for f in model._meta.fields if f.is_relation)).name
        for value in getattr(resource, attr):
            fields = (_secret_fields(value) if attr == "api_secrets"
                      else {_RESOURCE_VALUE_COLUMN[attr]: value})
            rows.append(model(**{fk: row}, **fields))
    return rows
