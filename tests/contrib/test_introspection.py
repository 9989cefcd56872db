"""Reference tokens through the introspection endpoint (RFC 7662): active and inactive answers,
what is checked in them, and the cache of active answers: bounded, never past exp, keyed by a
hash of the token.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from django.core.cache import caches

from identity.contrib.rest_framework.conf import parse
from identity.contrib.rest_framework.failures import _InvalidToken, _Unavailable
from identity.contrib.rest_framework.introspection import Introspector, cache_key
from identity.contrib.rest_framework.keys import KeyStore
from tests.contrib import support
from tests.contrib.support import RECORDED, settings_for

AUTHORITY = "https://id.example.com"
TOKEN = "Zm9vYmFyYmF6cXV1eA-reference-handle"


class FakeEndpoint:
    """Discovery and introspection: `answers` by token, inactive otherwise; counts calls."""

    def __init__(self) -> None:
        self.answers: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []
        self.failing = False

    def __call__(self, url: str, **kwargs: Any) -> dict[str, Any]:
        if url.endswith("/openid-configuration"):
            return {"jwks_uri": f"{AUTHORITY}/jwks",
                    "introspection_endpoint": f"{AUTHORITY}/connect/introspect"}
        if url.endswith("/jwks"):
            return {"keys": []}
        self.requests.append({"url": url, **kwargs})
        if self.failing:
            raise _Unavailable("introspection answered HTTP 503")
        return self.answers.get(kwargs["form"]["token"], {"active": False})


@pytest.fixture
def recording(settings: Any) -> None:
    settings.CACHES = {**settings.CACHES, "recording": {
        "BACKEND": f"{support.__name__}.RecordingCache", "LOCATION": "contrib-introspection"}}
    caches["recording"].clear()
    RECORDED.clear()
    yield
    RECORDED.clear()


def _kept() -> list[tuple[str, Any, float | None]]:
    """What the introspection cache was asked to keep (the shared key set left out)."""
    return [entry for entry in RECORDED if ":introspection:" in entry[0]]


def _introspector(endpoint: FakeEndpoint, **overrides: Any) -> Introspector:
    settings = parse({**settings_for(AUTHORITY), "REQUIRE_HTTPS": True,
                      "INTROSPECTION_CLIENT_ID": "api1", "INTROSPECTION_CLIENT_SECRET": "s&cret",
                      "CACHE_ALIAS": "recording", **overrides})
    return Introspector(settings, KeyStore(settings, fetch=endpoint), fetch=endpoint)


def _active(**claims: Any) -> dict[str, Any]:
    answer = {"active": True, "iss": AUTHORITY, "aud": "api1", "client_id": "service.client",
              "scope": "api1", "exp": int(time.time()) + 3600, "token_type": "Bearer",
              **claims}
    return {k: v for k, v in answer.items() if v is not None}


def test_an_active_token_is_accepted_and_cached(recording) -> None:
    endpoint = FakeEndpoint()
    endpoint.answers[TOKEN] = _active()
    introspector = _introspector(endpoint)
    assert introspector.validate(TOKEN)["client_id"] == "service.client"
    assert introspector.validate(TOKEN)["scope"] == "api1"
    assert len(endpoint.requests) == 1 and introspector.calls == 1
    sent = endpoint.requests[0]
    assert sent["url"] == f"{AUTHORITY}/connect/introspect"
    assert sent["form"] == {"token": TOKEN, "token_type_hint": "access_token"}
    # RFC 6749 §2.3.1: the secret form-urlencoded ("&" as %26) before base64
    assert sent["headers"]["Authorization"] == "Basic " + base64.b64encode(
        b"api1:s%26cret").decode()
    ((key, value, timeout),) = _kept()
    assert key == cache_key(TOKEN) and TOKEN not in key and TOKEN not in str(value)
    assert timeout == 60


def test_the_cache_never_outlives_the_token(recording) -> None:
    endpoint = FakeEndpoint()
    endpoint.answers[TOKEN] = _active(exp=int(time.time()) + 20)
    endpoint.answers["soon-over"] = _active(exp=int(time.time()))
    endpoint.answers["no-exp"] = _active(exp=None)
    introspector = _introspector(endpoint, INTROSPECTION_CACHE_SECONDS=300)
    introspector.validate(TOKEN)
    introspector.validate("soon-over")  # within the leeway: accepted, not cached
    introspector.validate("no-exp")
    timeouts = {key: timeout for key, _, timeout in _kept()}
    assert 0 < timeouts[cache_key(TOKEN)] <= 20
    assert cache_key("soon-over") not in timeouts
    assert timeouts[cache_key("no-exp")] == 300


def test_a_cached_answer_is_checked_again_against_the_clock(recording) -> None:
    endpoint = FakeEndpoint()
    endpoint.answers[TOKEN] = _active(exp=int(time.time()) + 3600)
    now = [time.time()]
    introspector = _introspector(endpoint)
    introspector._wall = lambda: now[0]
    introspector.validate(TOKEN)
    now[0] += 3600 + 31  # the cache entry still there (real time did not move), the token over
    with pytest.raises(_InvalidToken, match="expired"):
        introspector.validate(TOKEN)
    assert len(endpoint.requests) == 1


def test_caching_can_be_turned_off(recording) -> None:
    endpoint = FakeEndpoint()
    endpoint.answers[TOKEN] = _active()
    introspector = _introspector(endpoint, INTROSPECTION_CACHE_SECONDS=0)
    introspector.validate(TOKEN)
    introspector.validate(TOKEN)
    assert len(endpoint.requests) == 2 and _kept() == []


def test_an_inactive_token_is_refused_and_not_cached(recording) -> None:
    endpoint = FakeEndpoint()
    introspector = _introspector(endpoint)
    for _ in range(2):
        with pytest.raises(_InvalidToken, match="not active"):
            introspector.validate(TOKEN)
    assert len(endpoint.requests) == 2 and _kept() == []


@pytest.mark.parametrize(("answer", "reason"), [
    ({"active": "true"}, "not active"),
    ({"aud": "api2"}, "not meant for this API"),
    ({"aud": None}, "not meant for this API"),
    ({"iss": "https://evil.example.com"}, "another issuer"),
    ({"exp": int(time.time()) - 60}, "expired"),
    ({"token_type": "refresh_token"}, "not a bearer access token"),
    ({"token_type": "DPoP"}, "not a bearer access token"),
    ({"cnf": {"jkt": "abc"}}, "sender-constrained"),
])
def test_answers_that_are_refused(recording, answer, reason) -> None:
    endpoint = FakeEndpoint()
    endpoint.answers[TOKEN] = {**_active(), **answer}
    endpoint.answers[TOKEN] = {k: v for k, v in endpoint.answers[TOKEN].items() if v is not None}
    with pytest.raises(_InvalidToken, match=reason):
        _introspector(endpoint).validate(TOKEN)
    assert _kept() == []


def test_an_answer_without_iss_or_token_type_is_accepted(recording) -> None:
    endpoint = FakeEndpoint()
    endpoint.answers[TOKEN] = _active(iss=None, token_type=None)
    assert _introspector(endpoint).validate(TOKEN)["active"] is True


def test_without_credentials_reference_tokens_are_refused() -> None:
    endpoint = FakeEndpoint()
    settings = parse({**settings_for(AUTHORITY), "REQUIRE_HTTPS": True})
    introspector = Introspector(settings, KeyStore(settings, fetch=endpoint), fetch=endpoint)
    with pytest.raises(_InvalidToken, match="only JWT access tokens"):
        introspector.validate(TOKEN)
    assert endpoint.requests == []


def test_an_endpoint_that_fails_is_unavailable(recording) -> None:
    endpoint = FakeEndpoint()
    endpoint.failing = True
    with pytest.raises(_Unavailable):
        _introspector(endpoint).validate(TOKEN)
