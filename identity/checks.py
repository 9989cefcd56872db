"""System checks that report misconfiguration at start-up with what to fix."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.checks import Warning as CheckWarning
from django.utils.module_loading import import_string

from identity.conf import DEFAULTS, IMPORT_STRINGS, REMOVED

OUTAGE_MIDDLEWARE = "identity.http.outage.OutageMiddleware"
# The path of earlier versions, still importable (identity/outage.py).
OUTAGE_MIDDLEWARE_ALIASES = frozenset({OUTAGE_MIDDLEWARE, "identity.outage.OutageMiddleware"})


@register()
def check_identity_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Check the IDENTITY dictionary: known keys, importable stores, an absolute issuer."""
    errors: list[CheckMessage] = []
    user = getattr(settings, "IDENTITY", {}) or {}
    for key in user:
        if key in REMOVED:
            errors.append(Error(f"IDENTITY[{key!r}] has been removed: {REMOVED[key]}.",
                                hint=f"Delete IDENTITY[{key!r}].", id="identity.E001"))
        elif key not in DEFAULTS:
            errors.append(Error(f"IDENTITY[{key!r}] is not a setting.",
                                hint=f"Known settings: {', '.join(sorted(DEFAULTS))}.",
                                id="identity.E001"))
    for key in IMPORT_STRINGS:
        path = user.get(key, DEFAULTS[key])
        if isinstance(path, str):
            try:
                import_string(path)
            except ImportError as exc:
                errors.append(Error(f"IDENTITY[{key!r}] = {path!r} cannot be imported: {exc}",
                                    hint="Give the dotted path of a store class, and add its "
                                    "app to INSTALLED_APPS.", id="identity.E002"))
    issuer = user.get("ISSUER")
    if issuer is not None:
        parts = urlsplit(str(issuer))
        bad_scheme = parts.scheme not in ("http", "https")
        if bad_scheme or not parts.netloc or parts.query or "#" in issuer:
            errors.append(Error(f"IDENTITY['ISSUER'] = {issuer!r} is not an absolute URL.",
                                hint="Use https://host[:port][/path], no query or fragment "
                                "(OpenID Connect Discovery §3).", id="identity.E003"))
    path = user.get("CLIENTS_FILE")
    if path:
        from identity.config_document import ConfigDocumentError, load_document

        try:
            load_document(path)
        except ConfigDocumentError as exc:
            errors.append(Error(f"IDENTITY['CLIENTS_FILE'] = {path!r} cannot be used:\n"
                                + "\n".join(exc.problems),
                                hint="Fix the file or unset IDENTITY_CLIENTS_FILE.",
                                id="identity.E004"))
    for app in ("django.contrib.sessions", "django.contrib.auth", "django.contrib.contenttypes"):
        if not apps.is_installed(app):
            errors.append(Error(f"{app} is not installed.",
                                hint=f"Add {app!r} to INSTALLED_APPS; sign-in needs it.",
                                id="identity.E005"))
    for key in ("CLIENT_STORE", "RESOURCE_STORE", "CORS_POLICY"):
        path = str(user.get(key, DEFAULTS[key]))
        if path.startswith("clients_app.") and not apps.is_installed("clients_app"):
            errors.append(Error(f"IDENTITY[{key!r}] uses clients_app, which is not installed.",
                                hint="Add 'clients_app' to INSTALLED_APPS, or set "
                                f"IDENTITY[{key!r}] to your own store.", id="identity.E006"))
            break
    if issuer and str(issuer).startswith("https://") and not (
            settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE):
        errors.append(Error("The issuer is https but the session or CSRF cookie is not Secure.",
                            hint="Set SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True.",
                            id="identity.E007"))
    if not OUTAGE_MIDDLEWARE_ALIASES.intersection(settings.MIDDLEWARE):
        errors.append(CheckWarning(f"{OUTAGE_MIDDLEWARE} is not in MIDDLEWARE: a database or cache "
                              "outage answers 500 on the sign-in pages instead of 503.",
                              hint="Add it right after SecurityMiddleware.", id="identity.W001"))
    from identity.validation.jwk import CLIENT_ALGORITHMS

    algorithms = user.get("CLIENT_SIGNING_ALGORITHMS", DEFAULTS["CLIENT_SIGNING_ALGORITHMS"])
    if not isinstance(algorithms, list | tuple) or not algorithms or \
            not set(algorithms) <= set(CLIENT_ALGORITHMS):
        errors.append(Error(f"IDENTITY['CLIENT_SIGNING_ALGORITHMS'] = {algorithms!r} is not a "
                            f"list of supported algorithms.",
                            hint=f"Use some of {', '.join(CLIENT_ALGORITHMS)}.",
                            id="identity.E008"))
    errors.extend(_check_back_channel_logout(user))
    errors.extend(_check_sessions(user))
    errors.extend(_check_admin_login())
    return errors


SESSION_MIDDLEWARE = "identity.http.server_side_sessions.ServerSideSessionMiddleware"
_AUTHENTICATION_MIDDLEWARE = "django.contrib.auth.middleware.AuthenticationMiddleware"


def _check_sessions(user: dict[str, Any]) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for key in ("SESSION_LIFETIME", "SESSION_IDLE_TIMEOUT"):
        value = user.get(key, DEFAULTS[key])
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 60):
            errors.append(Error(f"IDENTITY[{key!r}] = {value!r} is not a number of seconds of "
                                "at least 60, or None.",
                                hint=f"Set it to {DEFAULTS[key]!r} (the default), another "
                                "number of seconds, or None for no limit.", id="identity.E010"))
    middleware = list(settings.MIDDLEWARE)
    if SESSION_MIDDLEWARE not in middleware:
        errors.append(CheckWarning(
            f"{SESSION_MIDDLEWARE} is not in MIDDLEWARE: sessions ended in the admin or on the "
            "grants page, and expired ones, stay signed in in their browsers.",
            hint="Add it right after AuthenticationMiddleware.", id="identity.W003"))
    elif _AUTHENTICATION_MIDDLEWARE in middleware and \
            middleware.index(SESSION_MIDDLEWARE) < middleware.index(_AUTHENTICATION_MIDDLEWARE):
        errors.append(Error(f"{SESSION_MIDDLEWARE} comes before AuthenticationMiddleware.",
                            hint="Move it right after AuthenticationMiddleware: it needs the "
                            "signed-in user.", id="identity.E011"))
    return errors


# Back-channel logout numbers and their least values: a zero timeout would make every POST fail
# at once, and no worker would send nothing.
_BACK_CHANNEL_MINIMUMS = {"BACK_CHANNEL_LOGOUT_TIMEOUT": 0.1, "BACK_CHANNEL_LOGOUT_WORKERS": 1,
                          "BACK_CHANNEL_LOGOUT_TOKEN_LIFETIME": 1,
                          "BACK_CHANNEL_LOGOUT_RETRIES": 0, "BACK_CHANNEL_LOGOUT_RETRY_DELAY": 0}


def _check_back_channel_logout(user: dict[str, Any]) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for key, least in _BACK_CHANNEL_MINIMUMS.items():
        value = user.get(key, DEFAULTS[key])
        whole = key != "BACK_CHANNEL_LOGOUT_TIMEOUT"
        if isinstance(value, bool) or not isinstance(value, int if whole else int | float) \
                or value < least:
            errors.append(Error(f"IDENTITY[{key!r}] = {value!r} is not a number of at least "
                                f"{least}.", hint=f"Set it to {DEFAULTS[key]!r} (the default) "
                                "or another such number.", id="identity.E009"))
    return errors


def _check_admin_login() -> list[CheckMessage]:
    """Warn when the admin's sign-in page is served without the failed-sign-in limits."""
    if not apps.is_installed("django.contrib.admin"):
        return []
    from django.urls import NoReverseMatch, resolve, reverse

    from identity.endpoints.account import admin_login

    try:
        view = resolve(reverse("admin:login")).func
    except (NoReverseMatch, Exception):  # no admin URLs at all: nothing to protect
        return []
    if view is admin_login:
        return []
    return [CheckWarning(
        "The admin's sign-in page has no limit on failed sign-ins.",
        hint="Route it through identity's view, ahead of the admin's URLs: "
        'path("admin/login/", identity.endpoints.account.admin_login).',
        id="identity.W002")]
