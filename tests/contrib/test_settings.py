"""IDENTITY_RESOURCE_SERVER: what is required, what is refused, and that a change is picked up.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from identity.contrib.rest_framework import conf, validation
from identity.contrib.rest_framework.conf import parse

BASE = {"AUTHORITY": "https://id.example.com/", "AUDIENCE": "api1"}


def test_the_defaults() -> None:
    settings = parse(BASE)
    assert settings.authority == settings.issuer == "https://id.example.com"
    assert settings.discovery_url == "https://id.example.com/.well-known/openid-configuration"
    assert settings.audiences == frozenset({"api1"})
    assert settings.algorithms == frozenset({"RS256", "PS256", "ES256"})
    assert (settings.leeway, settings.jwks_max_age, settings.jwks_min_refetch_interval) == (
        30, 3600, 30)
    assert settings.introspection_cache_seconds == 60 and settings.cache_alias == "default"
    assert not settings.introspection_configured


@pytest.mark.parametrize(("configured", "message"), [
    (None, "missing or not a dictionary"),
    ({"AUDIENCE": "api1"}, "AUTHORITY must be"),
    ({"AUTHORITY": "https://id.example.com"}, "AUDIENCE is not set"),
    ({**BASE, "AUTHORITY": "http://id.example.com"}, "is not https"),
    ({**BASE, "AUTHORITY": "id.example.com"}, "not an absolute"),
    ({**BASE, "AUDIENCE": ""}, "AUDIENCE must be"),
    ({**BASE, "AUDIENCE": []}, "AUDIENCE must be"),
    ({**BASE, "ALGORITHMS": ["RS256", "HS256"]}, r"\['HS256'\] are not allowed"),
    ({**BASE, "ALGORITHMS": ["none"]}, "not allowed"),
    ({**BASE, "ALGORITHMS": []}, "non-empty"),
    ({**BASE, "LEEWAY": -1}, "LEEWAY must be"),
    ({**BASE, "JWKS_MAX_AGE": "1h"}, "JWKS_MAX_AGE must be"),
    ({**BASE, "INTROSPECTION_CLIENT_ID": "api1"}, "go together"),
    ({**BASE, "AUTHORITIES": "x"}, "unknown keys"),
    ({**BASE, "REALM": 'a"b'}, "REALM may not"),
])
def test_mistakes_are_improperly_configured(configured: Any, message: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=message):
        parse(configured)


def test_the_audience_message_says_how_to_opt_out() -> None:
    with pytest.raises(ImproperlyConfigured) as raised:
        parse({"AUTHORITY": "https://id.example.com"})
    assert "IDENTITY_RESOURCE_SERVER" in str(raised.value)
    assert "set AUDIENCE to None explicitly" in str(raised.value)
    assert parse({**BASE, "AUDIENCE": None}).audiences is None


def test_http_is_allowed_when_https_is_not_required() -> None:
    settings = parse({**BASE, "AUTHORITY": "http://127.0.0.1:8000", "REQUIRE_HTTPS": False})
    assert settings.issuer == "http://127.0.0.1:8000"


def test_a_changed_setting_rebuilds_the_validator(settings: Any) -> None:
    settings.IDENTITY_RESOURCE_SERVER = BASE
    first = validation.get_validator()
    assert validation.get_validator() is first
    settings.IDENTITY_RESOURCE_SERVER = {**BASE, "AUDIENCE": "api2"}
    second = validation.get_validator()
    assert second is not first and second.settings.audiences == frozenset({"api2"})
    assert conf.get_settings() is second.settings


def test_the_app_config_checks_the_setting_at_startup(settings: Any) -> None:
    from django.apps import apps

    from identity.contrib.rest_framework.apps import ResourceServerConfig

    config = ResourceServerConfig("identity.contrib.rest_framework",
                                  import_module("identity.contrib.rest_framework"))
    config.apps = apps
    settings.IDENTITY_RESOURCE_SERVER = {"AUTHORITY": "https://id.example.com"}
    with pytest.raises(ImproperlyConfigured, match="AUDIENCE"):
        config.ready()
    settings.IDENTITY_RESOURCE_SERVER = BASE
    config.ready()
