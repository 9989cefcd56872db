"""The pages a person sees: login, single sign-on, consent, and the list of granted applications.

Spec: OpenID Connect Core §3.1.2.3-3.1.2.4 (authentication, consent), §3.1.2.6 (access_denied);
RFC 6749 §10.12 (CSRF), §10.15 (open redirectors); IdentityServer's RequireConsent,
AllowRememberConsent and ConsentLifetime.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.contrib.auth import SESSION_KEY
from django.test import Client as BrowserClient
from django.utils import timezone

from identity.models import Consent, PersistedGrant
from tests.factories import make_interactive_client
from tests.helpers.calls import refresh
from tests.helpers.flow import (
    REDIRECT,
    assert_never_framed_or_cached,
    authorize,
    authorize_params,
    exchange,
    login,
    login_with_form,
    redirect_params,
)
from tests.helpers.forms import csrf_token
from tests.helpers.pkce import Pkce

pytestmark = pytest.mark.django_db

ISSUER = "http://testserver"
CLIENT_NAME = "Photo Printer"
OTHER_REDIRECT = "https://other.example.com/signin-oidc"
ALL_SCOPES = ("openid", "profile", "email", "api1", "offline_access")


def consenting(**overrides):
    """The interactive client, asking its users for consent."""
    values = {"require_consent": True, "client_name": CLIENT_NAME}
    values.update(overrides)
    return make_interactive_client(**values)


def other_client(**overrides):
    values = {"redirect_uris": (OTHER_REDIRECT,), "client_name": "Other App"}
    values.update(overrides)
    return make_interactive_client("other", **values)


@pytest.fixture
def consent_browser(client, seeded, alice):
    """A browser signed in as alice, with the consenting client seeded."""
    seeded(consenting(), other_client())
    login(client)
    return client


def is_signed_in(client) -> bool:
    return SESSION_KEY in client.session


def is_local(location: str) -> bool:
    parts = urlsplit(location)
    return (not parts.scheme and not parts.netloc and location.startswith("/")
            and not location.startswith(("//", "/\\")))


def consent_return(response) -> str:
    """Return the `return` of a redirect to the consent page, asserting it is one."""
    assert response.status_code == 302, response.content[:500]
    parts = urlsplit(response["Location"])
    assert not parts.netloc and parts.path == "/connect/consent", response["Location"]
    return parse_qs(parts.query)["return"][0]


def ask(client, pkce: Pkce | None = None, **overrides: str):
    return authorize(client, **authorize_params(pkce or Pkce.new(), **overrides))


def answer(client, back: str, decision: str = "allow", remember: bool = False):
    data = {"return": back, "decision": decision}
    if remember:
        data["remember"] = "1"
    return client.post("/connect/consent", data)


def assert_code(response, redirect_uri: str = REDIRECT) -> str:
    assert response.status_code == 302, response.content[:500]
    assert response["Location"].startswith(redirect_uri + "?"), response["Location"]
    params = redirect_params(response)
    assert params["state"] == "st-123" and params["iss"] == ISSUER
    return params["code"]


def consent_and_get_code(client, pkce: Pkce, remember: bool, **overrides: str) -> str:
    back = consent_return(ask(client, pkce, **overrides))
    response = answer(client, back, remember=remember)
    assert response.status_code == 302 and response["Location"] == back
    return assert_code(client.get(back))


def consent_rows(user, client_id: str = "interactive"):
    return Consent.objects.filter(subject_id=str(user.pk), client_id=client_id)


def grant_rows(user, client_id: str = "interactive"):
    return PersistedGrant.objects.filter(subject_id=str(user.pk), client_id=client_id)


# --- login page --------------------------------------------------------------------------------


def test_login_page_is_a_form_with_username_password_and_csrf_token(client, db) -> None:
    response = client.get("/account/login?" + urlencode({"next": "/connect/authorize?a=1"}))
    assert response.status_code == 200
    body = response.content.decode()
    assert re.search(r'<form method="post" action="/account/login">', body)
    assert re.search(r'<input type="text" name="username"', body)
    assert re.search(r'<input type="password" name="password"', body)
    assert csrf_token(response)
    assert 'name="next" value="/connect/authorize?a=1"' in body


def test_login_page_is_never_framed_or_cached(client, db) -> None:
    assert_never_framed_or_cached(client.get("/account/login"))


def test_login_post_without_csrf_token_is_refused(alice) -> None:
    browser = BrowserClient(enforce_csrf_checks=True)
    browser.get("/account/login")
    response = browser.post("/account/login", {"username": "alice", "password": "pw-alice-123"})
    assert response.status_code == 403
    assert not is_signed_in(browser)


def test_login_post_with_the_pages_csrf_token_signs_in(alice) -> None:
    browser = BrowserClient(enforce_csrf_checks=True)
    token = csrf_token(browser.get("/account/login"))
    response = browser.post("/account/login", {"username": "alice", "password": "pw-alice-123",
                                                "csrfmiddlewaretoken": token})
    assert response.status_code in (302, 303)
    assert is_signed_in(browser)


def test_successful_login_redirects_to_next(client, alice) -> None:
    next_url = "/connect/authorize?" + urlencode(authorize_params(Pkce.new()))
    response = login_with_form(client, next_url)
    assert response.status_code in (302, 303)
    assert response["Location"] == next_url
    assert is_signed_in(client)
    assert_never_framed_or_cached(response)


@pytest.mark.parametrize("next_url", [
    "https://evil.example.com/",
    "//evil.example.com/x",
    "javascript:alert(1)",
    "http://testserver.evil.example.com/",
    "https:evil.example.com",
    "/\\evil.example.com",
    "\\\\evil.example.com",
    "///evil.example.com/x",
])
def test_login_never_redirects_to_another_host(client, alice, next_url) -> None:
    response = login_with_form(client, next_url)
    assert response.status_code in (302, 303)
    assert is_signed_in(client)
    location = response["Location"]
    assert is_local(location), location
    assert "evil" not in location and "javascript" not in location


def test_login_page_does_not_carry_a_next_to_another_host(client, db) -> None:
    response = client.get("/account/login?next=https://evil.example.com/")
    assert response.status_code == 200
    assert "evil.example.com" not in response.content.decode()


@pytest.mark.parametrize(("username", "password"), [
    ("alice", "wrong-password"),
    ("mallory", "pw-alice-123"),
    ("alice", ""),
])
def test_failed_login_shows_the_form_again_with_an_error(client, alice, username,
                                                         password) -> None:
    next_url = "/connect/authorize?client_id=interactive"
    response = login_with_form(client, next_url, username, password)
    assert response.status_code == 200
    assert not response.has_header("Location")
    body = response.content.decode()
    assert 'class="error"' in body
    assert 'name="username"' in body and 'name="password"' in body
    assert f'name="next" value="{next_url}"' in body
    assert not is_signed_in(client)
    assert_never_framed_or_cached(response)


def test_inactive_user_cannot_sign_in(client, alice) -> None:
    alice.is_active = False
    alice.save()
    response = login_with_form(client, "/")
    assert response.status_code == 200 and 'class="error"' in response.content.decode()
    assert not is_signed_in(client)


# --- single sign-on ----------------------------------------------------------------------------


def test_single_sign_on_second_client_gets_code_without_login_page(client, seeded,
                                                                   alice) -> None:
    seeded(make_interactive_client(), other_client())
    first = ask(client)
    next_url = urlsplit(first["Location"])
    assert next_url.path == "/account/login"
    back = parse_qs(next_url.query)["next"][0]
    login_with_form(client, back)
    assert_code(client.get(back))
    pkce = Pkce.new()
    second = ask(client, pkce, client_id="other", redirect_uri=OTHER_REDIRECT)
    code = assert_code(second, OTHER_REDIRECT)
    tokens = exchange(client, code, pkce, redirect_uri=OTHER_REDIRECT, auth=("other", "secret"))
    assert tokens.status_code == 200, tokens.content


def test_another_browser_does_not_share_the_sign_in(client, seeded, alice) -> None:
    seeded(make_interactive_client())
    login(client)
    assert_code(ask(client))
    response = ask(BrowserClient())
    assert urlsplit(response["Location"]).path == "/account/login"


# --- consent page ------------------------------------------------------------------------------


def test_client_requiring_consent_sends_signed_in_user_to_consent_page(consent_browser) -> None:
    params = authorize_params(Pkce.new())
    back = consent_return(authorize(consent_browser, **params))
    parts = urlsplit(back)
    assert parts.path == "/connect/authorize" and not parts.netloc
    assert {k: v[0] for k, v in parse_qs(parts.query).items()} == params


def test_consent_page_names_the_client_and_lists_the_requested_scopes(consent_browser) -> None:
    back = consent_return(ask(consent_browser))
    response = consent_browser.get("/connect/consent?" + urlencode({"return": back}))
    assert response.status_code == 200
    body = response.content.decode()
    assert re.search(rf'<span id="client-name">{CLIENT_NAME}</span>', body)
    assert set(re.findall(r'data-scope="([^"]+)"', body)) == set(ALL_SCOPES)
    assert csrf_token(response)
    assert unescape(re.search(r'name="return" value="([^"]*)"', body).group(1)) == back
    assert 'name="remember"' in body
    assert 'name="decision" value="allow"' in body and 'name="decision" value="deny"' in body
    assert_never_framed_or_cached(response)


def test_consent_page_lists_only_the_scopes_of_this_request(consent_browser) -> None:
    back = consent_return(ask(consent_browser, scope="openid api1"))
    body = consent_browser.get("/connect/consent?" + urlencode({"return": back})).content
    assert set(re.findall(r'data-scope="([^"]+)"', body.decode())) == {"openid", "api1"}


def test_allow_redirects_back_to_authorize_which_issues_the_code(consent_browser) -> None:
    pkce = Pkce.new()
    code = consent_and_get_code(consent_browser, pkce, remember=False)
    response = exchange(consent_browser, code, pkce)
    assert response.status_code == 200, response.content
    assert set(response.json()["scope"].split()) == set(ALL_SCOPES)


@pytest.mark.parametrize("decision", ["deny", "", "maybe"])
def test_anything_but_allow_redirects_access_denied_with_state_and_iss(consent_browser, alice,
                                                                       decision) -> None:
    back = consent_return(ask(consent_browser))
    response = answer(consent_browser, back, decision)
    assert response.status_code == 302
    assert response["Location"].startswith(REDIRECT + "?")
    params = redirect_params(response)
    assert params["error"] == "access_denied" and params["error_description"]
    assert params["state"] == "st-123" and params["iss"] == ISSUER
    assert "code" not in params
    assert not consent_rows(alice).exists()


def test_deny_in_fragment_mode_puts_the_error_after_the_hash(consent_browser) -> None:
    back = consent_return(ask(consent_browser, response_mode="fragment"))
    response = answer(consent_browser, back, "deny")
    assert response["Location"].startswith(REDIRECT + "#")
    assert redirect_params(response)["error"] == "access_denied"


def test_deny_then_authorize_asks_for_consent_again(consent_browser) -> None:
    answer(consent_browser, consent_return(ask(consent_browser)), "deny")
    consent_return(ask(consent_browser))


def test_remembered_consent_skips_the_consent_page_next_time(consent_browser, alice) -> None:
    consent_and_get_code(consent_browser, Pkce.new(), remember=True)
    row = consent_rows(alice).get()
    assert set(row.scopes) == set(ALL_SCOPES)
    assert row.expires is None
    assert_code(ask(consent_browser))
    assert_code(ask(consent_browser, prompt="none"))
    assert_code(ask(consent_browser, scope="openid api1"))  # fewer scopes are covered too


def test_remembered_consent_does_not_cover_more_scopes(consent_browser) -> None:
    consent_and_get_code(consent_browser, Pkce.new(), remember=True, scope="openid profile")
    consent_return(ask(consent_browser, scope="openid profile email"))


def test_consent_without_remember_is_asked_again_next_time(consent_browser, alice) -> None:
    consent_and_get_code(consent_browser, Pkce.new(), remember=False)
    assert not consent_rows(alice).exists()
    consent_return(ask(consent_browser))
    response = ask(consent_browser, prompt="none")
    assert redirect_params(response)["error"] == "consent_required"


def test_one_time_consent_is_used_up_by_one_code(consent_browser) -> None:
    back = consent_return(ask(consent_browser))
    answer(consent_browser, back)
    assert_code(consent_browser.get(back))
    consent_return(consent_browser.get(back))


def test_client_without_allow_remember_consent_has_no_checkbox_and_remembers_nothing(
        client, seeded, alice) -> None:
    seeded(consenting(allow_remember_consent=False))
    login(client)
    back = consent_return(ask(client))
    body = client.get("/connect/consent?" + urlencode({"return": back})).content.decode()
    assert 'name="remember"' not in body and 'id="remember"' not in body
    assert answer(client, back, remember=True)["Location"] == back
    assert_code(client.get(back))
    assert not consent_rows(alice).exists()
    consent_return(ask(client))


def test_expired_consent_is_asked_again(client, seeded, alice) -> None:
    seeded(consenting(consent_lifetime=3600))
    login(client)
    before = timezone.now()
    consent_and_get_code(client, Pkce.new(), remember=True)
    row = consent_rows(alice).get()
    assert row.expires is not None
    assert timedelta(seconds=3590) <= row.expires - before <= timedelta(seconds=3610)
    assert_code(ask(client))
    row.expires = timezone.now() - timedelta(seconds=1)
    row.save()
    consent_return(ask(client))
    assert redirect_params(ask(client, prompt="none"))["error"] == "consent_required"


def test_prompt_consent_asks_even_with_a_remembered_consent(consent_browser) -> None:
    consent_and_get_code(consent_browser, Pkce.new(), remember=True)
    back = consent_return(ask(consent_browser, prompt="consent"))
    assert parse_qs(urlsplit(back).query)["prompt"] == ["consent"]  # the answer satisfies it
    assert answer(consent_browser, back)["Location"] == back
    assert_code(consent_browser.get(back))


@pytest.mark.parametrize("remembered", [True, False])
def test_prompt_consent_return_url_is_no_way_around_the_consent_page(client, seeded, alice,
                                                                     remembered) -> None:
    # Opened without answering, or again after its code: the consent page each time.
    seeded(consenting() if remembered else make_interactive_client())
    login(client)
    if remembered:
        consent_and_get_code(client, Pkce.new(), remember=True)
    back = consent_return(ask(client, prompt="consent"))
    assert consent_return(client.get(back)) == back
    answer(client, back)
    assert_code(client.get(back))
    assert consent_return(client.get(back)) == back


def test_prompt_consent_asks_even_a_client_not_requiring_consent(client, seeded, alice) -> None:
    seeded(make_interactive_client())
    login(client)
    assert_code(ask(client))
    back = consent_return(ask(client, prompt="consent"))
    answer(client, back)
    assert_code(client.get(back))


def test_login_and_consent_in_one_flow(client, seeded, alice) -> None:
    seeded(consenting())
    pkce = Pkce.new()
    first = ask(client, pkce)
    back = parse_qs(urlsplit(first["Location"]).query)["next"][0]
    to_consent = client.get(login_with_form(client, back)["Location"])
    consent_back = consent_return(to_consent)
    code = assert_code(client.get(answer(client, consent_back)["Location"]))
    assert exchange(client, code, pkce).status_code == 200


AUTHORIZE_QUERY = urlencode(authorize_params(Pkce.new()))


@pytest.mark.parametrize("back", [
    f"https://evil.example.com/connect/authorize?{AUTHORIZE_QUERY}",
    f"http://testserver/connect/authorize?{AUTHORIZE_QUERY}",
    f"//evil.example.com/connect/authorize?{AUTHORIZE_QUERY}",
    f"///evil.example.com/connect/authorize?{AUTHORIZE_QUERY}",
    f"/\\evil.example.com/connect/authorize?{AUTHORIZE_QUERY}",
    f"javascript:alert(1)//connect/authorize?{AUTHORIZE_QUERY}",
    "/admin/",
    f"/admin/?{AUTHORIZE_QUERY}",
    f"/connect/authorize/../../admin/?{AUTHORIZE_QUERY}",
    f"/connect/token?{AUTHORIZE_QUERY}",
    "",
    "/connect/authorize",
    "/connect/authorize?" + urlencode(authorize_params(
        Pkce.new(), redirect_uri="https://evil.example.com/cb")),
    "/connect/authorize?" + urlencode(authorize_params(Pkce.new(), client_id="nobody")),
])
@pytest.mark.parametrize("method", ["GET", "POST-allow", "POST-deny"])
def test_consent_page_refuses_a_return_that_is_not_this_servers_authorize_request(
        consent_browser, back, method) -> None:
    if method == "GET":
        response = consent_browser.get("/connect/consent?" + urlencode({"return": back}))
    else:
        response = answer(consent_browser, back, method.removeprefix("POST-"), remember=True)
    assert response.status_code == 400
    assert not response.has_header("Location")
    assert 'id="error"' in response.content.decode()
    assert_never_framed_or_cached(response)
    assert not Consent.objects.exists()


@pytest.mark.parametrize("where", ["path", "query"])
def test_consent_answer_with_line_breaks_in_return_is_not_a_server_error(consent_browser,
                                                                        where) -> None:
    consent_browser.raise_request_exception = False
    if where == "path":
        back = "/connect/auth\r\norize?" + AUTHORIZE_QUERY
    else:
        back = "/connect/authorize?\r\n" + AUTHORIZE_QUERY
    response = answer(consent_browser, back)
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 302:  # only to this server's authorize endpoint, cleaned
        assert response["Location"].startswith("/connect/authorize?")
    else:
        assert 'id="error"' in response.content.decode()


def test_consent_page_redirects_errors_of_a_trusted_request_to_the_client(
        consent_browser) -> None:
    back = "/connect/authorize?" + urlencode(authorize_params(Pkce.new(), scope="openid phone"))
    response = consent_browser.get("/connect/consent?" + urlencode({"return": back}))
    assert response.status_code == 302 and response["Location"].startswith(REDIRECT + "?")
    assert redirect_params(response)["error"] == "invalid_scope"


def test_consent_post_without_csrf_token_is_refused(seeded, alice) -> None:
    seeded(consenting())
    browser = BrowserClient(enforce_csrf_checks=True)
    login(browser)
    back = consent_return(ask(browser))
    page = browser.get("/connect/consent?" + urlencode({"return": back}))
    assert page.status_code == 200
    refused = browser.post("/connect/consent", {"return": back, "decision": "allow",
                                                "remember": "1"})
    assert refused.status_code == 403
    assert not Consent.objects.exists()
    consent_return(ask(browser))  # nothing was granted, not even once
    accepted = browser.post("/connect/consent", {"return": back, "decision": "allow",
                                                 "csrfmiddlewaretoken": csrf_token(page)})
    assert accepted.status_code == 302 and accepted["Location"] == back


def test_consent_page_is_not_shown_to_anonymous_users(client, seeded) -> None:
    seeded(consenting())
    back = "/connect/authorize?" + AUTHORIZE_QUERY
    for response in (client.get("/connect/consent?" + urlencode({"return": back})),
                     answer(client, back, remember=True)):
        assert response.status_code == 302
        assert not response["Location"].startswith(REDIRECT)
        assert "code=" not in response["Location"]
    assert not Consent.objects.exists()


def test_consent_page_sends_anonymous_users_to_the_login_page(client, seeded) -> None:
    seeded(consenting())
    back = "/connect/authorize?" + AUTHORIZE_QUERY
    response = client.get("/connect/consent?" + urlencode({"return": back}))
    assert urlsplit(response["Location"]).path == "/account/login"


# --- grants page -------------------------------------------------------------------------------


def test_grants_page_lists_the_remembered_consents_of_the_signed_in_user(
        consent_browser, alice, bob) -> None:
    consent_and_get_code(consent_browser, Pkce.new(), remember=True, scope="openid api1")
    Consent.objects.create(subject_id=str(bob.pk), client_id="other", scopes=["openid"],
                           created=timezone.now())
    response = consent_browser.get("/account/grants")
    assert response.status_code == 200
    body = response.content.decode()
    assert re.findall(r'data-client="([^"]+)"', body) == ["interactive"]
    assert CLIENT_NAME in body and "openid, api1" in body
    assert "Other App" not in body
    assert csrf_token(response)
    assert_never_framed_or_cached(response)


def test_grants_page_without_consents_says_so(consent_browser) -> None:
    consent_and_get_code(consent_browser, Pkce.new(), remember=False)
    body = consent_browser.get("/account/grants").content.decode()
    assert 'id="no-grants"' in body and "data-client" not in body


def test_revoking_a_grant_deletes_the_consent_and_refresh_tokens_of_that_client(
        consent_browser, alice, bob) -> None:
    pkce = Pkce.new()
    code = consent_and_get_code(consent_browser, pkce, remember=True)
    revoked = exchange(consent_browser, code, pkce).json()["refresh_token"]
    other_pkce = Pkce.new()
    other_code = assert_code(ask(consent_browser, other_pkce, client_id="other",
                                 redirect_uri=OTHER_REDIRECT), OTHER_REDIRECT)
    kept = exchange(consent_browser, other_code, other_pkce, redirect_uri=OTHER_REDIRECT,
                    auth=("other", "secret")).json()["refresh_token"]
    bobs_browser = BrowserClient()
    login(bobs_browser, "bob", "pw-bob-123")
    bob_pkce = Pkce.new()
    bob_code = consent_and_get_code(bobs_browser, bob_pkce, remember=True)
    bobs = exchange(bobs_browser, bob_code, bob_pkce).json()["refresh_token"]
    assert grant_rows(alice).filter(type="refresh_token").exists()

    response = consent_browser.post("/account/grants", {"client_id": "interactive"})

    assert response.status_code == 302 and response["Location"] == "/account/grants"
    assert not consent_rows(alice).exists()
    # Only deny-list entries stay: they keep the revoked access tokens revoked until expiry.
    assert not grant_rows(alice).exclude(type="revoked_jti").exists()
    assert grant_rows(alice).filter(type="revoked_jti").exists()
    assert refresh(consent_browser, revoked).status_code == 400
    assert grant_rows(alice, "other").filter(type="refresh_token").exists()
    assert refresh(consent_browser, kept, auth=("other", "secret")).status_code == 200
    assert consent_rows(bob).exists() and grant_rows(bob).exists()
    assert refresh(bobs_browser, bobs).status_code == 200
    assert 'id="no-grants"' in consent_browser.get("/account/grants").content.decode()
    consent_return(ask(consent_browser))


def test_revoking_another_users_client_changes_nothing_of_theirs(consent_browser, bob) -> None:
    bobs_browser = BrowserClient()
    login(bobs_browser, "bob", "pw-bob-123")
    consent_and_get_code(bobs_browser, Pkce.new(), remember=True)
    consent_browser.post("/account/grants", {"client_id": "interactive"})
    assert consent_rows(bob).exists() and grant_rows(bob).exists()


def test_revoking_a_grant_needs_a_csrf_token(seeded, alice) -> None:
    seeded(consenting())
    browser = BrowserClient(enforce_csrf_checks=True)
    login(browser)
    back = consent_return(ask(browser))
    page = browser.get("/connect/consent?" + urlencode({"return": back}))
    browser.post("/connect/consent", {"return": back, "decision": "allow", "remember": "1",
                                      "csrfmiddlewaretoken": csrf_token(page)})
    grants = browser.get("/account/grants")
    assert browser.post("/account/grants", {"client_id": "interactive"}).status_code == 403
    assert consent_rows(alice).exists()
    response = browser.post("/account/grants", {"client_id": "interactive",
                                                "csrfmiddlewaretoken": csrf_token(grants)})
    assert response.status_code == 302
    assert not consent_rows(alice).exists()


def test_grants_page_is_not_shown_to_anonymous_users(client, seeded, alice) -> None:
    seeded(consenting())
    Consent.objects.create(subject_id=str(alice.pk), client_id="interactive",
                           scopes=["openid"], created=timezone.now())
    response = client.get("/account/grants")
    assert response.status_code == 302
    revoke = client.post("/account/grants", {"client_id": "interactive"})
    assert revoke.status_code == 302
    assert consent_rows(alice).exists()


def test_grants_page_sends_anonymous_users_to_the_login_page(client, db) -> None:
    response = client.get("/account/grants")
    location = urlsplit(response["Location"])
    assert location.path == "/account/login"
    assert parse_qs(location.query)["next"] == ["/account/grants"]
