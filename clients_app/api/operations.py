"""Operational data over the management API: signing keys, persisted grants, consents and the
audit trail.

These are the protocol's own records, not configuration, so the writes are the operations the
admin and the management commands offer, done by the same code: rotating and revoking signing
keys through the key ring, revoking grants with their families, revoking a consent with the
tokens it allowed. Nothing here shows a private key or a grant's `data` (token claims, from which
a token could be rebuilt); a grant is named by its key, the SHA-256 of its handle.
"""

from __future__ import annotations

from typing import Any, Final

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from clients_app.api.base import ManagementViewSet, StrictSerializer
from clients_app.api.conditional import check_if_match, etag
from identity import clock
from identity.constants import SIGNING_ALGORITHMS
from identity.domain.grants import (
    GRANT_AUTHORIZATION_CODE,
    GRANT_ISSUED_JTI,
    GRANT_REFERENCE_TOKEN,
    GRANT_REFRESH_TOKEN,
    GRANT_REVOKED_JTI,
)
from identity.domain.keys import StoredKey
from identity.models import AuditEvent, Consent, PersistedGrant, SigningKey
from identity.stores.orm_grants import revoke_grants
from identity.stores.registry import get_consent_store, get_grant_store, get_key_ring

GRANT_TYPES: Final = (GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN, GRANT_REFERENCE_TOKEN,
                      GRANT_ISSUED_JTI, GRANT_REVOKED_JTI)
# Query parameters of every list besides its filters: pagination, and DRF's renderer choice.
_LIST_PARAMETERS: Final = frozenset({"page", "page_size", "format"})
_MAX_ID_DIGITS: Final = 18  # below a 64-bit integer: longer ids overflow the database's


class StrictBooleanField(serializers.BooleanField):
    """A JSON `true` or `false` only: "no" or 0 for an irreversible choice is a mistake."""

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)
        raise AssertionError  # pragma: no cover - fail() raises


def _lookup(value: str, max_length: int) -> str:
    """Return a path's object name, or answer 404 for one no row could have (a NUL byte, which
    PostgreSQL refuses in a query, or an overlong value)."""
    if "\x00" in value or len(value) > max_length:
        raise Http404
    return value


def _row_id(value: str) -> int:
    if not value.isdigit() or len(value) > _MAX_ID_DIGITS:
        raise Http404
    return int(value)


class _OperationsViewSet(ManagementViewSet):
    """A view whose list takes the filters of `filter_serializer`, and nothing else: a misspelt
    filter would otherwise list (or lead an operator to revoke) far more than was meant."""

    filter_serializer: type[serializers.Serializer] = serializers.Serializer

    def filters(self) -> dict[str, Any]:
        """Return the validated filters of the request's query; 400 for unknown parameters."""
        params = self.request.query_params
        known = set(self.filter_serializer().fields)
        unknown = sorted(set(params) - known - _LIST_PARAMETERS)
        if unknown:
            raise serializers.ValidationError(
                {name: [f"Unknown parameter; the filters are: {', '.join(sorted(known))}."]
                 for name in unknown})
        given = self.filter_serializer(data={name: params[name] for name in params
                                             if name in known})
        given.is_valid(raise_exception=True)
        return dict(given.validated_data)

    def page_of(self, rows: QuerySet[Any]) -> Response:
        """Answer with one page of `rows`, represented by the view's serializer."""
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page or [], many=True).data)


# --- signing keys ---------------------------------------------------------------------------------


class SigningKeySerializer(serializers.ModelSerializer):
    """A signing key's public half and schedule; the private half is never in a response."""

    state = serializers.SerializerMethodField(
        help_text="revoked, announced, signing, retired or expired, at the time of the request.")

    class Meta:
        model = SigningKey
        fields = ["kid", "algorithm", "state", "created", "activates_at", "retires_at",
                  "expires_at", "revoked_at", "public_jwk"]
        read_only_fields = fields

    def get_state(self, row: SigningKey) -> str:
        # The state the admin shows, from the same schedule the key ring signs by.
        return StoredKey(row.kid, row.algorithm, row.generation, "", {}, row.created,
                         row.activates_at, row.retires_at, row.expires_at,
                         row.revoked_at).state(clock.now())


class SigningKeyFilters(serializers.Serializer):
    algorithm = serializers.ChoiceField(choices=sorted(SIGNING_ALGORITHMS), required=False)


class RotateSerializer(StrictSerializer):
    immediately = StrictBooleanField(
        required=False, default=False,
        help_text="Sign with the new keys at once; by default they are published now and sign "
                  "after the propagation time. The old keys stay published and accepted either "
                  "way: after a compromise, revoke the key instead.")


class RevokedKeySerializer(serializers.Serializer):
    revoked = SigningKeySerializer()
    replacements = SigningKeySerializer(
        many=True, help_text="Keys created to sign in place of the revoked one, if it signed.")


@extend_schema_view(
    list=extend_schema(parameters=[SigningKeyFilters]),
    rotate=extend_schema(request=RotateSerializer,
                         responses={201: SigningKeySerializer(many=True)}),
    revoke=extend_schema(request=None, responses={200: RevokedKeySerializer}),
)
class SigningKeyViewSet(_OperationsViewSet):
    """Signing keys: list, read, rotate, and revoke a compromised key (irreversible).

    The writes go through this process's key ring, whose store bumps the configuration
    generation: every other process re-reads its keys at its next request, so a revoked key
    verifies nothing anywhere from then on.
    """

    queryset = SigningKey.objects.all()
    serializer_class = SigningKeySerializer
    filter_serializer = SigningKeyFilters
    permission_model = SigningKey
    audit_type = "signing key"
    lookup_field = "kid"
    lookup_value_regex = "[^/]+"
    # Revoking ends every token the key signed: a permission of its own, as in the admin.
    action_permissions = {"rotate": ["identity.add_signingkey"],
                          "revoke": ["identity.revoke_signingkey"]}

    def _row(self, *, lock: bool = False) -> SigningKey:
        rows = SigningKey.objects.select_for_update() if lock else SigningKey.objects.all()
        return get_object_or_404(rows, kid=_lookup(self.kwargs["kid"], 100))

    def list(self, request: Request) -> Response:
        return self.page_of(SigningKey.objects.filter(**self.filters()))

    def retrieve(self, request: Request, kid: str) -> Response:
        return self.object_response(SigningKeySerializer(self._row()).data)

    @action(detail=False, methods=["post"])
    def rotate(self, request: Request) -> Response:
        """Create a new key for every configured algorithm, as `manage.py rotate_signing_keys`."""
        given = RotateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        immediately = given.validated_data["immediately"]
        with self.writing():
            created = get_key_ring().rotate(immediately=immediately)
            # Read back: a key another process stored first under the same generation is not
            # ours, and was not stored.
            rows = list(SigningKey.objects.filter(kid__in=[k.kid for k in created]))
            for row in rows:
                self.audit("rotate", row.kid, {"immediately": (None, immediately)})
        return Response(SigningKeySerializer(rows, many=True).data,
                        status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, kid: str) -> Response:
        """Withdraw a key for good, as the admin's action and `manage.py revoke_signing_key`:
        it no longer signs, is published or verifies; where it signed, a new key signs at once.
        409 when it is revoked already."""
        with self.writing():
            row = self._row(lock=True)
            before = SigningKeySerializer(row).data
            check_if_match(request, before)
            if row.revoked_at is not None:
                return Response({"detail": f"The key was revoked at "
                                           f"{row.revoked_at.isoformat()}."},
                                status=status.HTTP_409_CONFLICT)
            _, created = get_key_ring().revoke([row.kid])
            after = SigningKeySerializer(self._row()).data
            self.audit("revoke", row.kid, {"state": (before["state"], after["state"]),
                                           "revoked_at": (None, after["revoked_at"])})
            replacements = list(SigningKey.objects.filter(kid__in=[k.kid for k in created]))
            for new in replacements:
                self.audit("create", new.kid, {"replaces": (None, row.kid)})
        return Response({"revoked": after, "replacements": SigningKeySerializer(
            replacements, many=True).data}, headers={"ETag": etag(after)})


# --- persisted grants -----------------------------------------------------------------------------


class GrantSerializer(serializers.ModelSerializer):
    """A grant's bookkeeping; never its data (the claims a token could be rebuilt from)."""

    key = serializers.CharField(read_only=True,
                                help_text="The SHA-256 of the grant's handle, never the handle.")

    class Meta:
        model = PersistedGrant
        fields = ["key", "type", "client_id", "subject_id", "session_id", "family", "created",
                  "expires", "consumed"]
        read_only_fields = fields


class GrantFilters(serializers.Serializer):
    subject_id = serializers.CharField(max_length=200, required=False)
    client_id = serializers.CharField(max_length=200, required=False)
    type = serializers.ChoiceField(choices=GRANT_TYPES, required=False)


class RevokeGrantsSerializer(StrictSerializer):
    """Whose grants to revoke: a user's, a client's, or a user's with one client."""

    subject_id = serializers.CharField(max_length=200, required=False)
    client_id = serializers.CharField(max_length=200, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs:
            raise serializers.ValidationError("Name a subject_id, a client_id, or both.")
        return attrs


class RevokedCountSerializer(serializers.Serializer):
    revoked = serializers.IntegerField(help_text="Grants deleted, families included.")


@extend_schema_view(
    list=extend_schema(parameters=[GrantFilters]),
    destroy=extend_schema(responses={
        204: OpenApiResponse(description="Revoked, with its family."),
        400: OpenApiResponse(description="A deny-list entry, which is never deleted.")}),
    revoke=extend_schema(request=RevokeGrantsSerializer,
                         responses={200: RevokedCountSerializer}),
)
class GrantViewSet(_OperationsViewSet):
    """Persisted grants (codes, refresh and reference tokens, records of issued and revoked JWTs):
    list, read, and revoke one or all of a user's or a client's."""

    queryset = PersistedGrant.objects.all()
    serializer_class = GrantSerializer
    filter_serializer = GrantFilters
    permission_model = PersistedGrant
    audit_type = "grant"
    lookup_field = "key"
    lookup_value_regex = "[^/]+"
    # Revoking deletes grants: the permission the admin's revoke action asks for.
    action_permissions = {"revoke": ["identity.delete_persistedgrant"]}

    def _row(self, *, lock: bool = False) -> PersistedGrant:
        rows = PersistedGrant.objects.select_for_update() if lock else PersistedGrant.objects
        return get_object_or_404(rows.all(), key=_lookup(self.kwargs["key"], 64))

    def list(self, request: Request) -> Response:
        rows = PersistedGrant.objects.filter(**self.filters()).order_by("-created", "key")
        return self.page_of(rows)

    def retrieve(self, request: Request, key: str) -> Response:
        return self.object_response(GrantSerializer(self._row()).data)

    def destroy(self, request: Request, key: str) -> Response:
        """Revoke one grant with its family (204)."""
        with self.writing():
            row = self._row(lock=True)
            check_if_match(request, GrantSerializer(row).data)
            if row.type == GRANT_REVOKED_JTI:
                raise serializers.ValidationError(
                    {"key": ["A deny-list entry is never deleted: its token would be accepted "
                             "again. It goes away when the token expires."]})
            count = revoke_grants(PersistedGrant.objects.filter(pk=row.pk))
            self.audit("revoke", row.key, {"type": (row.type, None),
                                           "client_id": (row.client_id, None),
                                           "subject_id": (row.subject_id, None),
                                           "grants": (count, 0)})
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=False, methods=["post"])
    def revoke(self, request: Request) -> Response:
        """Revoke every grant of a user, of a client, or of a user with a client."""
        given = RevokeGrantsSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        chosen = given.validated_data
        with self.writing():
            count = revoke_grants(PersistedGrant.objects.filter(**chosen))
            target = " ".join(f"{name}={chosen[name]}" for name in sorted(chosen))
            self.audit("revoke", target, {"grants": (count, 0)})
        return Response({"revoked": count})


# --- consents -------------------------------------------------------------------------------------


class ConsentSerializer(serializers.ModelSerializer):
    scopes = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Consent
        fields = ["id", "subject_id", "client_id", "scopes", "created", "expires"]
        read_only_fields = fields


class ConsentFilters(serializers.Serializer):
    subject_id = serializers.CharField(max_length=200, required=False)
    client_id = serializers.CharField(max_length=200, required=False)


@extend_schema_view(
    list=extend_schema(parameters=[ConsentFilters]),
    destroy=extend_schema(responses={204: OpenApiResponse(
        description="Revoked, with every grant of the user for the client.")}),
)
class ConsentViewSet(_OperationsViewSet):
    """Remembered consents: list, read, revoke."""

    queryset = Consent.objects.all()
    serializer_class = ConsentSerializer
    filter_serializer = ConsentFilters
    permission_model = Consent
    audit_type = "consent"
    lookup_value_regex = "[0-9]+"

    def _row(self, *, lock: bool = False) -> Consent:
        rows = Consent.objects.select_for_update() if lock else Consent.objects
        return get_object_or_404(rows.all(), pk=_row_id(self.kwargs["pk"]))

    def list(self, request: Request) -> Response:
        return self.page_of(Consent.objects.filter(**self.filters()).order_by("subject_id",
                                                                               "client_id"))

    def retrieve(self, request: Request, pk: str) -> Response:
        return self.object_response(ConsentSerializer(self._row()).data)

    def destroy(self, request: Request, pk: str) -> Response:
        """Revoke a consent as the user's own grants page does: the consent and, with it, every
        grant of the user for the client (its JWTs on the deny list), through the same stores."""
        with self.writing():
            row = self._row(lock=True)
            check_if_match(request, ConsentSerializer(row).data)
            get_consent_store().remove(row.subject_id, row.client_id)
            count = get_grant_store().remove_all(row.subject_id, row.client_id)
            self.audit("revoke", str(row), {"scopes": (list(row.scopes), None),
                                            "grants": (count, 0)})
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- the audit trail ------------------------------------------------------------------------------


class AuditEventSerializer(serializers.ModelSerializer):
    changes = serializers.DictField(child=serializers.ListField(), read_only=True,
                                    help_text="Field names to [before, after].")

    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor", "via", "action", "target_type", "target", "changes"]
        read_only_fields = fields


class AuditEventFilters(serializers.Serializer):
    target_type = serializers.CharField(max_length=50, required=False)
    target = serializers.CharField(max_length=200, required=False)
    actor = serializers.CharField(max_length=400, required=False)


@extend_schema_view(list=extend_schema(parameters=[AuditEventFilters]))
class AuditEventViewSet(_OperationsViewSet):
    """The audit trail, newest first; read-only (a trail its readers could edit proves
    nothing)."""

    queryset = AuditEvent.objects.all()
    serializer_class = AuditEventSerializer
    filter_serializer = AuditEventFilters
    permission_model = AuditEvent
    lookup_value_regex = "[0-9]+"

    def list(self, request: Request) -> Response:
        return self.page_of(AuditEvent.objects.filter(**self.filters()))

    def retrieve(self, request: Request, pk: str) -> Response:
        row = get_object_or_404(AuditEvent.objects.all(), pk=_row_id(pk))
        return self.object_response(AuditEventSerializer(row).data)
