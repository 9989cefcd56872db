"""Every request type writes only what it needs: the rows each one changes, once warm (signing
keys made, each client's last use recorded for the interval, the client in the session).

Each expected write is there for a reason given beside it; a new write shows up here as a
failure, and must earn its place in the list.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as HttpClient

from identity.domain.client import AccessTokenType
from tests.factories import make_client, make_interactive_client
from tests.helpers.calls import SERVICE_AUTH, USERINFO, introspect, post_token, refresh
from tests.helpers.database import writes_of
from tests.helpers.flow import exchange, get_code, login_with_form
from tests.helpers.pkce import Pkce
from tests.helpers.seeding import seed_with_api_secrets

pytestmark = pytest.mark.django_db

Write = tuple[str, str]

GRANT = "identity_persistedgrant"
CONSUMED = ("UPDATE", GRANT)  # a code or refresh token marked used, by a conditional update
STORED = ("INSERT", GRANT)  # a new code, refresh token, reference token or JWT record


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content[:300]
    return response


def one_round(browser: HttpClient, client_id: str) -> dict[str, list[Write]]:
    """A user's round with one client (authorize, code, refresh, introspection, userinfo) and
    a client-credentials request; the writes of each."""
    auth = (client_id, "secret")
    pkce = Pkce.new()
    seen: dict[str, list[Write]] = {}
    code: list[str] = []
    tokens: dict[str, Any] = {}
    active: list[bool] = []
    seen["client credentials"] = writes_of(lambda: ok(post_token(
        browser, {"grant_type": "client_credentials"}, auth=SERVICE_AUTH)))
    seen["authorize"] = writes_of(lambda: code.append(get_code(browser, pkce,
                                                                client_id=client_id)))
    seen["code"] = writes_of(lambda: tokens.update(ok(exchange(browser, code[0], pkce,
                                                               auth=auth)).json()))
    seen["refresh"] = writes_of(lambda: tokens.update(
        ok(refresh(browser, tokens["refresh_token"], auth=auth)).json()))
    seen["introspection"] = writes_of(lambda: active.append(
        ok(introspect(browser, tokens["access_token"])).json()["active"]))
    seen["userinfo"] = writes_of(lambda: ok(browser.get(
        USERINFO, HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")))
    assert active == [True]
    return seen


@pytest.fixture
def browser(alice) -> HttpClient:
    seed_with_api_secrets(make_client(), make_interactive_client(),
                          make_interactive_client("reference",
                                                  access_token_type=AccessTokenType.Reference))
    return HttpClient()


def test_a_sign_in_writes_the_session_the_server_side_session_and_last_login(browser) -> None:
    browser.get("/account/login")
    signed_in = writes_of(lambda: ok(login_with_form(browser, "/account/grants"), 302))

    assert sorted(signed_in) == [
        ("INSERT", "django_session"),  # the browser's session, once (identity.http.session_store)
        ("INSERT", "identity_serversidesession"),  # the session an admin can see and end
        ("UPDATE", "auth_user"),  # last_login, which Django's password reset tokens depend on
    ]


@pytest.mark.parametrize("client_id", ["interactive", "reference"])
def test_each_request_of_a_warm_round_writes_only_what_it_needs(browser, client_id) -> None:
    ok(login_with_form(browser, "/account/grants"), 302)
    one_round(browser, client_id)  # warm

    seen = one_round(browser, client_id)

    reference = [STORED] if client_id == "reference" else []  # the reference token itself
    # a JWT given to a user is recorded so that revoking its family revokes it
    jwt_record = [] if client_id == "reference" else [STORED]
    assert seen == {
        "client credentials": [],
        "authorize": [STORED],  # the code
        # the code consumed; the access token (reference, or the JWT's record); the refresh token
        "code": [CONSUMED, *reference, *jwt_record, STORED],
        # the refresh token consumed (OneTimeOnly); the access token; its successor
        "refresh": [CONSUMED, *reference, *jwt_record, STORED],
        "introspection": [],
        "userinfo": [],
    }


def test_a_first_authorize_with_a_client_records_it_in_the_session_once(browser) -> None:
    ok(login_with_form(browser, "/account/grants"), 302)

    first = writes_of(lambda: get_code(browser, Pkce.new()))
    again = writes_of(lambda: get_code(browser, Pkce.new()))

    assert sorted(first) == [
        STORED,  # the code
        ("INSERT", "identity_serversidesessionclient"),  # the session's clients, for logout
        ("UPDATE", "django_session"),  # the same, in the browser's session
    ]
    assert again == [STORED]
