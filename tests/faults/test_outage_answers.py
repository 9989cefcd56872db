"""What identity.http.outage answers when the database or the cache fails inside a request, through
Django's test client (any database): 503 with Retry-After, JSON for programs, the error page for
browsers, never a traceback; other exceptions stay 500."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import Client
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.helpers.flow import authorize, authorize_params, login
from tests.helpers.pkce import Pkce

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(seeded, alice) -> Client:
    """A signed-in browser whose requests answer even when a view raised."""
    seeded()
    browser = Client(raise_request_exception=False)
    login(browser)
    return browser


def _fail(error: Exception):
    def fail(*args, **kwargs):
        raise error

    return fail


def assert_unavailable_page(response) -> None:
    assert response.status_code == 503, response.content[:300]
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"].isdigit()
    assert response["X-Frame-Options"] == "DENY"
    body = response.content.decode()
    assert 'id="error">temporarily_unavailable<' in body
    for leak in ("Traceback", 'File "', "OperationalError", "ConnectionError"):
        assert leak not in body


@pytest.mark.parametrize("error", [OperationalError("connection refused"),
                                   RedisConnectionError("Error 111 connecting")],
                         ids=["database", "redis"])
def test_a_page_whose_store_fails_is_a_503_page(browser, monkeypatch, error) -> None:
    from identity.endpoints import account

    monkeypatch.setattr(account, "get_consent_store", _fail(error))
    assert_unavailable_page(browser.get("/account/grants"))


def test_a_sign_in_without_the_database_is_a_503_page(seeded, monkeypatch) -> None:
    from django.contrib.auth.backends import ModelBackend

    seeded()
    browser = Client(raise_request_exception=False)
    monkeypatch.setattr(ModelBackend, "authenticate", _fail(OperationalError("gone")))
    assert_unavailable_page(browser.post("/account/login", {"username": "alice",
                                                            "password": "pw-alice-123"}))


def test_a_session_that_cannot_be_saved_after_the_view_is_a_503_page(browser,
                                                                        monkeypatch) -> None:
    from django.contrib.sessions.backends.db import SessionStore

    # Issuing a code notes the client in the session, which the middleware saves afterwards.
    monkeypatch.setattr(SessionStore, "save", _fail(OperationalError("gone")))
    assert_unavailable_page(authorize(browser, **authorize_params(Pkce.new())))


def test_a_protocol_endpoint_failing_outside_its_guard_answers_json(seeded,
                                                                    monkeypatch) -> None:
    from identity.http import cors

    class DownPolicy:
        is_origin_allowed = staticmethod(_fail(OperationalError("gone")))

    monkeypatch.setattr(cors, "get_cors_policy", DownPolicy)
    response = Client(raise_request_exception=False).post(
        "/connect/token", "grant_type=client_credentials",
        content_type="application/x-www-form-urlencoded", HTTP_ORIGIN="https://app.example.com")
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    assert response["Retry-After"].isdigit()


def test_a_cache_outage_in_a_protocol_endpoint_is_a_json_503(seeded, token_post,
                                                              monkeypatch) -> None:
    from identity.http import client_authentication as caller

    monkeypatch.setattr(caller, "get_client_store", _fail(RedisConnectionError("gone")))
    response = token_post({"grant_type": "client_credentials"}, auth=("service.client", "secret"))
    assert response.status_code == 503
    assert response.json()["error"] == "temporarily_unavailable"
    assert response["Retry-After"].isdigit()


def test_other_failures_stay_500(browser, monkeypatch) -> None:
    from identity.endpoints import account

    monkeypatch.setattr(account, "get_consent_store", _fail(ValueError("a bug")))
    assert browser.get("/account/grants").status_code == 500
