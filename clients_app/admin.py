"""Django admin for clients, their secrets and collections, and scopes and resources."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import secrets as secrets_module
import time
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets, quote, unquote
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.db import router, transaction
from django.db.models import Field, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.html import format_html, format_html_join

from clients_app import kinds, models
from clients_app.exporting import export_document
from clients_app.forms import (
    ClientChildFormSet,
    ClientConfigCheck,
    GrantTypeForm,
    KindRowForm,
    ResourceForm,
    ScopeForm,
    SecretForm,
    VersionedForm,
    known_scope_names,
)
from clients_app.importing import lock_configuration
from clients_app.mapping import scalar_to_domain
from identity.constants import PROTOCOL_OIDC
from identity.freshness import configuration_changed
from identity.stores.caching import invalidate_client
from identity.validation.client_support import UNSUPPORTED_PROPERTIES

GENERATED = "_identity_generated_secrets"
# What would let a reader guess a typed secret offline, or that sets one: shown only to those who
# may change both the owner and its secrets.
HASH_FIELDS = ("secret", "generate", "value")


def _may(request: HttpRequest, action: str, model: Any) -> bool:
    opts = model._meta
    return request.user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}")


def may_handle_hashes(request: HttpRequest, owner: Any, secret_model: Any) -> bool:
    """Tell whether the user may see and set the secret hashes of `owner` rows (a client or an
    API resource): they need the change permission on both."""
    return _may(request, "change", owner) and _may(request, "change", secret_model)


def _secret_status(obj: Any) -> str:
    if obj is None or obj.pk is None:
        return ""
    if obj.expiration and obj.expiration <= timezone.now():
        return format_html('<strong style="color:#ba2121">expired {}</strong>',
                           obj.expiration.date())
    return "active" + (f" until {obj.expiration.date()}" if obj.expiration else "")


class _SecretInline(admin.StackedInline):
    form = SecretForm
    extra = 0
    readonly_fields = ["status", "created"]
    fieldsets = [
        (None, {"fields": ["secret", "generate", "description", "expiration", "status",
                           "created"]}),
        # Rarely needed: a hash made elsewhere, and types other than SharedSecret are refused.
        ("Stored hash and type", {"classes": ["collapse"], "fields": ["value", "type"]}),
    ]

    @admin.display(description="status")
    def status(self, obj: Any) -> str:
        return _secret_status(obj)

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        # The form keeps every field (SecretForm works on `value`); get_fieldsets decides
        # which are shown.
        if "fields" not in kwargs:
            kwargs["fields"] = flatten_fieldsets(super().get_fieldsets(request, obj))
        return super().get_formset(request, obj, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:  # nothing to tell of a secret yet
            fieldsets = [(name, {**opts, "fields": [f for f in opts["fields"]
                                                    if f not in self.readonly_fields]})
                         for name, opts in fieldsets]
        if may_handle_hashes(request, self.parent_model, self.model):
            return fieldsets
        # A read-only page would print the stored hash; leave it (and the inputs) out.
        return [(name, {**opts, "fields": [f for f in opts["fields"] if f not in HASH_FIELDS]})
                for name, opts in fieldsets]


class _KindInline:
    """An inline of the client form: its new rows and whether it is folded follow the kind."""

    kind_rows: int = 0
    widgets: dict[str, Any] = {}

    def get_extra(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> int:
        return self.kind_rows

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        kwargs.setdefault("widgets", self.widgets)
        return super().get_formset(request, obj, **kwargs)  # type: ignore[misc]


class ClientSecretInline(_KindInline, _SecretInline):
    model = models.ClientSecret
    formset = ClientChildFormSet


def _tabular(model_cls: type, form: type = KindRowForm, **widgets: Any
             ) -> type[admin.TabularInline]:
    attrs = {"model": model_cls, "formset": ClientChildFormSet, "form": form,
             "widgets": widgets}
    return type(f"{model_cls.__name__}Inline", (_KindInline, admin.TabularInline), attrs)


class GeneratedSecretsMixin(admin.ModelAdmin):
    """Show secrets generated by a save once, on a page of their own reached by a redirect.

    The plaintexts wait in the user's session (database rows, shared by every server process),
    encrypted with a key derived from SECRET_KEY and the one-time token that is only in the
    redirect URL: neither a database dump nor the session cookie reveals them. The first display
    removes them; they expire after SECRET_TTL seconds.
    """

    def get_urls(self) -> list[Any]:
        info = self.opts.app_label, self.opts.model_name
        # Before the admin's own URLs: their "<path:object_id>/" catch-all would take it.
        return [path("<path:object_id>/secret/<str:token>/",
                     self.admin_site.admin_view(self.generated_secret_view),
                     name="{}_{}_secret".format(*info)), *super().get_urls()]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        for inline_form in formset.forms:
            if getattr(inline_form, "generated", None) and inline_form.instance.pk:
                if not hasattr(request, GENERATED):
                    setattr(request, GENERATED, [])
                getattr(request, GENERATED).append(
                    (inline_form.instance.description or "new secret", inline_form.generated))

    def response_add(self, request: HttpRequest, obj: Any, post_url_continue: Any = None) -> Any:
        return self._show_generated(request, obj) or super().response_add(
            request, obj, post_url_continue)

    def response_change(self, request: HttpRequest, obj: Any) -> Any:
        return self._show_generated(request, obj) or super().response_change(request, obj)

    def _show_generated(self, request: HttpRequest, obj: Any) -> HttpResponse | None:
        generated = getattr(request, GENERATED, None)
        if not generated:
            return None
        token = keep_secrets(request, _owner(obj), generated)
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_secret",
                      args=[quote(obj.pk), token], current_app=self.admin_site.name)
        response = HttpResponseRedirect(url)
        response.status_code = 303  # See Other: a reload of the next page never posts again
        return response

    def generated_secret_view(self, request: HttpRequest, object_id: str,
                              token: str) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        # Checked before the secrets are taken, so that a refused look does not spend them.
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        secrets = take_secrets(request, _owner(obj), token)
        response = TemplateResponse(request, "admin/clients_app/secret_generated.html", {
            **self.admin_site.each_context(request),
            "title": "Copy the new secret now" if secrets else "Secret already shown",
            "object": obj, "secrets": secrets, "opts": self.opts,
        }, status=200 if secrets else 410)
        response["Cache-Control"] = "no-store"
        return response


SECRET_TTL = 600
_PENDING = "_identity_pending_secrets"


def _owner(obj: Any) -> str:
    return f"{obj._meta.label_lower}:{obj.pk}"


def _fernet(token: str) -> Fernet:
    digest = salted_hmac("clients_app.generated-secret", token, algorithm="sha256").digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _slot(token: str) -> str:
    # The session names the entry by a hash: the token (half of the key) is never stored.
    return hashlib.sha256(token.encode()).hexdigest()


def keep_secrets(request: HttpRequest, owner: str, secrets: list[tuple[str, str]]) -> str:
    """Keep `secrets` (label, plaintext) encrypted in the session; return the one-time token."""
    token = secrets_module.token_urlsafe(32)
    now = time.time()
    pending = {slot: entry for slot, entry in request.session.get(_PENDING, {}).items()
               if entry["at"] > now - SECRET_TTL}
    pending[_slot(token)] = {"owner": owner, "at": now, "data": _fernet(token).encrypt(
        json.dumps(secrets).encode()).decode()}
    request.session[_PENDING] = pending
    return token


def take_secrets(request: HttpRequest, owner: str, token: str) -> list[tuple[str, str]]:
    """Remove and return the secrets kept under `token`; none when shown, expired or foreign."""
    pending = dict(request.session.get(_PENDING, {}))
    entry = pending.pop(_slot(token), None)
    request.session[_PENDING] = pending
    if entry is None or entry["owner"] != owner:
        return []
    try:
        data = _fernet(token).decrypt(entry["data"].encode(), ttl=SECRET_TTL)
    except InvalidToken:
        return []
    return [(label, secret) for label, secret in json.loads(data)]


class VersionedAdmin(admin.ModelAdmin):
    """Save a change only over the row the page was made from (with a `VersionedForm`)."""

    def changeform_view(self, request: HttpRequest, object_id: str | None = None,
                        form_url: str = "", extra_context: Any = None) -> Any:
        with transaction.atomic(using=router.db_for_write(self.model)):
            if request.method == "POST":
                # Imports and other saves wait for this one: what the form is checked against
                # is still there when it writes, children included.
                lock_configuration()
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None
                   ) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is not None and request.method == "POST":
            # Read again under a row lock, kept until the save commits: writers that do not
            # take the lock above (actions, the last-use time) wait instead of being undone.
            obj = self.get_queryset(request).select_for_update().filter(pk=obj.pk).first()
        return obj


# Folded under "Advanced"; a kind shows some of these fields open instead.
ADVANCED = (
    ("Advanced: client, consent and sign-in", [
        "require_client_secret", "require_pkce", "allow_plain_text_pkce", "require_consent",
        "allow_remember_consent", "consent_lifetime", "user_sso_lifetime", "client_uri",
        "logo_uri", "initiate_login_uri"]),
    ("Advanced: tokens", [
        "access_token_type", "access_token_lifetime", "identity_token_lifetime",
        "authorization_code_lifetime", "include_jwt_id", "allow_access_tokens_via_browser",
        "always_include_user_claims_in_id_token", "allow_offline_access",
        "refresh_token_usage", "refresh_token_expiration", "absolute_refresh_token_lifetime",
        "sliding_refresh_token_lifetime", "update_access_token_claims_on_refresh"]),
    ("Advanced: logout and client claims", [
        "front_channel_logout_uri", "front_channel_logout_session_required",
        "back_channel_logout_uri", "back_channel_logout_session_required",
        "always_send_client_claims", "client_claims_prefix", "pair_wise_subject_salt"]),
    ("Advanced: high security (FAPI 2.0)", [
        "require_pushed_authorization", "pushed_authorization_lifetime",
        "require_request_object", "require_dpop", "dpop_validation_mode", "dpop_clock_skew"]),
    ("Advanced: device flow (RFC 8628)", [
        "user_code_type", "device_code_lifetime", "polling_interval"]),
    ("Record", ["created", "updated", "last_accessed"]),
)
# Settings of features that do not exist yet (CIBA...): left out of the form unless a stored
# value needs attention.
REFUSED = {u.field: u.message for u in UNSUPPORTED_PROPERTIES} | {
    "non_editable": models.NON_EDITABLE_UNSUPPORTED,
    "protocol_type": f"only {PROTOCOL_OIDC} is supported yet; set it to {PROTOCOL_OIDC}."}
INERT = ("ciba_lifetime",)
INERT_MESSAGE = "stored, but it has no effect yet: the feature it configures is not implemented."


def not_supported_yet(row: models.Client | None) -> dict[str, str]:
    """Return the unsupported settings of a stored client that differ from their defaults, with
    what to do about each: these stay in the form so that they can be seen and fixed."""
    if row is None or row.pk is None:
        return {}
    found = {}
    honoured = {u.field: u.honoured for u in UNSUPPORTED_PROPERTIES}
    for name, message in REFUSED.items():
        value = scalar_to_domain(name, getattr(row, name))
        if name in honoured and value not in honoured[name] or \
                name not in honoured and value != _default(name):
            found[name] = message
    found.update({name: INERT_MESSAGE for name in INERT if getattr(row, name) != _default(name)})
    return found


def _field(name: str) -> Field[Any, Any]:
    field = models.Client._meta.get_field(name)
    assert isinstance(field, Field)  # a column, not a relation
    return field


def _default(name: str) -> Any:
    return _field(name).get_default()


def client_kind(obj: models.Client) -> kinds.Kind:
    grants = [g.grant_type for g in obj.allowed_grant_types.all()]
    return kinds.derive_kind(grants, obj.require_client_secret,
                             bool(obj.allowed_cors_origins.all()))


class KindListFilter(admin.SimpleListFilter):
    title = "kind"
    parameter_name = "kind"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(k.slug, k.title) for k in kinds.KINDS.values()]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if not self.value():
            return queryset
        # Derived in Python, as the column is: one rule, no second copy of it in SQL.
        rows = queryset.prefetch_related("allowed_grant_types", "allowed_cors_origins")
        return queryset.filter(pk__in=[r.pk for r in rows if client_kind(r).slug == self.value()])


class RegisteredListFilter(admin.SimpleListFilter):
    """Clients registered through the registration endpoint (RFC 7591), or the others."""

    title = "registered (RFC 7591)"
    parameter_name = "registered"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() not in ("yes", "no"):
            return queryset
        return queryset.filter(registration__isnull=self.value() == "no")


class ClientAdmin(VersionedAdmin, GeneratedSecretsMixin):
    form = VersionedForm
    list_display = ["client_id", "client_name", "kind", "enabled", "registered", "grant_types",
                    "secret_expiry", "last_accessed"]
    list_filter = [KindListFilter, RegisteredListFilter, "enabled",
                   "allowed_grant_types__grant_type"]
    search_fields = ["client_id", "client_name"]
    readonly_fields = ["created", "updated", "last_accessed", "kind"]
    actions = ["enable_clients", "disable_clients", "export_clients"]
    save_on_top = True
    inlines = [
        ClientSecretInline,
        _tabular(models.ClientGrantType, GrantTypeForm),
        _tabular(models.ClientRedirectUri, redirect_uri=forms.TextInput(attrs={
            "size": 60, "placeholder": "https://app.example.com/signin-oidc"})),
        _tabular(models.ClientPostLogoutRedirectUri, post_logout_redirect_uri=forms.TextInput(
            attrs={"size": 60, "placeholder": "https://app.example.com/signout-callback-oidc"})),
        _tabular(models.ClientScope, ScopeForm),
        _tabular(models.ClientCorsOrigin, origin=forms.TextInput(attrs={
            "size": 40, "placeholder": "https://app.example.com"})),
        _tabular(models.ClientClaim),
        _tabular(models.ClientProperty),
        _tabular(models.ClientIdPRestriction),
    ]

    def _kind(self, request: HttpRequest, obj: models.Client | None) -> kinds.Kind:
        if obj is not None and obj.pk is not None:
            return client_kind(obj)
        return kinds.KINDS.get(request.GET.get("kind", ""), kinds.KINDS["custom"])

    def add_view(self, request: HttpRequest, form_url: str = "",
                 extra_context: Any = None) -> Any:
        kind = kinds.KINDS.get(request.GET.get("kind", ""))
        if request.method == "POST" or (kind is not None and kind.supported):
            return super().add_view(request, form_url, extra_context)
        if not self.has_add_permission(request):
            raise PermissionDenied
        return TemplateResponse(request, "admin/clients_app/client/choose_kind.html", {
            **self.admin_site.each_context(request), "title": "Add client: what kind?",
            "opts": self.opts, "kinds": kinds.KINDS.values(),
        })

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        kind = self._kind(request, obj)
        problems = not_supported_yet(obj)
        # A field with a problem is shown once, beside its message.
        shown = [f for f in kind.open_fields if f not in problems] + (
            ["kind"] if obj is not None else [])
        fieldsets: list[Any] = [(None, {"fields": shown})]
        fieldsets += [(title, {"classes": ["collapse"], "fields": [
                          f for f in fields if f not in shown and f not in problems]})
                      for title, fields in ADVANCED]
        if problems:
            fieldsets.append(("Not supported yet", {"fields": list(problems), "description":
                format_html("<p>These stored settings need a feature this server does not have "
                            "yet; the client is refused until they are fixed.</p><ul>{}</ul>",
                            format_html_join("", "<li>{}: {}</li>", (
                                (_field(f).verbose_name, m)
                                for f, m in problems.items())))}))
        return fieldsets

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {**super().get_changeform_initial_data(request),
                **self._kind(request, None).initial}

    def _kind_rows(self, request: HttpRequest, prefix: str) -> list[dict[str, Any]]:
        kind = self._kind(request, None)
        if prefix == "allowed_scopes" and kind.scopes:
            known = known_scope_names()
            return [{"scope": s} for s in kind.scopes if s in known]
        return [dict(row) for row in kind.rows.get(prefix, ())]

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        instances: list[Any] = super().get_inline_instances(request, obj)
        kind = self._kind(request, obj)
        for inline in instances:
            prefix = inline.model._meta.default_related_name
            if obj is None or obj.pk is None:
                inline.kind_rows = len(self._kind_rows(request, prefix))
                shown = prefix in kind.inlines
            else:  # a collection holding values is never folded away
                shown = prefix in kind.inlines or getattr(obj, prefix).exists()
            inline.classes = None if shown else ["collapse"]
        return instances

    def get_formset_kwargs(self, request: HttpRequest, obj: Any, inline: Any, prefix: str
                           ) -> dict[str, Any]:
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if obj.pk is None:
            # On the POST too: the rows' has_changed compares against it.
            kwargs["initial"] = self._kind_rows(request, prefix)
        return kwargs

    @admin.display(description="kind")
    def kind(self, obj: models.Client) -> str:
        return client_kind(obj).title

    def get_queryset(self, request: HttpRequest) -> QuerySet[models.Client]:
        return super().get_queryset(request).prefetch_related(
            "allowed_grant_types", "client_secrets", "allowed_cors_origins", "registration")

    @admin.display(description="registered", boolean=True)
    def registered(self, obj: models.Client) -> bool:
        return hasattr(obj, "registration")  # prefetched: no query per row

    @admin.display(description="grant types")
    def grant_types(self, obj: models.Client) -> str:
        return ", ".join(g.grant_type for g in obj.allowed_grant_types.all())

    @admin.display(description="secret expiry")
    def secret_expiry(self, obj: models.Client) -> str:
        secrets = list(obj.client_secrets.all())
        if not secrets:
            return "-"
        now = timezone.now()
        live = [s for s in secrets if not s.expiration or s.expiration > now]
        if not live:
            return format_html('<strong style="color:#ba2121">{}</strong>', "all expired")
        dated = [s.expiration for s in live if s.expiration]
        return "never" if len(dated) < len(live) else str(min(dated).date())

    def _create_formsets(self, request: HttpRequest, obj: Any, change: bool) -> Any:
        # Rules such as "client_credentials needs a secret" span several inlines: give every
        # inline one shared check of the client as it would be saved.
        # A private hook of ModelAdmin (stable since Django 1.x), absent from django-stubs.
        formsets, inline_instances = super()._create_formsets(  # type: ignore[misc]
            request, obj, change)
        if request.method == "POST":
            check = ClientConfigCheck(obj, formsets)
            for formset in formsets:
                formset.config_check = check
        return formsets, inline_instances

    def has_export_permission(self, request: HttpRequest) -> bool:
        """Exports carry the secret hashes: only for those who may see and set them."""
        return may_handle_hashes(request, models.Client, models.ClientSecret)

    @admin.action(description="Enable selected clients", permissions=["change"])
    def enable_clients(self, request: HttpRequest, queryset: QuerySet[models.Client]) -> None:
        self._set_enabled(request, queryset, True)

    @admin.action(description="Disable selected clients", permissions=["change"])
    def disable_clients(self, request: HttpRequest, queryset: QuerySet[models.Client]) -> None:
        self._set_enabled(request, queryset, False)

    def _set_enabled(self, request: HttpRequest, queryset: QuerySet[models.Client],
                     enabled: bool) -> None:
        ids = list(queryset.values_list("client_id", flat=True))
        # update() sends no signals: invalidate the caches by hand.
        count = queryset.update(enabled=enabled, updated=timezone.now())
        configuration_changed()
        for client_id in ids:
            invalidate_client(client_id)
            transaction.on_commit(functools.partial(invalidate_client, client_id))
        self.message_user(request, f"{count} client(s) {'enabled' if enabled else 'disabled'}.",
                          messages.SUCCESS)

    @admin.action(description="Export selected clients as JSON", permissions=["export"])
    def export_clients(self, request: HttpRequest, queryset: QuerySet[models.Client]) -> Any:
        text, _ = export_document(sorted(queryset.values_list("client_id", flat=True)))
        response = HttpResponse(text, content_type="application/json")
        response["Content-Disposition"] = 'attachment; filename="clients.json"'
        return response


class _ResourceAdmin(VersionedAdmin):
    form = ResourceForm
    list_display = ["name", "display_name", "enabled", "show_in_discovery_document"]
    list_filter = ["enabled", "show_in_discovery_document"]
    search_fields = ["name", "display_name"]
    readonly_fields = ["created", "updated"]


def _claims(model_cls: type) -> type[admin.TabularInline]:
    return type(f"{model_cls.__name__}Inline", (admin.TabularInline,),
                {"model": model_cls, "extra": 0})


class ApiResourceSecretInline(_SecretInline):
    model = models.ApiResourceSecret


@admin.register(models.IdentityResource)
class IdentityResourceAdmin(_ResourceAdmin):
    inlines = [_claims(models.IdentityResourceClaim)]


@admin.register(models.ApiScope)
class ApiScopeAdmin(_ResourceAdmin):
    inlines = [_claims(models.ApiScopeClaim)]


@admin.register(models.ApiResource)
class ApiResourceAdmin(GeneratedSecretsMixin, _ResourceAdmin):
    inlines = [_claims(models.ApiResourceScope), _claims(models.ApiResourceClaim),
               ApiResourceSecretInline]


admin.site.register(models.Client, ClientAdmin)
