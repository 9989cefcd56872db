"""Read-only admin pages for operational data: persisted grants, signing keys and consents, with
actions to revoke grants and to revoke compromised signing keys."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import router, transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html

from identity import clock
from identity.domain.keys import StoredKey
from identity.http import server_side_sessions
from identity.http.issuer import get_issuer
from identity.models import (
    AuditEvent,
    BackChannelLogout,
    Consent,
    PersistedGrant,
    ServerSideSession,
    ServerSideSessionClient,
    SigningKey,
)
from identity.stores.orm_grants import revoke_grants
from identity.stores.registry import get_key_ring

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[Any]
else:  # ModelAdmin is generic in django-stubs only
    _ModelAdmin = admin.ModelAdmin


class _ReadOnly(_ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(PersistedGrant)
class PersistedGrantAdmin(_ReadOnly):
    list_display = ["short_key", "type", "client_id", "subject_id", "created", "expires",
                    "consumed"]
    list_filter = ["type"]
    search_fields = ["subject_id", "client_id"]
    exclude = ["data"]  # token claims: not for display
    actions = ["revoke"]

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # deleting rows one by one would skip families and the deny list

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        # Revoking deletes the grants (with their families): the model's delete permission, the
        # one Django would ask for deleting them, which the admin otherwise never uses.
        return request.user.has_perm("identity.delete_persistedgrant")

    @admin.display(description="key (hash)")
    def short_key(self, obj: PersistedGrant) -> str:
        return obj.key[:12] + "…"

    @admin.action(description="Revoke selected grants (and the tokens issued from them)",
                  permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[PersistedGrant]) -> None:
        count = revoke_grants(queryset)
        self.message_user(request, f"{count} grant(s) revoked.", messages.SUCCESS)


@admin.register(SigningKey)
class SigningKeyAdmin(_ReadOnly):
    # Short cells (the whole value in a tooltip) so that the list fits a 1280 px window.
    list_display = ["short_kid", "algorithm", "state", "created_at", "activates", "retires",
                    "expires", "revoked"]
    list_display_links = ["short_kid"]
    list_filter = ["algorithm"]
    exclude = ["private_key"]  # encrypted, and still never shown
    actions = ["revoke"]

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # cleanup_grants deletes expired keys; a compromised key is revoked

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("identity.revoke_signingkey")

    @admin.display(description="state")
    def state(self, obj: SigningKey) -> str:
        return _stored(obj).state(clock.now())

    @admin.display(description="key ID", ordering="kid")
    def short_kid(self, obj: SigningKey) -> str:
        return _abbreviated(obj.kid, 12)

    @admin.display(description="created", ordering="created")
    def created_at(self, obj: SigningKey) -> str:
        return _when(obj.created)

    @admin.display(description="activates", ordering="activates_at")
    def activates(self, obj: SigningKey) -> str:
        return _when(obj.activates_at)

    @admin.display(description="retires", ordering="retires_at")
    def retires(self, obj: SigningKey) -> str:
        return _when(obj.retires_at)

    @admin.display(description="expires", ordering="expires_at")
    def expires(self, obj: SigningKey) -> str:
        return _when(obj.expires_at)

    @admin.display(description="revoked", ordering="revoked_at")
    def revoked(self, obj: SigningKey) -> str:
        return _when(obj.revoked_at)

    @admin.action(description="Revoke selected keys (irreversible)", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[SigningKey]) -> Any:
        keys = list(queryset)
        if request.POST.get("post") != "yes":
            return self._confirm_revoke(request, keys)
        with transaction.atomic(using=router.db_for_write(SigningKey)):
            revoked, created = get_key_ring().revoke([k.kid for k in keys])
        for key in created:
            self.message_user(request, f"New {key.algorithm} key {key.kid} signs from now on.",
                              messages.SUCCESS)
        self.message_user(request, f"{len(revoked)} key(s) revoked: no longer published, "
                          f"accepted or used to sign, on every server process.", messages.SUCCESS)
        return None

    def _confirm_revoke(self, request: HttpRequest, keys: list[SigningKey]) -> TemplateResponse:
        now = clock.now()
        return TemplateResponse(request, "admin/identity/signingkey/revoke_confirmation.html", {
            **self.admin_site.each_context(request), "title": "Revoke signing keys?",
            "opts": self.model._meta, "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "keys": [(k, _stored(k).state(now)) for k in keys],
        })


class _SessionClientFilter(admin.SimpleListFilter):
    title = "client"
    parameter_name = "client"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        ids = ServerSideSessionClient.objects.order_by("client_id").values_list(
            "client_id", flat=True).distinct()[:200]
        return [(c, c) for c in ids]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value():
            return queryset.filter(clients__client_id=self.value())
        return queryset


@admin.register(ServerSideSession)
class ServerSideSessionAdmin(_ReadOnly):
    """Users' sign-in sessions, by user and client; ending one signs the browser out at its
    next request and sends the session's clients back-channel logouts."""

    list_display = ["user", "short_sid", "client_list", "created", "renewed", "expires",
                    "user_agent"]
    list_filter = [_SessionClientFilter]
    list_select_related = ["user"]
    search_fields = ["session_id", "clients__client_id"]
    exclude = ["issuer"]
    actions = ["end_selected", "end_users_sessions"]

    def get_search_fields(self, request: HttpRequest) -> list[str]:
        from django.contrib.auth import get_user_model

        return [*self.search_fields, f"user__{get_user_model().USERNAME_FIELD}"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ServerSideSession]:
        return super().get_queryset(request).prefetch_related("clients")

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # a deleted row would end the session without telling its clients

    def has_end_permission(self, request: HttpRequest) -> bool:
        # Ending deletes the rows: the model's delete permission, the one Django would ask.
        return request.user.has_perm("identity.delete_serversidesession")

    @admin.display(description="sid")
    def short_sid(self, obj: ServerSideSession) -> str:
        return _abbreviated(obj.session_id, 8)

    @admin.display(description="clients")
    def client_list(self, obj: ServerSideSession) -> str:
        return ", ".join(c.client_id for c in obj.clients.all()) or "-"

    @admin.action(description="End selected sessions (sign out, notify their clients)",
                  permissions=["end"])
    def end_selected(self, request: HttpRequest, queryset: QuerySet[ServerSideSession]) -> None:
        self._end(request, ServerSideSession.objects.filter(pk__in=queryset.values("pk")))

    @admin.action(description="End every session of the selected sessions' users",
                  permissions=["end"])
    def end_users_sessions(self, request: HttpRequest,
                           queryset: QuerySet[ServerSideSession]) -> None:
        self._end(request, ServerSideSession.objects.filter(
            user__in=queryset.values("user")))

    def _end(self, request: HttpRequest, selected: QuerySet[ServerSideSession]) -> None:
        ended = server_side_sessions.end(selected, fallback_issuer=get_issuer(request))
        self.message_user(request, f"{len(ended)} session(s) ended: signed out at the browser's "
                          "next request; clients with a back-channel logout URI notified.",
                          messages.SUCCESS)


def _abbreviated(text: str, length: int) -> str:
    if len(text) <= length:
        return text
    return format_html('<span title="{}">{}…</span>', text, text[:length])


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    local = timezone.localtime(moment)
    return format_html('<span title="{}">{}</span>', local.isoformat(),
                       local.strftime("%Y-%m-%d %H:%M"))


def _stored(obj: SigningKey) -> StoredKey:
    return StoredKey(obj.kid, obj.algorithm, obj.generation, "", {}, obj.created,
                     obj.activates_at, obj.retires_at, obj.expires_at, obj.revoked_at)


@admin.register(Consent)
class ConsentAdmin(_ReadOnly):
    list_display = ["subject_id", "client_id", "created", "expires"]
    search_fields = ["subject_id", "client_id"]


@admin.register(AuditEvent)
class AuditEventAdmin(_ReadOnly):
    """Changes made through the management API and client registration, newest first."""

    list_display = ["at", "actor", "via", "action", "target_type", "target"]
    list_filter = ["via", "action", "target_type"]
    search_fields = ["actor", "target"]
    date_hierarchy = "at"

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # a trail that its readers could prune would prove nothing


@admin.register(BackChannelLogout)
class BackChannelLogoutAdmin(_ReadOnly):
    """Back-channel logouts waiting for send_back_channel_logouts; deleting one gives it up."""

    list_display = ["client_id", "uri", "attempts", "next_attempt_at", "last_error", "created"]
    list_filter = ["client_id"]
    search_fields = ["client_id", "subject", "session_id"]
