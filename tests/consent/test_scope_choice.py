"""Consent per scope: required scopes always granted, optional ones the person may untick; the
code, its tokens and the remembered consent carry exactly what was granted.

Spec: OpenID Connect Core §3.1.2.4; RFC 6749 §3.3 and §5.1 (`scope` in the token response when
it differs from the request); IdentityServer's Required and Emphasize.
"""

from __future__ import annotations

import re

import pytest

from identity.models import Consent
from tests.authorization_code.test_login_consent import (
    ALL_SCOPES,
    ask,
    assert_code,
    consent_return,
    consenting,
)
from tests.helpers.calls import refresh
from tests.helpers.flow import exchange, login, verified_claims
from tests.helpers.pkce import Pkce

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(client, seeded, alice):
    seeded(consenting())
    login(client)
    return client


def choose(client, back: str, scopes: tuple[str, ...], remember: bool = False):
    data: dict[str, object] = {"return": back, "decision": "allow", "choose_scopes": "1",
                               "scope": list(scopes)}
    if remember:
        data["remember"] = "1"
    return client.post("/connect/consent", data)


def tokens_after(client, scopes: tuple[str, ...], remember: bool = False) -> dict:
    pkce = Pkce.new()
    back = consent_return(ask(client, pkce))
    assert choose(client, back, scopes, remember).status_code == 302
    response = exchange(client, assert_code(client.get(back)), pkce)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_form_offers_each_scope_with_required_ones_fixed(browser) -> None:
    body = browser.get("/connect/consent", {"return": consent_return(ask(browser))}) \
        .content.decode()
    for scope in ALL_SCOPES:
        assert f'value="{scope}"' in body, scope
    # openid cannot be unticked: its checkbox is disabled and a hidden field carries it.
    assert re.search(r'<input[^>]*type="checkbox"[^>]*value="openid"[^>]*disabled', body) or \
        re.search(r'<input[^>]*disabled[^>]*value="openid"', body)
    assert 'name="choose_scopes"' in body


def test_unticked_scopes_are_left_out_of_the_code_and_its_tokens(browser, alice) -> None:
    body = tokens_after(browser, ("profile", "api1"))
    assert body["scope"].split() == ["openid", "profile", "api1"]
    assert "refresh_token" not in body  # offline_access was unticked
    claims = verified_claims(browser, body["access_token"])
    assert claims["scope"].split() == ["openid", "profile", "api1"]
    userinfo = browser.get("/connect/userinfo",
                           HTTP_AUTHORIZATION=f"Bearer {body['access_token']}").json()
    assert "email" not in userinfo and userinfo["name"] == "Alice Smith"


def test_unticking_the_api_scope_drops_its_audience(browser) -> None:
    body = tokens_after(browser, ("profile", "email", "offline_access"))
    claims = verified_claims(browser, body["access_token"])
    assert "api1" not in claims["scope"].split()
    assert "api1" not in (claims.get("aud") if isinstance(claims.get("aud"), list)
                          else [claims.get("aud")])
    refreshed = refresh(browser, body["refresh_token"])
    assert refreshed.status_code == 200
    assert "api1" not in refreshed.json()["scope"].split()


def test_names_not_requested_are_ignored(browser) -> None:
    body = tokens_after(browser, ("profile", "api2.read_only", "nonsense"))
    assert body["scope"].split() == ["openid", "profile"]


def test_the_remembered_consent_is_exactly_what_was_granted(browser, alice) -> None:
    tokens_after(browser, ("email",), remember=True)
    row = Consent.objects.get(subject_id=str(alice.pk), client_id="interactive")
    assert sorted(row.scopes.split() if isinstance(row.scopes, str) else row.scopes) == \
        ["email", "openid"]
    # A later request for more than was granted asks again.
    consent_return(ask(browser))
    # A request for what was granted does not.
    assert_code(ask(browser, scope="openid email"))


def test_a_form_without_the_choice_grants_what_was_asked(browser) -> None:
    # A project's own consent template without checkboxes keeps working as before.
    pkce = Pkce.new()
    back = consent_return(ask(browser, pkce))
    browser.post("/connect/consent", {"return": back, "decision": "allow"})
    body = exchange(browser, assert_code(browser.get(back)), pkce).json()
    assert body["scope"].split() == list(ALL_SCOPES)


def test_nothing_granted_when_nothing_is_required_is_a_denial(client, seeded, alice) -> None:
    seeded(consenting())
    login(client)
    back = consent_return(ask(client, scope="api1 offline_access"))
    response = choose(client, back, ())
    assert response.status_code == 302 and "error=access_denied" in response["Location"]
