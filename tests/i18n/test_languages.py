"""The language of the user-facing pages: the browser's Accept-Language, overridden by the
authorization request's ui_locales (OpenID Connect Core §3.1.2.1); the token endpoint untouched."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from identity.http import locale
from identity.http.locale import ui_locale_from, ui_locales_of_url
from tests.factories import make_interactive_client
from tests.helpers.flow import authorize, authorize_params, login
from tests.helpers.pkce import Pkce

pytestmark = pytest.mark.django_db


def authorize_url(**overrides: str) -> str:
    return "/connect/authorize?" + urlencode(authorize_params(Pkce.new(), **overrides))


def login_page(client, accept: str = "en", **overrides: str):
    return client.get("/account/login?" + urlencode({"next": authorize_url(**overrides)}),
                      HTTP_ACCEPT_LANGUAGE=accept)


def is_french(response) -> bool:
    return response["Content-Language"] == "fr"


def shows_french(response) -> bool:
    html = response.content.decode()
    return is_french(response) and 'lang="fr"' in html and "Mot de passe" in html


def test_accept_language_picks_french_on_the_login_page(client) -> None:
    response = client.get("/account/login", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9,en;q=0.5")
    assert response.status_code == 200
    assert shows_french(response)
    english = client.get("/account/login", HTTP_ACCEPT_LANGUAGE="en")
    assert english["Content-Language"] == "en"
    assert 'lang="en"' in english.content.decode() and "Password" in english.content.decode()


def test_ui_locales_in_next_wins_over_accept_language(client) -> None:
    response = login_page(client, "en", ui_locales="fr-CA en")
    assert response.status_code == 200
    assert shows_french(response)


def test_ui_locales_in_a_login_post_keeps_french(client, alice) -> None:
    response = client.post("/account/login", {"username": "alice", "password": "wrong",
                                              "next": authorize_url(ui_locales="fr")},
                           HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert shows_french(response)


@pytest.mark.parametrize("ui_locales", ["de", "x-klingon", "zz-ZZ ja"])
def test_unsupported_ui_locales_leave_accept_language(client, ui_locales: str) -> None:
    assert login_page(client, "en", ui_locales=ui_locales)["Content-Language"] == "en"
    assert is_french(login_page(client, "fr", ui_locales=ui_locales))


@pytest.mark.parametrize("ui_locales", ["", " ", "fr\x00", "<script>", "é" * 5000,
                                        "a-" * 3000, "en-" + "x" * 100, "../../fr"])
def test_garbage_ui_locales_is_ignored(client, ui_locales: str) -> None:
    response = login_page(client, "en", ui_locales=ui_locales)
    assert response.status_code == 200
    assert response["Content-Language"] == "en"


def test_only_our_authorize_url_counts_in_next(client) -> None:
    for url in ("https://evil.example/connect/authorize?ui_locales=fr",
                "/account/grants?ui_locales=fr", "//evil.example/connect/authorize?ui_locales=fr"):
        response = client.get("/account/login?" + urlencode({"next": url}),
                              HTTP_ACCEPT_LANGUAGE="en")
        assert response["Content-Language"] == "en", url


def test_consent_page_follows_ui_locales_in_return(client, seeded, alice) -> None:
    seeded(make_interactive_client(require_consent=True, client_name="Photo Printer"))
    login(client)
    back = authorize_url(ui_locales="fr")
    response = client.get("/connect/consent?" + urlencode({"return": back}),
                          HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert is_french(response)


def test_authorize_follows_its_own_ui_locales(client, seeded) -> None:
    seeded()
    # An unknown client: the error page is ours, in French.
    response = authorize(client, **authorize_params(client_id="unknown", ui_locales="fr"))
    assert response.status_code == 400
    assert is_french(response)
    posted = client.post("/connect/authorize",
                         urlencode(authorize_params(client_id="unknown", ui_locales="fr")),
                         content_type="application/x-www-form-urlencoded",
                         HTTP_ACCEPT_LANGUAGE="en")
    assert posted.status_code == 400
    assert is_french(posted)


def test_token_endpoint_never_runs_the_ui_locales_middleware(token_post, seeded,
                                                             monkeypatch) -> None:
    seeded()

    def fail(*args: object) -> None:
        raise AssertionError("ui_locales read on the token endpoint")

    monkeypatch.setattr(locale, "_requested_language", fail)
    response = token_post({"grant_type": "client_credentials", "ui_locales": "fr"},
                          auth=("service.client", "secret"), accept_language="en")
    assert response.status_code == 200, response.content
    assert not response.has_header("Content-Language")
    assert "Accept-Language" not in response.get("Vary", "")
    assert "access_token" in response.json()


def test_a_french_page_leaves_no_language_to_the_protocol_endpoints(client, db) -> None:
    assert is_french(client.get("/account/login", HTTP_ACCEPT_LANGUAGE="fr"))
    discovery = client.get("/.well-known/openid-configuration", HTTP_ACCEPT_LANGUAGE="fr")
    assert discovery.status_code == 200
    assert not discovery.has_header("Content-Language")
    # One document for every browser language: caches keep a single copy.
    assert "Accept-Language" not in discovery.get("Vary", "")
    from django.utils import translation

    assert translation.get_language() == "en-us"


@pytest.mark.parametrize(("value", "expected"), [
    ("fr", "fr"), ("fr-CA", "fr"), ("FR_ca", "fr"), ("de fr en", "fr"), ("en-GB fr", "en"),
    ("de", None), ("", None), ("fr;q=1", None), ("x" * 10_000 + " fr", None),
    (" ".join(["de"] * 50 + ["fr"]), None),
])
def test_ui_locale_from(value: str, expected: str | None) -> None:
    assert ui_locale_from({"ui_locales": value}) == expected


def test_ui_locale_from_without_the_parameter() -> None:
    assert ui_locale_from({}) is None


def test_ui_locales_of_url() -> None:
    assert ui_locales_of_url("/connect/authorize?client_id=a&ui_locales=fr+en") == "fr en"
    assert ui_locales_of_url("/connect/authorize?client_id=a") is None
    assert ui_locales_of_url("/connect/token?ui_locales=fr") is None
    assert ui_locales_of_url("http://testserver/connect/authorize?ui_locales=fr") is None
    assert ui_locales_of_url("/connect/authorize?" + "a=b&" * 5000 + "ui_locales=fr") is None
    assert ui_locales_of_url("\x00\ud800") is None
