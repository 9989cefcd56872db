"""System checks for server-side sessions: bad lifetimes stop the server; a missing or
misplaced middleware is reported with what to do."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import run_checks

MIDDLEWARE = "identity.http.server_side_sessions.ServerSideSessionMiddleware"
AUTHENTICATION = "django.contrib.auth.middleware.AuthenticationMiddleware"


def ids() -> set[str]:
    return {m.id for m in run_checks() if m.id and m.id.startswith("identity.")}


@pytest.mark.parametrize("key", ["SESSION_LIFETIME", "SESSION_IDLE_TIMEOUT"])
@pytest.mark.parametrize("value", [0, 59, -1, "3600", 3600.0, True])
def test_a_lifetime_that_is_no_number_of_seconds_is_an_error(identity_config, key: str,
                                                              value: Any) -> None:
    assert "identity.E010" not in ids()
    identity_config(**{key: value})
    assert "identity.E010" in ids()


@pytest.mark.parametrize("key", ["SESSION_LIFETIME", "SESSION_IDLE_TIMEOUT"])
def test_none_switches_a_lifetime_off(identity_config, key: str) -> None:
    identity_config(**{key: None})
    assert "identity.E010" not in ids()


def test_a_missing_middleware_is_a_warning(settings) -> None:
    assert "identity.W003" not in ids()
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE]
    assert "identity.W003" in ids()


def test_the_middleware_before_authentication_is_an_error(settings) -> None:
    rest = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE]
    settings.MIDDLEWARE = [*rest[:rest.index(AUTHENTICATION)], MIDDLEWARE,
                           *rest[rest.index(AUTHENTICATION):]]
    assert "identity.E011" in ids()
