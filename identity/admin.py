"""Read-only admin pages for operational data: persisted grants and signing keys."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from identity import clock
from identity.domain.grants import GRANT_REVOKED_JTI
from identity.domain.keys import StoredKey
from identity.models import Consent, PersistedGrant, SigningKey
from identity.stores.orm_grants import OrmPersistedGrantStore


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PersistedGrant)
class PersistedGrantAdmin(_ReadOnly):
    list_display = ["short_key", "type", "client_id", "subject_id", "created", "expires",
                    "consumed"]
    list_filter = ["type"]
    search_fields = ["subject_id", "client_id"]
    exclude = ["data"]  # token claims: not for display
    actions = ["revoke"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deleting rows one by one would skip families and the deny list

    @admin.display(description="key (hash)")
    def short_key(self, obj: PersistedGrant) -> str:
        return obj.key[:12] + "…"

    @admin.action(description="Revoke selected grants (and the tokens issued from them)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[PersistedGrant]) -> None:
        # Deny-list entries are never deleted here: that would un-revoke JWTs.
        live = queryset.exclude(type=GRANT_REVOKED_JTI)
        keys = list(live.values_list("key", flat=True))
        families = set(live.exclude(family="").values_list("family", flat=True))
        store = OrmPersistedGrantStore()
        count = PersistedGrant.objects.filter(key__in=keys).count()
        for key in keys:
            store.remove(key)
        for family in families | set(keys):  # JWTs issued in a family go on the deny list
            count += store.remove_family(family)
        self.message_user(request, f"{count} grant(s) revoked.", messages.SUCCESS)


@admin.register(SigningKey)
class SigningKeyAdmin(_ReadOnly):
    list_display = ["kid", "algorithm", "state", "created", "activates_at", "retires_at",
                    "expires_at"]
    list_filter = ["algorithm"]
    exclude = ["private_key"]  # encrypted, and still never shown

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="state")
    def state(self, obj: SigningKey) -> str:
        key = StoredKey(obj.kid, obj.algorithm, obj.generation, "", {}, obj.created,
                        obj.activates_at, obj.retires_at, obj.expires_at)
        return key.state(clock.now())


@admin.register(Consent)
class ConsentAdmin(_ReadOnly):
    list_display = ["subject_id", "client_id", "created", "expires"]
    search_fields = ["subject_id", "client_id"]
