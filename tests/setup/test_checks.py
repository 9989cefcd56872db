"""System checks say what to fix at start-up."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError


@pytest.mark.parametrize("identity,ids", [
    ({"ISSUER": "not a url"}, "identity.E003"),
    ({"CLIENT_STORE": "nowhere.Store"}, "identity.E002"),
    ({"UNKNOWN_KEY": 1}, "identity.E001"),
])
def test_misconfiguration_is_reported(settings, identity, ids) -> None:
    settings.IDENTITY = {**settings.IDENTITY, **identity}
    with pytest.raises((SystemCheckError, RuntimeError)) as exc:
        call_command("check")
    assert ids in str(exc.value) or "not a setting" in str(exc.value)


def test_https_issuer_with_insecure_cookies_is_reported(settings) -> None:
    settings.IDENTITY = {**settings.IDENTITY, "ISSUER": "https://id.example.com"}
    settings.SESSION_COOKIE_SECURE = False
    with pytest.raises(SystemCheckError, match="identity.E007"):
        call_command("check")
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    call_command("check")


def test_missing_apps_are_reported(settings) -> None:
    settings.INSTALLED_APPS = [a for a in settings.INSTALLED_APPS if a != "clients_app"]
    with pytest.raises(SystemCheckError, match="identity.E006"):
        call_command("check")


def test_missing_outage_middleware_is_a_warning(settings) -> None:
    from django.core.checks import run_checks

    assert not [m for m in run_checks() if m.id == "identity.W001"]
    outage = "identity.http.outage.OutageMiddleware"
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != outage]
    assert [m.id for m in run_checks() if m.id.startswith("identity.")] == ["identity.W001"]


def test_removed_settings_say_why(settings) -> None:
    settings.IDENTITY = {**settings.IDENTITY, "AUTH_FAILURE_LIMIT_PER_ID": 100}
    with pytest.raises(SystemCheckError, match="has been removed: .*lock a client or user out"):
        call_command("check")


def test_admin_sign_in_without_limits_is_a_warning(settings) -> None:
    from django.core.checks import run_checks

    assert not [m for m in run_checks() if m.id == "identity.W002"]
    settings.ROOT_URLCONF = "tests.setup.plain_admin_urls"
    warnings = [m for m in run_checks() if m.id == "identity.W002"]
    assert warnings and "admin_login" in warnings[0].hint
