"""App configuration of the protocol app."""

from __future__ import annotations

from django.apps import AppConfig


class IdentityConfig(AppConfig):
    """The reusable OAuth 2.0 / OpenID Connect protocol app."""

    name = "identity"
    verbose_name = "Identity (protocol)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the system checks and the sign-in receivers."""
        from identity import checks  # noqa: F401 - registers checks on import
        from identity.endpoints import (  # noqa: F401 - connect user_login_failed, user_logged_in
            account,
            session,
        )
