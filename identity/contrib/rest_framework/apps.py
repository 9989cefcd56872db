"""An optional app config: listed in INSTALLED_APPS, it checks IDENTITY_RESOURCE_SERVER when
Django starts, so a mistake stops `runserver`, `check` or the WSGI server at once instead of
failing the first authenticated request."""

from __future__ import annotations

from django.apps import AppConfig


class ResourceServerConfig(AppConfig):
    name = "identity.contrib.rest_framework"
    label = "identity_resource_server"  # "rest_framework" is DRF's own label
    verbose_name = "Identity resource server"

    def ready(self) -> None:
        from identity.contrib.rest_framework.conf import get_settings

        get_settings()  # raises ImproperlyConfigured with what is wrong
