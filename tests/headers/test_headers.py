"""Security headers: HSTS over https, nosniff, no referrer from the sign-in pages, no CORS on the
authorize endpoint, nothing that carries a token cached, and CSRF on forms posted with
`Origin: null` (what browsers send from a no-referrer page)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import make_client, make_interactive_client
from tests.helpers.basic_auth import basic_auth
from tests.helpers.flow import authorize, authorize_params, exchange, get_code
from tests.helpers.forms import csrf_token
from tests.helpers.pkce import Pkce

ORIGIN = "https://app.example.com"


@pytest.fixture
def clients(seeded):
    seeded(make_client(allowed_cors_origins=(ORIGIN,)),
           make_interactive_client(allowed_cors_origins=(ORIGIN,)))


@pytest.fixture
def signed_in(client, clients, alice):
    client.force_login(alice)
    return client


def _no_referrer_page(response) -> None:
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "no-store"
    assert response["X-Frame-Options"] == "DENY"


def test_login_page(client, db) -> None:
    response = client.get("/account/login?next=/connect/authorize%3Fclient_id%3Dx")
    assert response.status_code == 200
    _no_referrer_page(response)
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_authorize_sends_no_referrer_to_sign_in_or_back_to_the_client(client, clients,
                                                                      alice) -> None:
    to_login = authorize(client, **authorize_params(Pkce.new()))
    assert to_login.status_code == 302 and to_login["Location"].startswith("/account/login")
    assert to_login["Referrer-Policy"] == "no-referrer"
    assert to_login["Cache-Control"] == "no-store"
    client.force_login(alice)
    with_code = authorize(client, **authorize_params(Pkce.new()))
    assert "code=" in with_code["Location"]
    assert with_code["Referrer-Policy"] == "no-referrer"
    assert with_code["Cache-Control"] == "no-store"


def test_authorize_error_page_and_form_post(signed_in) -> None:
    _no_referrer_page(authorize(signed_in, client_id="unknown", redirect_uri="https://x.test/"))
    _no_referrer_page(authorize(signed_in, **authorize_params(Pkce.new(),
                                                              response_mode="form_post")))


@pytest.mark.parametrize("method", ["get", "options", "post"])
def test_no_cors_on_the_authorize_endpoint_even_for_an_allowed_origin(signed_in,
                                                                      method) -> None:
    response = getattr(signed_in, method)(
        "/connect/authorize", authorize_params(Pkce.new()) if method != "options" else None,
        HTTP_ORIGIN=ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    assert not any(name.lower().startswith("access-control-") for name in response.headers)


def test_nothing_that_carries_a_token_is_cached(signed_in, token_post) -> None:
    pkce = Pkce.new()
    tokens = exchange(signed_in, get_code(signed_in, pkce), pkce)
    access = tokens.json()["access_token"]
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {access}"}
    responses = [
        tokens,
        token_post({"grant_type": "client_credentials"}, auth=("service.client", "secret")),
        signed_in.get("/connect/userinfo", **bearer),
        signed_in.post("/connect/introspect", {"token": access},
                       **basic_auth(("api1", "secret"))),
        signed_in.get("/connect/consent?return=/connect/authorize"),
        signed_in.get("/account/grants"),
    ]
    for response in responses:
        assert response["Cache-Control"] == "no-store", response.wsgi_request.path
        assert response["X-Content-Type-Options"] == "nosniff", response.wsgi_request.path


def test_hsts_on_https_only(client, db) -> None:
    assert "Strict-Transport-Security" not in client.get("/account/login")
    secure = client.get("/account/login", secure=True)
    assert secure["Strict-Transport-Security"].startswith("max-age=31536000")


# CSRF: a no-referrer page's own form arrives with Origin: null and must still work, but only
# with the token; a foreign Origin is refused as before.

def _login_form(browser: Client) -> dict[str, str]:
    token = csrf_token(browser.get("/account/login"))
    return {"csrfmiddlewaretoken": token, "username": "alice", "password": "pw-alice-123",
            "next": "/account/grants"}


@pytest.mark.parametrize(("origin", "with_token", "status"), [
    ("null", True, 302),
    (None, True, 302),
    ("http://testserver", True, 302),
    ("null", False, 403),
    ("https://evil.example", True, 403),
])
def test_login_csrf(alice, origin, with_token, status) -> None:
    browser = Client(enforce_csrf_checks=True)
    form = _login_form(browser)
    if not with_token:
        del form["csrfmiddlewaretoken"]
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    assert browser.post("/account/login", form, **headers).status_code == status


def test_consent_csrf_accepts_null_origin_only_with_the_token(clients, alice) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    back = "/connect/authorize?" + "&".join(f"{k}={v}" for k, v in authorize_params(
        Pkce.new(), scope="openid").items())
    page = browser.get("/connect/consent", {"return": back})
    assert page.status_code == 200
    token = csrf_token(page)
    form = {"return": back, "decision": "allow", "scope": "openid"}
    assert browser.post("/connect/consent", form, HTTP_ORIGIN="null").status_code == 403
    allowed = browser.post("/connect/consent", {**form, "csrfmiddlewaretoken": token},
                           HTTP_ORIGIN="null")
    assert allowed.status_code == 302
