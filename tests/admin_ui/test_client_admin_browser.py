"""The client admin in chromium: chooser, web application form, one-time secret page."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from pytest_django.live_server_helper import LiveServer

from clients_app import models
from identity.stores.registry import get_key_ring
from tests.helpers.axe import assert_accessible, chromium

USERNAME, PASSWORD = "admin", "browser-test-Pw-7xq2"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_web_client_from_chooser_to_the_one_time_secret(live_server: LiveServer,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    get_user_model().objects.create_superuser(USERNAME, "admin@example.com", PASSWORD)
    for name in ("openid", "profile"):
        models.IdentityResource.objects.get_or_create(name=name)
    kid = get_key_ring().signing_key().kid
    url = live_server.url

    # No ORM call inside the Playwright block (its event loop forbids synchronous queries).
    with chromium() as browser:
        context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 800})
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{url}/admin/login/?next=/admin/")
        page.fill("#id_username", USERNAME)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{url}/admin/")

        page.goto(f"{url}/admin/clients_app/client/add/")
        assert page.locator(".client-kind").count() == 6
        assert_accessible(page)
        page.get_by_role("link", name="Web application").click()
        page.wait_for_url("**/add/?kind=web")
        height = page.evaluate("document.body.scrollHeight")
        assert page.is_checked("#id_client_secrets-0-generate")
        page.fill("#id_client_id", "web.browser")
        page.fill("#id_redirect_uris-0-redirect_uri", "https://web.example.com/signin-oidc")
        page.locator("input[name=_save]").first.click()

        shown = page.locator("code.generated-secret")
        shown.wait_for()
        secret = shown.inner_text().strip()
        secret_url = page.url
        assert "/secret/" in secret_url
        copy = page.get_by_role("button", name="Copy")
        assert copy.is_visible()
        assert_accessible(page)
        copy.click()
        page.get_by_role("button", name="Copied").wait_for()
        assert page.evaluate("navigator.clipboard.readText()") == secret

        page.reload()
        assert "already shown" in page.content()
        assert secret not in page.content()

        page.goto(f"{url}/admin/identity/signingkey/")
        key_list_width = page.evaluate("document.documentElement.scrollWidth")
        context.close()

    with capsys.disabled():
        print(f"\nweb-app add form height at 1280x800: {height} px; "
              f"signing-key list width: {key_list_width} px (kid {len(kid)} chars)")
    assert height < 2500  # 4,271 px before kinds and folding
    assert key_list_width <= 1280
    assert models.Client.objects.get(client_id="web.browser").client_secrets.count() == 1
