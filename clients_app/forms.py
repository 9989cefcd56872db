"""Admin forms: secrets typed or generated and stored hashed, and the shared configuration rules
applied to a client together with all of its inlines."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from clients_app import models
from clients_app.mapping import CLIENT_CHILDREN, client_to_domain
from identity.constants import GrantType, SecretType, StandardScope
from identity.hashing import generate_secret, hash_secret, is_hashed_secret
from identity.validation.client_config import validate_client
from identity.validation.client_support import SUPPORTED_GRANT_TYPES, ConfigProblem

# Problems about these fields come from several inlines at once; they are shown on the grant
# types inline, where the grant that causes them is chosen.
CROSS_FIELDS = frozenset({"require_client_secret", "require_pkce"})
_ATTR_BY_MODEL = {child.model: attr for attr, child in CLIENT_CHILDREN.items()}


class KindRowForm(forms.ModelForm):
    """An inline row; a new row pre-filled by the client's kind is saved even when untouched
    (Django skips unchanged extra rows, which would drop the kind's grant type)."""

    def has_changed(self) -> bool:
        return super().has_changed() or (self.instance.pk is None and any(self.initial.values()))


class SecretForm(KindRowForm):
    """A secret row: type a secret or tick Generate; only the hash is saved."""

    secret = forms.CharField(
        required=False, strip=False, label="Type a secret",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Hashed with SHA-256 on save; the plaintext is not kept.")
    generate = forms.BooleanField(
        required=False, label="Generate",
        help_text="Make a 256-bit random secret, shown once after saving.")

    class Meta:
        fields = ["secret", "generate", "value", "type", "description", "expiration"]
        widgets = {"value": forms.TextInput(attrs={"size": 48})}
        help_texts = {"value": "The stored hash. Paste one made by manage.py hash_secret, or leave "
                               "empty and type or generate a secret."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["value"].required = False
        self.generated: str | None = None

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or self.cleaned_data
        typed, generate = data.get("secret"), data.get("generate")
        if typed and generate:
            raise ValidationError("Either type a secret or tick Generate, not both.")
        if generate:
            self.generated = generate_secret()
            data["value"] = hash_secret(self.generated)
        elif typed:
            data["value"] = hash_secret(typed)
        value = data.get("value") or ""
        if not value:
            raise ValidationError("Type a secret, tick Generate, or paste a stored hash.")
        if data.get("type", SecretType.SHARED_SECRET) == SecretType.SHARED_SECRET and not \
                is_hashed_secret(value):
            self.add_error("value", "This is not a Base64 SHA-256 (44 characters) or SHA-512 "
                           "(88 characters) hash. Type the secret in 'Type a secret' instead; it "
                           "will be hashed.")
        return data


Choices = list[tuple[str, Any]]


class _PickForm(KindRowForm):
    """A row whose one value is chosen from what exists, read when the form is built."""

    pick: str

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        name = self.add_prefix(self.pick)
        current = self.data.get(name) if self.is_bound else self.initial.get(self.pick)
        choices: Choices = [("", "---------"), *self.choices()]
        if current and current not in _values(choices):
            # A stored (or posted) value outside the list stays shown, never silently dropped;
            # the configuration rules say what is wrong with it.
            choices.append((current, f"{current} (stored; not offered)"))
        # A CharField with a Select: the configuration rules, not "not a valid choice", judge
        # the value.
        self.fields[self.pick].widget = forms.Select(choices=choices)

    def choices(self) -> Choices:
        raise NotImplementedError


def _values(choices: Choices) -> set[str]:
    values: set[str] = set()
    for value, label in choices:
        if isinstance(label, list):  # a group
            values.update(v for v, _ in label)
        else:
            values.add(value)
    return values


class GrantTypeForm(_PickForm):
    pick = "grant_type"

    def choices(self) -> Choices:
        return [(g, g) for g in GrantType if g in SUPPORTED_GRANT_TYPES]


class ScopeForm(_PickForm):
    pick = "scope"

    def choices(self) -> Choices:
        identity = sorted(models.IdentityResource.objects.values_list("name", flat=True))
        api = sorted(models.ApiScope.objects.values_list("name", flat=True))
        if StandardScope.OFFLINE_ACCESS not in identity:
            identity.append(StandardScope.OFFLINE_ACCESS)
        return [("Identity scopes", [(n, n) for n in identity]),
                ("API scopes", [(n, n) for n in api])]


class VersionedForm(forms.ModelForm):
    """A form that refuses to save over a change made since the page was opened.

    The page carries the row's `updated` time; the admin reads the row again, locked, before
    validating a change (`VersionedAdmin`), so a save that started from an older page is
    refused instead of silently undoing the other change.
    """

    opened_version = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["opened_version"].initial = row_version(self.instance)

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or self.cleaned_data
        if self.instance.pk is not None and \
                data.get("opened_version") != row_version(self.instance):
            raise ValidationError(
                f"This {self.instance._meta.verbose_name} was changed by someone else since you "
                f"opened it; reload the page and make your change again.", code="changed")
        return data


def row_version(row: Any) -> str:
    """Return what tells one saved state of a row from the next: its `updated` time."""
    return row.updated.isoformat() if row.pk is not None and row.updated else ""


class ResourceForm(VersionedForm):
    """An identity resource, API scope or API resource; its properties are a JSON object."""

    def clean_properties(self) -> dict[str, Any]:
        value = self.cleaned_data.get("properties")
        if value is None:  # an emptied box; the column is NOT NULL
            return {}
        if not isinstance(value, dict):  # the stores read it as names to values
            raise ValidationError(
                'Enter a JSON object of names to values, e.g. {"team": "billing"}.')
        return value


class ClientChildFormSet(BaseInlineFormSet):
    """An inline of a client; reports the rules that concern its collection."""

    config_check: ClientConfigCheck | None = None

    def clean(self) -> None:
        super().clean()
        if self.config_check is None:
            return
        assert self.model is not None  # an inline formset always has its model
        attr = _ATTR_BY_MODEL[self.model.__name__]
        cross = attr == "allowed_grant_types"
        problems = [p.message for p in self.config_check.problems
                    if p.field == attr or (cross and p.field in CROSS_FIELDS)]
        if problems:
            raise ValidationError(problems)


class ClientConfigCheck:
    """Apply `validate_client` to the client as the submitted form and inlines would save it."""

    def __init__(self, instance: models.Client, formsets: list[Any]) -> None:
        self.instance = instance
        self.formsets = [fs for fs in formsets if fs.model.__name__ in _ATTR_BY_MODEL]

    @cached_property
    def problems(self) -> list[ConfigProblem]:
        """Return the problems, or none while any inline row is itself invalid."""
        children: dict[str, list[Any]] = {}
        for fs in self.formsets:
            if not fs.is_bound or not fs.management_form.is_valid():
                return []
            rows = []
            for form in fs.forms:
                if not form.is_valid():  # per form: the formset's own clean would recurse here
                    return []
                if form.cleaned_data and not fs._should_delete_form(form):
                    rows.append(form.instance)
            children[_ATTR_BY_MODEL[fs.model.__name__]] = rows
        client = client_to_domain(self.instance, children)
        return [p for p in validate_client(client, known_scope_names())
                if p.field in CLIENT_CHILDREN or p.field in CROSS_FIELDS]


def known_scope_names() -> set[str]:
    """Return the names a client may be allowed: identity resources, API scopes, offline_access."""
    names = set(models.IdentityResource.objects.values_list("name", flat=True))
    names.update(models.ApiScope.objects.values_list("name", flat=True))
    names.add(StandardScope.OFFLINE_ACCESS)
    return names
