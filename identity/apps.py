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
        from identity.endpoints import account  # noqa: F401 - connects user_login_failed
        from identity.http import (
            server_side_sessions,  # noqa: F401 - connects user_logged_out
            session,  # noqa: F401 - connects user_logged_in
        )
