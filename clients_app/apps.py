"""App configuration of the configuration store."""

from __future__ import annotations

from django.apps import AppConfig


class ClientsAppConfig(AppConfig):
    """Django models, admin and ORM stores for clients, scopes and resources."""

    name = "clients_app"
    verbose_name = "Clients and resources"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Connect cache invalidation."""
        from clients_app import receivers

        receivers.connect()
