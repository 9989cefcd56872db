"""The pages people see, checked against the brief item by item: stylesheet served, application
named (only web URLs), signed-in bar, error sentences, kept user name, French by Accept-Language
and by ui_locales, password reset by email, the signed-out page's Content-Security-Policy."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlencode, urlsplit

import pytest
from django.core import mail

from identity.errors import (
    AccessDenied,
    InvalidClient,
    InvalidRequest,
    OAuthError,
    TemporarilyUnavailable,
    UnauthorizedClient,
)
from identity.http.branding import branding
from tests.authorization_code.test_login_consent import ask, consent_return, consenting
from tests.factories import make_interactive_client
from tests.helpers.flow import PASSWORD, authorize_params, login
from tests.helpers.pkce import Pkce

pytestmark = pytest.mark.django_db

STYLESHEET = "/static/identity/identity.css"
LOGO = "https://photos.example/logo.png"
HOME = "https://photos.example/"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
# The project's default (EMAIL_URL unset); pytest-django swaps in locmem for every test.
DUMMY = "django.core.mail.backends.dummy.EmailBackend"


def authorize_url(**overrides: str) -> str:
    return "/connect/authorize?" + urlencode(authorize_params(Pkce.new(), **overrides))


def login_page(client, next_url: str | None = None, **headers: str):
    query = "?" + urlencode({"next": next_url}) if next_url is not None else ""
    return client.get("/account/login" + query, **headers)


def body(response) -> str:
    return response.content.decode()


def element(html: str, element_id: str) -> str:
    """Return the opening tag of the element with `element_id`."""
    found = re.search(rf'<[a-z]+[^>]*\bid="{re.escape(element_id)}"[^>]*>', html)
    assert found, f"no #{element_id}"
    return found.group(0)


def attribute(tag: str, name: str) -> str | None:
    found = re.search(rf'\b{name}="([^"]*)"', tag)
    return unescape(found.group(1)) if found else None


def test_the_stylesheet_is_linked_and_served(client) -> None:
    html = body(login_page(client))
    assert f'<link rel="stylesheet" href="{STYLESHEET}">' in html
    assert "<style" not in html and " style=" not in html  # no inline styles to allow
    response = client.get(STYLESHEET)
    assert response.status_code == 200
    assert "text/css" in response["Content-Type"]
    css = b"".join(response.streaming_content).decode()
    for name in ("--id-accent", "--id-bg", "--id-fg", "prefers-color-scheme: dark",
                 ":focus-visible"):
        assert name in css


def test_the_page_is_a_main_landmark_in_the_active_language(client) -> None:
    html = body(login_page(client))
    assert '<html lang="en' in html and "<main" in html and "<h1" in html


def test_login_names_the_application_with_its_logo_and_link(client, seeded) -> None:
    seeded(make_interactive_client(client_name="Photo Printer", logo_uri=LOGO, client_uri=HOME))
    html = body(login_page(client, authorize_url()))
    assert "Photo Printer" in html
    logo = element(html, "client-logo")
    assert attribute(logo, "src") == LOGO and attribute(logo, "alt") is not None
    assert attribute(element(html, "client-link"), "href") == HOME


def test_login_names_the_client_id_when_the_client_has_no_name(client, seeded) -> None:
    seeded(make_interactive_client())
    html = body(login_page(client, authorize_url()))
    assert "interactive" in html
    assert 'id="client-logo"' not in html and 'id="client-link"' not in html


@pytest.mark.parametrize("uri", ["javascript:alert(1)", "data:image/png;base64,AAAA",
                                 "//photos.example/x.png", "ftp://photos.example/x.png",
                                 "http:///no-host.png"])
def test_only_web_urls_are_shown_as_logo_or_link(uri: str) -> None:
    # The client store refuses some of these already; the page never relies on it.
    shown = branding(make_interactive_client(client_name="Photo Printer", logo_uri=uri,
                                             client_uri=uri))
    assert shown is not None and shown.name == "Photo Printer"
    assert shown.logo is None and shown.link is None


def test_a_client_with_a_javascript_logo_is_never_shown(client, seeded) -> None:
    uri = "javascript:alert(1)"
    seeded(make_interactive_client(client_name="Photo Printer", logo_uri=uri, client_uri=uri))
    response = login_page(client, authorize_url())
    assert response.status_code == 200 and uri not in body(response)


@pytest.mark.parametrize("next_url", [
    "", "garbage", "/connect/authorize", "/connect/authorize?client_id=nobody",
    "/connect/authorize?client_id=a&client_id=b", "/connect/authorize?client_id=%00",
    "https://evil.example/connect/authorize?client_id=interactive", "/%ff?client_id=x",
    "/connect/authorize?" + "client_id=" + "x" * 5000])
def test_login_never_fails_on_an_odd_next(client, seeded, next_url: str) -> None:
    seeded(make_interactive_client(client_name="Photo Printer"))
    response = login_page(client, next_url)
    assert response.status_code == 200
    assert 'id="client"' not in body(response)


def test_disabled_client_is_not_named(client, seeded) -> None:
    seeded(make_interactive_client(client_name="Photo Printer", enabled=False))
    assert "Photo Printer" not in body(login_page(client, authorize_url()))


def test_signed_in_as_with_links_to_sign_out_and_the_grants(client, alice) -> None:
    assert 'id="signed-in-as"' not in body(client.get("/account/grants", follow=True))
    login(client)
    html = body(client.get("/account/grants"))
    assert 'id="signed-in-as"' in html and "alice" in html
    assert 'href="/connect/endsession"' in html and 'href="/account/grants"' in html


def test_consent_page_names_the_client_with_logo_link_and_grouped_scopes(
        client, seeded, alice) -> None:
    seeded(consenting(logo_uri=LOGO, client_uri=HOME))
    login(client)
    html = body(client.get("/connect/consent", {"return": consent_return(ask(client))}))
    assert 'id="client-name"' in html and "Photo Printer" in html
    assert attribute(element(html, "client-logo"), "src") == LOGO
    assert html.index('id="allow"') < html.index('id="deny"')
    assert "id-primary" in element(html, "allow")
    openid = re.search(r'<li data-scope="openid".*?</li>', html, re.S)
    assert openid and "disabled" in openid.group(0) and "(required)" in openid.group(0)
    assert '<input type="hidden" name="scope" value="openid">' in openid.group(0)
    # Two headings, each once: api1 and offline_access share "Application access".
    assert html.count("Personal information") == 1
    assert html.count("Application access") == 1
    assert html.index("Personal information") < html.index('data-scope="openid"') \
        < html.index("Application access") < html.index('data-scope="api1"') \
        < html.index('data-scope="offline_access"')


@pytest.mark.parametrize(("error_class", "sentence"), [
    (TemporarilyUnavailable, "try again"),
    (AccessDenied, "refused"),
    (InvalidRequest, "Go back to the application"),
    (InvalidClient, "Go back to the application"),
    (UnauthorizedClient, "Go back to the application"),
])
def test_error_page_speaks_to_the_person_and_keeps_details_for_developers(
        rf, error_class: type[OAuthError], sentence: str) -> None:
    from django.contrib.auth.models import AnonymousUser

    from identity.http.rendering import error_page

    err = error_class("why it failed")
    request = rf.get("/connect/authorize")
    request.user = AnonymousUser()
    html = error_page(request, err).content.decode()
    assert sentence in html
    details = html[html.index("<details"):html.index("</details>")]
    assert "For developers" in details
    assert f'<code id="error">{err.error}</code>' in details
    assert '<span id="error-description">why it failed</span>' in details


def test_unknown_client_shows_the_error_page(client, seeded) -> None:
    seeded()
    response = client.get(authorize_url(client_id="nobody"))
    html = body(response)
    assert response.status_code == 400
    assert 'id="error-advice"' in html and '<code id="error">invalid_request' in html
    assert response["Content-Security-Policy"] == "frame-ancestors 'none'"


def test_wrong_password_keeps_the_user_name_and_describes_the_error(
        client, seeded, alice) -> None:
    seeded()
    response = client.post("/account/login", {"username": "alice", "password": "wrong",
                                              "next": authorize_url()})
    html = body(response)
    assert response.status_code == 200
    username = element(html, "id_username")
    assert attribute(username, "value") == "alice"
    assert attribute(username, "aria-describedby") == "sign-in-error"
    assert attribute(element(html, "id_password"), "aria-describedby") == "sign-in-error"
    assert 'role="alert"' in element(html, "sign-in-error")


def test_accept_language_french(client) -> None:
    response = login_page(client, HTTP_ACCEPT_LANGUAGE="fr")
    html = body(response)
    assert response["Content-Language"] == "fr"
    assert '<html lang="fr"' in html
    assert "Mot de passe" in html
    assert "Password" not in html and "User name" not in html


def test_english_without_accept_language(client) -> None:
    html = body(login_page(client))
    assert "User name" in html and "Password" in html


def test_ui_locales_in_next_picks_french(client, seeded) -> None:
    seeded()
    response = login_page(client, authorize_url(ui_locales="fr-CA fr en"),
                          HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Language"] == "fr" and '<html lang="fr"' in body(response)


def test_french_error_and_consent_pages(client, seeded, alice) -> None:
    seeded(consenting())
    login(client)
    back = consent_return(ask(client, ui_locales="fr"))
    consent = body(client.get("/connect/consent", {"return": back}))
    assert '<html lang="fr"' in consent and ">Allow<" not in consent
    error = body(client.get(authorize_url(client_id="nobody"), HTTP_ACCEPT_LANGUAGE="fr"))
    assert '<html lang="fr"' in error and "For developers" not in error


def test_locked_message_is_translated() -> None:
    from django.utils import translation

    from identity.endpoints.account import LOCKED_MESSAGE

    with translation.override("en"):
        english = str(LOCKED_MESSAGE)
    with translation.override("fr"):
        assert str(LOCKED_MESSAGE) != english


def test_password_reset_is_hidden_and_answers_404_by_default(client, settings) -> None:
    settings.EMAIL_BACKEND = DUMMY
    assert 'id="forgot-password"' not in body(login_page(client))
    assert client.get("/account/password/reset").status_code == 404


def test_password_reset_by_email_when_a_backend_is_configured(
        client, settings, alice) -> None:
    settings.EMAIL_BACKEND = LOCMEM
    link = attribute(element(body(login_page(client)), "forgot-password"), "href")
    assert link == "/account/password/reset"
    form = client.get(link)
    assert form.status_code == 200 and form["Content-Security-Policy"]
    assert form["X-Frame-Options"] == "DENY" and form["Cache-Control"] == "no-store"
    sent = client.post(link, {"email": "alice@example.com"})
    assert sent.status_code == 302
    assert client.get(sent["Location"]).status_code == 200
    assert len(mail.outbox) == 1
    url = re.search(r"https?://\S+/account/password/reset/\S+", mail.outbox[0].body)
    assert url, mail.outbox[0].body
    confirm = client.get(urlsplit(url.group(0)).path, follow=True)
    assert confirm.status_code == 200 and 'name="new_password1"' in body(confirm)
    new = "a-new-long-password-42"
    done = client.post(confirm.redirect_chain[-1][0], {"new_password1": new,
                                                      "new_password2": new}, follow=True)
    assert done.status_code == 200
    alice.refresh_from_db()
    assert alice.check_password(new) and not alice.check_password(PASSWORD)


def test_signed_out_page_loads_the_stylesheet_under_its_csp(client, alice) -> None:
    login(client)
    confirm = client.get("/connect/endsession")
    assert 'id="confirm-logout"' in body(confirm)
    response = client.post("/connect/endsession", urlencode({"confirm_logout": "1"}),
                           content_type="application/x-www-form-urlencoded")
    html = body(response)
    assert 'id="signed-out"' in html and STYLESHEET in html
    assert "<style" not in html
    csp = response["Content-Security-Policy"]
    assert "style-src 'self'" in csp and "unsafe-inline" not in csp
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    # No application to return to: the page offers the user's applications instead.
    assert 'href="/account/grants"' in html and "Your applications" in html
