"""The device flow with a real browser: chromium signs in on /device, types the user code as a
person would (lower case, no dash), approves, and the test, as the device, polls until it gets
tokens.

Spec: RFC 8628 §3.1-3.5.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

import pytest
from pytest_django.live_server_helper import LiveServer

from tests.browser.relying_party import browser_page, sign_in
from tests.device.support import DEVICE_GRANT, public_device_client

CLIENT_ID = "tv.public"


def post(url: str, form: dict[str, str]) -> tuple[int, Any]:
    """POST a form; return the status and the JSON body, error statuses included."""
    request = urllib.request.Request(url, data=urlencode(form).encode(), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_person_approves_in_chromium_and_the_device_gets_tokens(
        live_server: LiveServer, seeded, alice) -> None:
    seeded(public_device_client(CLIENT_ID, polling_interval=1))
    issuer = live_server.url
    token_url = f"{issuer}/connect/token"
    # No ORM call from here on: Playwright's event loop makes Django raise
    # SynchronousOnlyOperation. HTTP calls to the live server are fine.
    status, started = post(f"{issuer}/connect/deviceauthorization", {
        "client_id": CLIENT_ID, "scope": "openid profile api1 offline_access"})
    assert status == 200, started
    poll = {"grant_type": DEVICE_GRANT, "device_code": started["device_code"],
            "client_id": CLIENT_ID}
    status, pending = post(token_url, poll)
    assert (status, pending["error"]) == (400, "authorization_pending")

    with browser_page() as page:
        page.goto(started["verification_uri"])
        sign_in(page, issuer)
        page.wait_for_url(f"{issuer}/device")
        page.fill("#user_code", started["user_code"].replace("-", "").lower())
        page.click("#continue")
        page.wait_for_selector("#allow")
        assert page.inner_text("#client-name") == "Living room TV"
        shown = sorted(li.get_attribute("data-scope") or ""
                       for li in page.locator("li[data-scope]").all())
        assert shown == ["api1", "offline_access", "openid", "profile"]
        page.click("#allow")
        page.wait_for_selector("#device-approved")

    deadline = time.monotonic() + 10
    while True:
        time.sleep(1.1)  # the interval: one second
        status, body = post(token_url, poll)
        if status == 200 or time.monotonic() > deadline:
            break
        assert body["error"] in ("authorization_pending", "slow_down"), body
    assert status == 200, body
    assert {"access_token", "id_token", "refresh_token"} <= set(body)
    assert body["scope"] == "openid profile api1 offline_access"
    status, again = post(token_url, poll)
    assert (status, again["error"]) == (400, "invalid_grant")
