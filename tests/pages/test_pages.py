"""The pages people see, through HTTP: the application named with its logo and link, who is
signed in, errors a person can act on, the user name kept after a wrong password, the one
stylesheet."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from django.contrib.staticfiles import finders

from identity.http.branding import branding
from tests.authorization_code.test_login_consent import ask, consent_return
from tests.factories import make_interactive_client
from tests.helpers.flow import authorize_params, login
from tests.helpers.forms import csrf_token
from tests.helpers.pkce import Pkce

pytestmark = pytest.mark.django_db

LOGO = "https://cdn.example.com/photo-printer.png"
HOME = "https://printer.example.com/"


def branded(**overrides):
    values = {"client_name": "Photo Printer", "logo_uri": LOGO, "client_uri": HOME,
              "require_consent": True}
    values.update(overrides)
    return make_interactive_client(**values)


def login_page(client, **params: str):
    back = "/connect/authorize?" + urlencode(authorize_params(Pkce.new(), **params))
    return client.get("/account/login?" + urlencode({"next": back}))


def test_every_page_uses_the_one_stylesheet_which_has_light_and_dark(client, seeded) -> None:
    seeded(branded())
    body = login_page(client).content.decode()
    assert '<link rel="stylesheet" href="/static/identity/identity.css">' in body
    assert "<style" not in body and "style=" not in body  # nothing inline to override
    css = open(finders.find("identity/identity.css")).read()
    assert "prefers-color-scheme: dark" in css and "--id-accent" in css


def test_sign_in_names_the_application_with_its_logo_and_link(client, seeded) -> None:
    seeded(branded())
    body = login_page(client).content.decode()
    assert "Sign in to continue to Photo Printer" in body
    assert f'<img src="{LOGO}"' in body
    assert re.search(rf'<a href="{HOME}"[^>]*id="client-link">Photo Printer</a>', body)


@pytest.mark.parametrize("uri", ["javascript:alert(1)", "data:image/png;base64,AAAA",
                                 "//evil.example/x.png", "ftp://files.example/logo.png",
                                 "https://" + "a" * 2000])
def test_only_web_addresses_become_a_logo_or_a_link(uri) -> None:
    # The configuration rules refuse such URIs already; the page does not rely on it.
    shown = branding(make_interactive_client(client_name="P", logo_uri=uri, client_uri=uri))
    assert shown is not None and shown.logo is None and shown.link is None
    assert branding(make_interactive_client()).name == "interactive"


def test_sign_in_without_a_known_application_is_plain(client, seeded) -> None:
    seeded(branded())
    for next_url in ("/connect/authorize?client_id=nobody", "https://evil.example/?client_id=x",
                     "/connect/authorize?client_id=interactive&client_id=other", "\x00"):
        response = client.get("/account/login?" + urlencode({"next": next_url}))
        assert response.status_code == 200
        assert 'id="client"' not in response.content.decode()


def test_a_wrong_password_keeps_the_user_name_and_describes_the_error(client, seeded,
                                                                      alice) -> None:
    seeded(branded())
    response = client.post("/account/login", {"username": "alice", "password": "wrong",
                                              "next": "/connect/authorize?client_id=interactive"})
    body = response.content.decode()
    assert 'value="alice"' in body
    assert 'role="alert"' in body and 'aria-describedby="sign-in-error"' in body


def test_consent_names_the_application_and_who_is_signed_in(client, seeded, alice) -> None:
    seeded(branded())
    login(client)
    body = client.get("/connect/consent", {"return": consent_return(ask(client))}) \
        .content.decode()
    assert f'<img src="{LOGO}"' in body
    assert re.search(r'id="signed-in-as">Signed in as <strong>alice</strong>', body)
    # Allow is the primary action and comes first.
    assert body.index('id="allow"') < body.index('id="deny"')
    assert re.search(r'id="allow" class="id-primary"', body)


def test_consent_highlights_emphasized_scopes_and_fixes_required_ones(client, seeded,
                                                                      alice) -> None:
    seeded(branded())
    login(client)
    body = client.get("/connect/consent", {"return": consent_return(ask(client))}) \
        .content.decode()
    email = re.search(r'<li data-scope="email"([^>]*)>(.*?)</li>', body, re.S)
    assert email and "id-emphasize" in email.group(1) and "(important)" in email.group(2)
    openid = re.search(r'<li data-scope="openid"[^>]*>(.*?)</li>', body, re.S)
    assert openid and "disabled" in openid.group(1) and "(required)" in openid.group(1)
    assert '<input type="hidden" name="scope" value="openid">' in openid.group(1)


def test_error_page_tells_the_person_what_to_do_and_the_developer_what_failed(client,
                                                                             seeded) -> None:
    seeded(branded())
    response = client.get("/connect/authorize", {"client_id": "nobody"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "Go back to the application and try again" in body
    assert re.search(r"<summary>For developers</summary>", body)
    assert '<code id="error">invalid_request</code>' in body or 'id="error">' in body


def test_signed_out_page_links_home_when_there_is_no_application(client, seeded, alice) -> None:
    seeded(branded())
    login(client)
    confirm = client.get("/connect/endsession")
    form = {"confirm_logout": "1", "csrfmiddlewaretoken": csrf_token(confirm)}
    page = client.post("/connect/endsession", urlencode(form),
                       content_type="application/x-www-form-urlencoded")
    body = page.content.decode()
    assert "You are signed out" in body and 'id="home"' in body
    assert "style-src 'self'" in page["Content-Security-Policy"]

