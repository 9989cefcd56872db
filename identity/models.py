"""Operational data of the protocol: signing keys, persisted grants, device requests, consents."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from identity.domain.grants import GRANT_REFRESH_TOKEN


class SigningKey(models.Model):
    """A signing key, its private half encrypted at rest, shared by every server process."""

    kid = models.CharField("key ID", max_length=100, unique=True)
    algorithm = models.CharField(max_length=10)
    # Per algorithm, one more than the newest key's: two processes creating "the next key" at
    # once collide on this constraint and one of them adopts the other's key.
    generation = models.PositiveIntegerField()
    private_key = models.TextField(help_text="PEM, encrypted (Fernet) with a key derived from "
                                             "settings.")
    public_jwk = models.JSONField()
    created = models.DateTimeField()
    activates_at = models.DateTimeField(help_text="Signs from this time on.")
    retires_at = models.DateTimeField(help_text="Stops signing at this time.")
    expires_at = models.DateTimeField(help_text="Leaves the JWKS at this time.")
    # Kept until expires_at, so that the admin and the logs can still name the key, then deleted
    # by cleanup_grants like any expired key.
    revoked_at = models.DateTimeField(
        null=True, blank=True,
        help_text="Withdrawn at this time (manage.py revoke_signing_key): no longer signs, "
                  "published or accepted. Irreversible.")

    class Meta:
        ordering = ["algorithm", "-generation"]
        # Separate from change_signingkey (keys are read-only in the admin): revoking ends every
        # token the key signed, so it is granted on its own.
        permissions = [("revoke_signingkey", "Can revoke signing keys")]
        constraints = [models.UniqueConstraint(fields=["algorithm", "generation"],
                                               name="uniq_signing_key_generation")]

    def __str__(self) -> str:
        return f"{self.algorithm} {self.kid}"


class PersistedGrant(models.Model):
    """A code, refresh token, reference token or revoked jti, keyed by the hash of its handle.

    The handle itself is never stored: `key` is the SHA-256 of it (IdentityServer keeps a hash
    too). `consumed` marks one-time use; a conditional update on it makes redemption atomic.
    """

    key = models.CharField(max_length=64, primary_key=True)
    type = models.CharField(max_length=50)
    client_id = models.CharField(max_length=200)
    subject_id = models.CharField(max_length=200, blank=True, default="")
    session_id = models.CharField(max_length=100, blank=True, default="")
    # The grant that this one came from (a code's tokens, a refresh token's successors).
    family = models.CharField(max_length=64, blank=True, default="")
    data = models.JSONField()
    created = models.DateTimeField()
    expires = models.DateTimeField(null=True, blank=True)
    consumed = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["subject_id", "client_id", "type"], name="grant_subject_idx"),
            models.Index(fields=["family"], name="grant_family_idx"),
            models.Index(fields=["expires"], name="grant_expires_idx"),
            # What cleanup_grants deletes by consumption time: consumed codes and reference
            # tokens (rotated refresh tokens stay until they expire). Partial, so it holds the
            # few rows awaiting cleanup rather than one entry for every row of the table.
            models.Index(fields=["consumed"], name="grant_consumed_idx",
                         condition=models.Q(consumed__isnull=False)
                         & ~models.Q(type=GRANT_REFRESH_TOKEN)),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.key[:8]}… {self.client_id}"


class DeviceFlowCode(models.Model):
    """A device authorization request (RFC 8628): its two codes as hashes, its polling state
    and, once the user decided, who did and what they approved (IdentityServer's DeviceCodes).

    `user_key` is unique: a user code names one request. An expired request that still holds a
    code is deleted when a new request draws the same code, so uniqueness binds live codes only.
    """

    device_key = models.CharField(max_length=64, primary_key=True)
    user_key = models.CharField(max_length=64, unique=True)
    client_id = models.CharField(max_length=200)
    scopes = models.JSONField()
    created = models.DateTimeField()
    expires = models.DateTimeField(db_index=True)
    interval = models.PositiveIntegerField(help_text="Seconds between polls; grows on slow_down.")
    last_polled = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, default="pending")
    subject_id = models.CharField(max_length=200, blank=True, default="")
    session_id = models.CharField(max_length=100, blank=True, default="")
    auth_time = models.BigIntegerField(null=True, blank=True)
    amr = models.JSONField(default=list, blank=True)
    granted_scopes = models.JSONField(default=list, blank=True)
    consumed = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"device {self.device_key[:8]}… {self.client_id} {self.status}"


class Consent(models.Model):
    """Scopes a user granted a client, remembered until `expires` (None: no expiry)."""

    subject_id = models.CharField(max_length=200)
    client_id = models.CharField(max_length=200)
    scopes = models.JSONField()
    created = models.DateTimeField()
    expires = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["subject_id", "client_id"],
                                               name="uniq_consent_subject_client")]

    def __str__(self) -> str:
        return f"{self.subject_id} -> {self.client_id}"


class ConfigurationGeneration(models.Model):
    """A counter bumped by every change that every server process must see at its next request
    (clients, scopes and resources, signing keys): processes whose caches are not shared compare
    it with the one their cached values were read under."""

    name = models.CharField(max_length=50, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} {self.value}"


class FailureCount(models.Model):
    """Failed authentications under one throttling key, counted in the database when Django's
    cache is not shared by every serving process."""

    key = models.CharField(max_length=64, primary_key=True)
    count = models.PositiveIntegerField(default=0)
    expires = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key[:8]}… {self.count}"


def column(model: type[models.Model], field_name: str) -> str:
    """Return the database column of a model's concrete field (for the hand-written SELECTs
    on the hot paths)."""
    field = model._meta.pk if field_name == "pk" else model._meta.get_field(field_name)
    if not isinstance(field, models.Field) or field.column is None:
        raise TypeError(f"{model.__name__}.{field_name} is not a concrete column")
    return field.column


class AuditEvent(models.Model):
    """A change made through the management API or dynamic client registration: who, when,
    what. Secret values and hashes are never recorded, only that a secret changed."""

    at = models.DateTimeField(db_index=True)
    # "user:<username>" (a staff session), "client:<client_id>" (a token, with the user as
    # "client:<id> for user:<sub>" when the token has one), "registration:<client_id>".
    actor = models.CharField(max_length=400)
    via = models.CharField(max_length=20, help_text="api or registration")
    action = models.CharField(max_length=20)
    target_type = models.CharField("object type", max_length=50)
    target = models.CharField("object", max_length=200)
    changes = models.JSONField(default=dict, blank=True,
                               help_text="Field names to [before, after].")

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["target_type", "target"], name="audit_target_idx")]

    def __str__(self) -> str:
        return f"{self.actor} {self.action} {self.target_type} {self.target}"


class BackChannelLogout(models.Model):
    """A back-channel logout notification that a client has not acknowledged yet, kept to be
    sent again by `send_back_channel_logouts`. It holds what re-minting the logout token needs,
    never the token: a row is no bearer credential."""

    client_id = models.CharField(max_length=200)
    uri = models.CharField("back-channel logout URI", max_length=2000)
    issuer = models.CharField(max_length=2000)
    # The subject as this client knows it (pairwise when the client has a salt).
    subject = models.CharField(max_length=200)
    session_id = models.CharField("sid", max_length=200, blank=True)
    created = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["next_attempt_at", "pk"]

    def __str__(self) -> str:
        return f"{self.client_id} {self.uri} (attempt {self.attempts})"


class ServerSideSession(models.Model):
    """A user's sign-in session, kept in the database so that it can be listed and ended from
    anywhere (IdentityServer's server-side sessions). The browser's Django session names it by
    `session_id` (the OIDC `sid`); every request of that browser checks the row is still there
    and not expired, so ending a session here signs the browser out on any node.

    `issuer` is the one the person signed in under: a session that expires with nobody's
    request at hand still gets logout tokens with the right `iss`."""

    session_id = models.CharField("sid", max_length=100, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    issuer = models.CharField(max_length=2000)
    user_agent = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField()
    renewed = models.DateTimeField(help_text="Last activity seen, to the minute.")
    expires = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-renewed", "pk"]
        verbose_name = "server-side session"

    def __str__(self) -> str:
        return f"{self.user_id} {self.session_id[:8]}…"


class ServerSideSessionClient(models.Model):
    """A client the user signed in to during a server-side session."""

    session = models.ForeignKey(ServerSideSession, on_delete=models.CASCADE,
                                related_name="clients")
    client_id = models.CharField(max_length=200)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "client_id"],
                                               name="uniq_session_client")]
        indexes = [models.Index(fields=["client_id"], name="session_client_idx")]

    def __str__(self) -> str:
        return self.client_id
