"""The client admin in a real browser: JavaScript inlines, Generate, the secret shown once."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from pytest_django.live_server_helper import LiveServer

from clients_app import models
from identity.hashing import hash_secret, verify_shared_secret
from identity.stores.registry import get_client_store
from tests.browser.relying_party import browser_page

USERNAME, PASSWORD = "admin", "browser-test-Pw-4kq9"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_client_with_generated_secret_created_in_browser_authenticates(
        live_server: LiveServer) -> None:
    get_user_model().objects.create_superuser(USERNAME, "admin@example.com", PASSWORD)
    models.ApiScope.objects.create(name="api1")

    # No ORM call inside the Playwright block: its event loop makes Django raise
    # SynchronousOnlyOperation, so the database is read before and after it instead.
    with browser_page() as page:
        login = page.goto(f"{live_server.url}/admin/login/?next=/admin/")
        assert login is not None
        page.fill("#id_username", USERNAME)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{live_server.url}/admin/")

        page.goto(f"{live_server.url}/admin/clients_app/client/add/?kind=custom")
        page.fill("#id_client_id", "browser.service")
        page.fill("#id_client_name", "Made in a browser")
        page.select_option("#id_allowed_grant_types-0-grant_type", "client_credentials")
        page.get_by_role("button", name="Add another Client secret").click()
        page.fill("#id_client_secrets-0-description", "first secret")
        page.check("#id_client_secrets-0-generate")
        page.get_by_role("button", name="Add another Allowed scope").click()
        page.select_option("#id_allowed_scopes-0-scope", "api1")
        page.locator("input[name=_save]").first.click()

        shown = page.locator("code.generated-secret")
        shown.wait_for()
        assert shown.count() == 1
        secret = shown.inner_text().strip()
        assert page.title().startswith("Copy the new secret now")

        page.get_by_role("link", name="I have copied it: continue").click()
        page.wait_for_url("**/admin/clients_app/client/*/change/")
        assert secret not in page.content()

    assert len(secret) >= 43
    client = get_client_store().find_client_by_id("browser.service")
    assert client is not None
    assert client.allowed_grant_types == ("client_credentials",)
    assert client.allowed_scopes == ("api1",)
    assert verify_shared_secret(secret, client.client_secrets)
    assert [s.value for s in models.ClientSecret.objects.all()] == [hash_secret(secret)]
