"""Every page in chromium, light and dark, phone and desktop: axe-core finds no serious or
critical violation (contrast included), focus is visible and follows the form."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, Page
from pytest_django.live_server_helper import LiveServer

from identity import clock
from identity.domain.grants import Consent
from identity.stores.registry import get_consent_store
from tests.authorization_code.test_login_consent import consenting
from tests.helpers.axe import assert_accessible, chromium
from tests.helpers.flow import PASSWORD, authorize_params
from tests.helpers.pkce import Pkce

# serialized_rollback: like the other transactional tests, leave the migrations' rows behind.
pytestmark = [pytest.mark.browser,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


def new_page(browser: Browser, viewport: dict[str, int], scheme: str, **options: object) -> Page:
    context = browser.new_context(bypass_csp=True, viewport=viewport,  # type: ignore[arg-type]
                                  color_scheme=scheme, **options)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def checked(page: Page, name: str, seen: list[str]) -> None:
    """Assert the page is accessible, and that its stylesheet was applied (not the browser's
    default look: the card has a border)."""
    assert_accessible(page)
    assert page.locator("main").count() == 1, name
    assert page.locator("h1").count() == 1, name
    assert page.eval_on_selector("main", "m => getComputedStyle(m).borderTopStyle") == "solid"
    seen.append(name)


def focused_id(page: Page) -> str:
    return str(page.evaluate("document.activeElement && document.activeElement.id"))


@pytest.fixture
def world(seeded, alice, settings):
    settings.EMAIL_BACKEND = LOCMEM  # password reset offered
    seeded(consenting(logo_uri="https://photos.example/logo.png",
                      client_uri="https://photos.example/"),
           consenting(client_id="granted", client_name="Granted App"))
    get_consent_store().save(Consent(str(alice.pk), "granted", ("openid", "profile"),
                                     clock.now()))
    return alice


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_every_page_is_accessible(live_server: LiveServer, world, scheme: str,
                                  viewport: dict[str, int]) -> None:
    base = live_server.url
    authorize = f"{base}/connect/authorize?" + urlencode(authorize_params(Pkce.new()))
    seen: list[str] = []
    # No ORM call below: Playwright's event loop makes Django refuse them.
    with chromium() as browser:
        page = new_page(browser, viewport, scheme)
        page.emulate_media(color_scheme=scheme)

        page.goto(f"{base}/account/password/reset")
        checked(page, "password reset", seen)

        page.goto(authorize)
        page.wait_for_url(f"{base}/account/login?**")
        assert page.locator("#client-logo").get_attribute("alt") is not None
        checked(page, "login", seen)
        # Focus order: user name, password, then the button; the ring is visible.
        page.focus("#id_username")
        page.keyboard.press("Tab")
        assert focused_id(page) == "id_password"
        page.keyboard.press("Tab")
        assert focused_id(page) == "sign-in"
        outline = page.eval_on_selector("#sign-in", "b => getComputedStyle(b).outlineStyle")
        assert outline not in ("none", ""), outline

        page.fill("#id_username", "alice")
        page.fill("#id_password", "wrong")
        page.click("#sign-in")
        page.wait_for_selector("#sign-in-error")
        assert page.input_value("#id_username") == "alice"
        checked(page, "login with error", seen)

        page.fill("#id_password", PASSWORD)
        page.click("#sign-in")
        page.wait_for_url(f"{base}/connect/consent?**")
        checked(page, "consent", seen)

        page.goto(f"{base}/account/grants")
        assert page.locator(".grant[data-client=granted]").count() == 1
        assert page.locator("#signed-in-as").count() == 1
        checked(page, "grants", seen)

        page.goto(f"{base}/connect/authorize?client_id=nobody")
        page.click("summary")  # the developers' details, open
        page.wait_for_selector("#error")
        checked(page, "error", seen)

        page.goto(f"{base}/connect/endsession")
        checked(page, "sign-out confirmation", seen)
        page.click("#confirm-logout")
        page.wait_for_selector("#signed-out")
        checked(page, "signed out", seen)
    assert len(seen) == 8


def test_french_in_the_browser(live_server: LiveServer, world) -> None:
    with chromium() as browser:
        page = new_page(browser, DESKTOP, "light", locale="fr-FR")
        page.goto(f"{live_server.url}/account/login")
        assert page.get_attribute("html", "lang") == "fr"
        assert page.locator("label[for=id_password]").inner_text() == "Mot de passe"
        assert_accessible(page)
