"""A separate API project that accepts the identity server's tokens: no identity apps, no
database, no django.contrib.auth. AUTHORITY and the introspection credentials come from the
environment, so a test can point it at a live identity server."""

import os

SECRET_KEY = "api-project-test-key"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
ROOT_URLCONF = "tests.contrib.api_project.urls"
# The optional app config checks IDENTITY_RESOURCE_SERVER at start-up.
INSTALLED_APPS = ["rest_framework", "identity.contrib.rest_framework.apps.ResourceServerConfig"]
MIDDLEWARE: list[str] = []
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
LOGGING = {"version": 1, "disable_existing_loggers": False,
           "handlers": {"stderr": {"class": "logging.StreamHandler"}},
           "loggers": {"identity.contrib.rest_framework": {"handlers": ["stderr"],
                                                            "level": "INFO"}}}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "identity.contrib.rest_framework.IdentityTokenAuthentication"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
    # Optional: the insufficient_scope challenge on 403s.
    "EXCEPTION_HANDLER": "identity.contrib.rest_framework.exception_handler",
}
IDENTITY_RESOURCE_SERVER = {
    "AUTHORITY": os.environ.get("API_AUTHORITY", "https://id.example.com"),
    "AUDIENCE": "api1",
    "REQUIRE_HTTPS": os.environ.get("API_AUTHORITY", "https:").startswith("https:"),
    "INTROSPECTION_CLIENT_ID": os.environ.get("API_INTROSPECTION_ID") or None,
    "INTROSPECTION_CLIENT_SECRET": os.environ.get("API_INTROSPECTION_SECRET") or None,
}
