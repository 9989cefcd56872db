"""A sign-in the authorize endpoint asked for (prompt=login, max_age, UserSsoLifetime) cannot be
skipped by opening, editing or replaying the login page's return URL.

Spec: OpenID Connect Core §3.1.2.1 (prompt=login, max_age), §2 (auth_time); IdentityServer's
UserSsoLifetime.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from django.test import Client as BrowserClient

from tests.factories import make_interactive_client
from tests.helpers.flow import (
    REDIRECT,
    age_session,
    authorize,
    authorize_params,
    exchange,
    login,
    login_with_form,
    query_of,
    redirect_params,
)
from tests.helpers.pkce import Pkce

pytestmark = pytest.mark.django_db

TICKET = "sign_in_ticket"
AUTH_TIME = "identity.auth_time"
USED = "identity.used_sign_ins"

# Each way the endpoint asks a signed-in user to sign in again, on a session 1000 s old.
FRESHNESS = [{"prompt": "login"}, {"prompt": "select_account"}, {"max_age": "0"},
             {"max_age": "600"}, {"prompt": "login", "max_age": "600"}]


@pytest.fixture
def signed_in(client, seeded, alice):
    """A browser signed in as alice 1000 s ago, with the interactive client seeded."""
    seeded(make_interactive_client(), make_interactive_client(
        "consenting", require_consent=True))
    login(client)
    age_session(client, 1000)
    return client


def login_next(response) -> str:
    """Return the `next` of a redirect to the login page, asserting it is one."""
    assert response.status_code == 302, response.content[:500]
    parts = urlsplit(response["Location"])
    assert parts.path == "/account/login", response["Location"]
    return parse_qs(parts.query)["next"][0]


def with_query(values: dict[str, str]) -> str:
    return "/connect/authorize?" + urlencode(values)


def assert_code(response) -> str:
    assert response.status_code == 302, response.content[:500]
    assert response["Location"].startswith(REDIRECT + "?"), response["Location"]
    return redirect_params(response)["code"]


def id_token_claims(client, code: str, pkce: Pkce) -> dict:
    body = exchange(client, code, pkce).json()
    return jwt.decode(body["id_token"], options={"verify_signature": False})


def move_clock(monkeypatch, seconds: int) -> None:
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + seconds)


# --- the return URL cannot be used without signing in -------------------------------------------


@pytest.mark.parametrize("freshness", FRESHNESS)
def test_return_url_opened_without_signing_in_asks_for_the_sign_in_again(signed_in,
                                                                         freshness) -> None:
    back = login_next(authorize(signed_in, **authorize_params(Pkce.new(), **freshness)))
    again = login_next(signed_in.get(back))
    assert not again.startswith(REDIRECT)


def test_user_sso_lifetime_return_url_opened_without_signing_in_asks_again(client, seeded,
                                                                           alice) -> None:
    seeded(make_interactive_client(user_sso_lifetime=600))
    login(client)
    age_session(client, 1000)
    back = login_next(authorize(client, **authorize_params(Pkce.new())))
    login_next(client.get(back))


@pytest.mark.parametrize("freshness", FRESHNESS)
def test_return_url_keeps_the_requirement_and_adds_a_ticket(signed_in, freshness) -> None:
    params = authorize_params(Pkce.new(), **freshness)
    back = query_of(login_next(authorize(signed_in, **params)))
    assert back.pop(TICKET)
    assert back == params


@pytest.mark.parametrize("freshness", FRESHNESS)
def test_return_url_without_its_ticket_still_asks_for_a_sign_in(signed_in, freshness) -> None:
    back = query_of(login_next(authorize(signed_in, **authorize_params(Pkce.new(),
                                                                       **freshness))))
    del back[TICKET]
    login_next(signed_in.get(with_query(back)))


def test_return_url_with_a_forged_ticket_asks_for_a_sign_in(signed_in) -> None:
    back = query_of(login_next(authorize(signed_in, **authorize_params(Pkce.new(),
                                                                       prompt="login"))))
    login_with_form(signed_in, with_query(back))
    value = back[TICKET]
    for forged in (value[:-2] + ("AA" if not value.endswith("AA") else "BB"), "x", "",
                   value.replace(":", ";", 1)):
        login_next(signed_in.get(with_query({**back, TICKET: forged})))


def test_a_sign_in_just_before_the_request_does_not_count_even_in_the_same_second(
        client, seeded, alice) -> None:
    seeded(make_interactive_client())
    login(client)  # no aging: auth_time is this very second
    back = login_next(authorize(client, **authorize_params(Pkce.new(), prompt="login")))
    login_next(client.get(back))


def test_a_ticket_from_another_browser_does_not_count_for_an_older_sign_in(signed_in) -> None:
    params = authorize_params(Pkce.new(), prompt="login")
    back = login_next(authorize(BrowserClient(), **params))
    login_next(signed_in.get(back))


def test_a_ticket_does_not_count_for_another_request(signed_in) -> None:
    first = query_of(login_next(authorize(signed_in, **authorize_params(
        Pkce.new(), prompt="login", state="first"))))
    login_with_form(signed_in, with_query(first))  # signed in, but first is never completed
    pkce = Pkce.new()
    second = authorize_params(pkce, prompt="login", state="second")
    login_next(authorize(signed_in, **second, **{TICKET: first[TICKET]}))
    login_next(signed_in.get(with_query({**first, "state": "changed"})))
    login_next(signed_in.get(with_query({**first, "code_challenge": pkce.challenge})))


# --- a fresh sign-in satisfies it, once --------------------------------------------------------


@pytest.mark.parametrize("freshness", FRESHNESS)
def test_signing_in_completes_the_request_with_the_fresh_auth_time(signed_in,
                                                                   freshness) -> None:
    before = int(time.time())
    pkce = Pkce.new()
    back = login_next(authorize(signed_in, **authorize_params(pkce, **freshness)))
    assert login_with_form(signed_in, back)["Location"] == back
    claims = id_token_claims(signed_in, assert_code(signed_in.get(back)), pkce)
    assert claims["auth_time"] == signed_in.session[AUTH_TIME] >= before


@pytest.mark.parametrize("prompt", ["login", "select_account", "login consent"])
def test_replaying_a_completed_return_url_needs_another_sign_in(signed_in, prompt) -> None:
    back = login_next(authorize(signed_in, **authorize_params(Pkce.new(), prompt=prompt)))
    login_with_form(signed_in, back)
    if "consent" in prompt:  # the consent page returns to the same request, ticket and all
        consent = urlsplit(signed_in.get(back)["Location"])
        back = signed_in.post("/connect/consent", {
            "return": parse_qs(consent.query)["return"][0], "decision": "allow"})["Location"]
    assert_code(signed_in.get(back))
    again = login_next(signed_in.get(back))
    assert query_of(again)[TICKET] != query_of(back)[TICKET]
    login_with_form(signed_in, again)
    if "consent" not in prompt:
        assert_code(signed_in.get(again))


def test_replaying_a_completed_max_age_return_url_follows_max_age(signed_in) -> None:
    back = login_next(authorize(signed_in, **authorize_params(Pkce.new(), max_age="600")))
    login_with_form(signed_in, back)
    assert_code(signed_in.get(back))
    assert_code(signed_in.get(back))  # the sign-in is still younger than max_age
    age_session(signed_in, 601)
    login_next(signed_in.get(back))


def test_signing_in_after_a_replay_completes_it_without_a_loop(signed_in) -> None:
    back = login_next(authorize(signed_in, **authorize_params(Pkce.new(), prompt="login")))
    for _ in range(3):  # opened again and again without signing in: each asks once more
        back = login_next(signed_in.get(back))
    login_with_form(signed_in, back)
    assert_code(signed_in.get(back))


def test_max_age_zero_completes_when_seconds_pass_between_sign_in_and_return(
        signed_in, monkeypatch) -> None:
    back = login_next(authorize(signed_in, **authorize_params(Pkce.new(), max_age="0")))
    login_with_form(signed_in, back)
    move_clock(monkeypatch, 5)
    assert_code(signed_in.get(back))


def test_a_ticket_older_than_its_lifetime_needs_another_sign_in(signed_in,
                                                                monkeypatch) -> None:
    back = login_next(authorize(signed_in, **authorize_params(Pkce.new(), prompt="login")))
    move_clock(monkeypatch, 3601)
    login_with_form(signed_in, back)
    again = login_next(signed_in.get(back))
    login_with_form(signed_in, again)
    assert_code(signed_in.get(again))


def test_signing_in_as_another_user_completes_with_one_sign_in(signed_in, bob) -> None:
    # Django starts a new session when another user signs in: the requirement survives it.
    pkce = Pkce.new()
    back = login_next(authorize(signed_in, **authorize_params(pkce, prompt="select_account")))
    login_with_form(signed_in, back, "bob", "pw-bob-123")
    claims = id_token_claims(signed_in, assert_code(signed_in.get(back)), pkce)
    assert claims["sub"] == str(bob.pk)


def test_consent_after_the_fresh_sign_in_does_not_ask_for_another(signed_in) -> None:
    params = authorize_params(Pkce.new(), client_id="consenting", prompt="login consent")
    back = login_next(authorize(signed_in, **params))
    login_with_form(signed_in, back)
    consent = signed_in.get(back)
    assert urlsplit(consent["Location"]).path == "/connect/consent"
    answer = parse_qs(urlsplit(consent["Location"]).query)["return"][0]
    assert query_of(answer)["prompt"] == "login consent"
    allowed = signed_in.post("/connect/consent", {"return": answer, "decision": "allow"})
    assert_code(signed_in.get(allowed["Location"]))
    login_next(signed_in.get(allowed["Location"]))  # and it was used up with the code


def test_prompt_none_does_not_use_a_ticket_issued_before_the_sign_in(signed_in) -> None:
    back = query_of(login_next(authorize(signed_in, **authorize_params(Pkce.new(),
                                                                       max_age="60"))))
    silent = {**back, "prompt": "none"}
    assert redirect_params(signed_in.get(with_query(silent)))["error"] == "login_required"


def test_used_tickets_kept_in_the_session_are_bounded(signed_in) -> None:
    for _ in range(12):
        back = login_next(authorize(signed_in, **authorize_params(Pkce.new(), prompt="login")))
        login_with_form(signed_in, back)
        assert_code(signed_in.get(back))
    assert len(signed_in.session[USED]) == 10
