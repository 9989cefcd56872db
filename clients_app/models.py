"""Configuration store tables, after IdentityServer's EntityFramework entities.

Scalar columns carry the names and defaults of `identity.domain.client.Client`; collections are
child tables, one row per value. `mapping.py` is the only converter to domain objects.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from identity.constants import (
    CLAIM_VALUE_TYPE_STRING,
    CLIENT_CLAIMS_PREFIX,
    PROTOCOL_OIDC,
    AccessTokenType,
    DPoPTokenExpirationValidationMode,
    SecretType,
    TokenExpiration,
    TokenUsage,
)

URI_LENGTH = 2000
NON_EDITABLE_UNSUPPORTED = ("true is not supported yet: the admin does not lock clients against "
                            "edits; untick it.")


def _choices(enum_cls: Any) -> list[tuple[int, str]]:
    return [(m.value, m.name) for m in enum_cls]


class Client(models.Model):
    """An OAuth/OpenID Connect client (IdentityServer `Client`)."""

    enabled = models.BooleanField(default=True)
    client_id = models.CharField("client ID", max_length=200, unique=True)
    protocol_type = models.CharField(max_length=200, default=PROTOCOL_OIDC)
    require_client_secret = models.BooleanField(
        default=True, help_text="Off for a public client (SPA, native app).")
    client_name = models.CharField(max_length=200, blank=True, null=True)
    description = models.CharField(max_length=1000, blank=True, null=True)
    client_uri = models.CharField("client URI", max_length=URI_LENGTH, blank=True, null=True)
    logo_uri = models.CharField("logo URI", max_length=URI_LENGTH, blank=True, null=True)
    require_consent = models.BooleanField(default=False)
    allow_remember_consent = models.BooleanField(default=True)
    require_pkce = models.BooleanField("require PKCE", default=True)
    allow_plain_text_pkce = models.BooleanField("allow plain-text PKCE", default=False)
    require_request_object = models.BooleanField(default=False)
    allow_access_tokens_via_browser = models.BooleanField(default=False)
    require_dpop = models.BooleanField("require DPoP", default=False)
    dpop_validation_mode = models.PositiveSmallIntegerField(
        "DPoP validation mode", choices=_choices(DPoPTokenExpirationValidationMode),
        default=DPoPTokenExpirationValidationMode.Iat)
    dpop_clock_skew = models.PositiveIntegerField(
        "DPoP clock skew", default=300, help_text="Seconds.")
    front_channel_logout_uri = models.CharField(
        "front-channel logout URI", max_length=URI_LENGTH, blank=True, null=True)
    front_channel_logout_session_required = models.BooleanField(default=True)
    back_channel_logout_uri = models.CharField(
        "back-channel logout URI", max_length=URI_LENGTH, blank=True, null=True)
    back_channel_logout_session_required = models.BooleanField(default=True)
    allow_offline_access = models.BooleanField(
        default=False, help_text="Allows the offline_access scope, hence refresh tokens.")
    always_include_user_claims_in_id_token = models.BooleanField(
        "always include user claims in ID token", default=False)
    identity_token_lifetime = models.IntegerField(
        "identity token lifetime", default=300, help_text="Seconds.")
    allowed_identity_token_signing_algorithms = models.CharField(
        max_length=100, blank=True, default="",
        help_text="Comma-separated, e.g. RS256,ES256; empty for the server default.")
    access_token_lifetime = models.IntegerField(default=3600, help_text="Seconds.")
    authorization_code_lifetime = models.IntegerField(default=300, help_text="Seconds.")
    absolute_refresh_token_lifetime = models.IntegerField(default=2592000, help_text="Seconds.")
    sliding_refresh_token_lifetime = models.IntegerField(default=1296000, help_text="Seconds.")
    consent_lifetime = models.IntegerField(
        blank=True, null=True, help_text="Seconds; empty: consent never expires.")
    pushed_authorization_lifetime = models.IntegerField(blank=True, null=True)
    require_pushed_authorization = models.BooleanField(default=False)
    refresh_token_usage = models.PositiveSmallIntegerField(
        choices=_choices(TokenUsage), default=TokenUsage.OneTimeOnly)
    update_access_token_claims_on_refresh = models.BooleanField(default=False)
    refresh_token_expiration = models.PositiveSmallIntegerField(
        choices=_choices(TokenExpiration), default=TokenExpiration.Absolute)
    access_token_type = models.PositiveSmallIntegerField(
        choices=_choices(AccessTokenType), default=AccessTokenType.Jwt)
    enable_local_login = models.BooleanField(default=True)
    include_jwt_id = models.BooleanField("include JWT ID", default=True)
    always_send_client_claims = models.BooleanField(default=False)
    client_claims_prefix = models.CharField(
        max_length=200, blank=True, null=True, default=CLIENT_CLAIMS_PREFIX)
    pair_wise_subject_salt = models.CharField(max_length=200, blank=True, null=True)
    user_sso_lifetime = models.IntegerField("user SSO lifetime", blank=True, null=True)
    user_code_type = models.CharField(max_length=100, blank=True, null=True)
    device_code_lifetime = models.IntegerField(default=300, help_text="Seconds.")
    ciba_lifetime = models.IntegerField("CIBA lifetime", blank=True, null=True)
    polling_interval = models.IntegerField(blank=True, null=True)
    coordinate_lifetime_with_user_session = models.BooleanField(blank=True, null=True)
    initiate_login_uri = models.CharField(
        "initiate login URI", max_length=URI_LENGTH, blank=True, null=True)
    non_editable = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)
    last_accessed = models.DateTimeField(blank=True, null=True)

    class Meta:
        ordering = ["client_id"]

    def __str__(self) -> str:
        return self.client_id

    # The client id the row was read with: renaming a client also invalidates its old entry.
    _loaded_client_id: str | None

    @classmethod
    def from_db(cls, db: str | None, field_names: Collection[str], values: Collection[Any],
                *args: Any, **kwargs: Any) -> Client:
        instance = super().from_db(db, field_names, values, *args, **kwargs)
        # Remembered so that renaming a client also invalidates its old cache entry.
        instance._loaded_client_id = instance.__dict__.get("client_id")
        return instance

    def clean(self) -> None:
        """Apply the scalar configuration rules (the admin checks collections with the inlines)."""
        from clients_app.mapping import client_scalar_problems

        errors: dict[str, list[str]] = {}
        for problem in client_scalar_problems(self):
            errors.setdefault(problem.field, []).append(problem.message)
        if self.non_editable:  # a column of the table only: the domain client has no such flag
            errors.setdefault("non_editable", []).append(NON_EDITABLE_UNSUPPORTED)
        if errors:
            raise ValidationError(errors)


class _ClientChild(models.Model):
    client = models.ForeignKey(Client, on_delete=models.CASCADE)

    class Meta:
        abstract = True


class ClientSecret(_ClientChild):
    """A hashed secret; several allow rollover, an expiration time-boxes one."""

    value = models.CharField(
        max_length=4000, help_text="Base64 of the SHA-256 or SHA-512 of the secret.")
    type = models.CharField(max_length=250, default=SecretType.SHARED_SECRET)
    description = models.CharField(max_length=2000, blank=True, null=True)
    expiration = models.DateTimeField(blank=True, null=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        default_related_name = "client_secrets"

    def __str__(self) -> str:
        return self.description or f"{self.type} #{self.pk}"


class ClientGrantType(_ClientChild):
    grant_type = models.CharField(max_length=250)

    class Meta:
        default_related_name = "allowed_grant_types"
        constraints = [models.UniqueConstraint(fields=["client", "grant_type"],
                                               name="uniq_client_grant_type")]

    def __str__(self) -> str:
        return self.grant_type


class ClientRedirectUri(_ClientChild):
    redirect_uri = models.CharField("redirect URI", max_length=URI_LENGTH)

    class Meta:
        default_related_name = "redirect_uris"
        verbose_name = "redirect URI"
        constraints = [models.UniqueConstraint(fields=["client", "redirect_uri"],
                                               name="uniq_client_redirect_uri")]

    def __str__(self) -> str:
        return self.redirect_uri


class ClientPostLogoutRedirectUri(_ClientChild):
    post_logout_redirect_uri = models.CharField("post-logout redirect URI", max_length=URI_LENGTH)

    class Meta:
        default_related_name = "post_logout_redirect_uris"
        verbose_name = "post-logout redirect URI"
        constraints = [models.UniqueConstraint(fields=["client", "post_logout_redirect_uri"],
                                               name="uniq_client_post_logout_uri")]

    def __str__(self) -> str:
        return self.post_logout_redirect_uri


class ClientScope(_ClientChild):
    scope = models.CharField(max_length=200)

    class Meta:
        default_related_name = "allowed_scopes"
        verbose_name = "allowed scope"
        constraints = [models.UniqueConstraint(fields=["client", "scope"],
                                               name="uniq_client_scope")]

    def __str__(self) -> str:
        return self.scope


class ClientCorsOrigin(_ClientChild):
    origin = models.CharField(max_length=150, help_text="scheme://host[:port], no path.")

    class Meta:
        default_related_name = "allowed_cors_origins"
        verbose_name = "CORS origin"
        constraints = [models.UniqueConstraint(fields=["client", "origin"],
                                               name="uniq_client_cors_origin")]

    def __str__(self) -> str:
        return self.origin


class ClientClaim(_ClientChild):
    type = models.CharField(max_length=250)
    value = models.CharField(max_length=250)
    value_type = models.CharField(max_length=250, default=CLAIM_VALUE_TYPE_STRING)

    class Meta:
        default_related_name = "claims"
        verbose_name = "client claim"

    def __str__(self) -> str:
        return f"{self.type}={self.value}"


class ClientProperty(_ClientChild):
    key = models.CharField(max_length=250)
    value = models.CharField(max_length=2000)

    class Meta:
        default_related_name = "properties"
        verbose_name_plural = "client properties"
        constraints = [models.UniqueConstraint(fields=["client", "key"],
                                               name="uniq_client_property")]

    def __str__(self) -> str:
        return self.key


class ClientIdPRestriction(_ClientChild):
    provider = models.CharField(max_length=200)

    class Meta:
        default_related_name = "identity_provider_restrictions"
        verbose_name = "identity-provider restriction"
        constraints = [models.UniqueConstraint(fields=["client", "provider"],
                                               name="uniq_client_idp_restriction")]

    def __str__(self) -> str:
        return self.provider


# ---- resources ---------------------------------------------------------------------------------

class _Resource(models.Model):
    enabled = models.BooleanField(default=True)
    name = models.CharField(max_length=200, unique=True)
    display_name = models.CharField(max_length=200, blank=True, null=True)
    description = models.CharField(max_length=1000, blank=True, null=True)
    show_in_discovery_document = models.BooleanField(default=True)
    properties = models.JSONField(
        default=dict, blank=True, help_text='Free-form names to values, e.g. {"team": "billing"}.')
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class IdentityResource(_Resource):
    """A named set of user claims requested by an identity scope (OIDC Core §5.4)."""

    required = models.BooleanField(default=False)
    emphasize = models.BooleanField(default=False)

    class Meta(_Resource.Meta):
        pass


class IdentityResourceClaim(models.Model):
    identity_resource = models.ForeignKey(
        IdentityResource, on_delete=models.CASCADE, related_name="user_claims")
    type = models.CharField("claim type", max_length=200)

    class Meta:
        verbose_name = "user claim"
        constraints = [models.UniqueConstraint(fields=["identity_resource", "type"],
                                               name="uniq_identity_resource_claim")]

    def __str__(self) -> str:
        return self.type


class ApiScope(_Resource):
    """A scope a client can request to call an API."""

    required = models.BooleanField(default=False)
    emphasize = models.BooleanField(default=False)

    class Meta(_Resource.Meta):
        verbose_name = "API scope"


class ApiScopeClaim(models.Model):
    scope = models.ForeignKey(ApiScope, on_delete=models.CASCADE, related_name="user_claims")
    type = models.CharField("claim type", max_length=200)

    class Meta:
        verbose_name = "user claim"
        constraints = [models.UniqueConstraint(fields=["scope", "type"],
                                               name="uniq_api_scope_claim")]

    def __str__(self) -> str:
        return self.type


class ApiResource(_Resource):
    """An API: audience of tokens carrying its scopes, and an introspection caller."""

    allowed_access_token_signing_algorithms = models.CharField(
        max_length=100, blank=True, default="", help_text="Comma-separated; empty: any.")
    require_resource_indicator = models.BooleanField(default=False)

    class Meta(_Resource.Meta):
        verbose_name = "API resource"


class ApiResourceScope(models.Model):
    api_resource = models.ForeignKey(ApiResource, on_delete=models.CASCADE, related_name="scopes")
    scope = models.CharField(max_length=200)

    class Meta:
        verbose_name = "scope"
        constraints = [models.UniqueConstraint(fields=["api_resource", "scope"],
                                               name="uniq_api_resource_scope")]

    def __str__(self) -> str:
        return self.scope


class ApiResourceClaim(models.Model):
    api_resource = models.ForeignKey(
        ApiResource, on_delete=models.CASCADE, related_name="user_claims")
    type = models.CharField("claim type", max_length=200)

    class Meta:
        verbose_name = "user claim"
        constraints = [models.UniqueConstraint(fields=["api_resource", "type"],
                                               name="uniq_api_resource_claim")]

    def __str__(self) -> str:
        return self.type


class ApiResourceSecret(models.Model):
    """A hashed secret with which the API authenticates at the introspection endpoint."""

    api_resource = models.ForeignKey(
        ApiResource, on_delete=models.CASCADE, related_name="api_secrets")
    value = models.CharField(max_length=4000)
    type = models.CharField(max_length=250, default=SecretType.SHARED_SECRET)
    description = models.CharField(max_length=1000, blank=True, null=True)
    expiration = models.DateTimeField(blank=True, null=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "API secret"

    def __str__(self) -> str:
        return self.description or f"{self.type} #{self.pk}"


# ---- dynamic client registration ---------------------------------------------------------------

class ClientRegistration(models.Model):
    """A client registered through the registration endpoint (RFC 7591), managed with its
    registration access token (RFC 7592): only the token's SHA-256 is kept."""

    client = models.OneToOneField(Client, on_delete=models.CASCADE, related_name="registration")
    token_hash = models.CharField(
        "registration access token hash", max_length=64, help_text="SHA-256 of the token, hex.")
    issued_at = models.DateTimeField("registered at")
    metadata = models.JSONField(
        default=dict, blank=True,
        help_text="RFC 7591 metadata without a client column: contacts, policy_uri, tos_uri, "
                  "software_id, software_version, token_endpoint_auth_method.")
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "client registration"

    def __str__(self) -> str:
        return f"registration #{self.pk}"
