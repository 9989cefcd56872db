"""The device verification page (/device): sign-in first, the code typed as people type it,
the client and scopes shown, the decision recorded once, wrong codes limited per address and per
session and never for the person who holds the device.

Spec: RFC 8628 §3.3, §5.1, §5.4, §6.1.
"""

from __future__ import annotations

import pytest
from django.test import Client

from identity.models import DeviceFlowCode
from tests.device.support import (
    DEVICE_PAGE,
    decide,
    enter_code,
    error_of,
    message_of,
    poll,
    started,
)
from tests.helpers.flow import login

pytestmark = pytest.mark.django_db

WRONG = "That code is not valid. Check the code shown on your device and try again."
USED = "That code has already been used."
LOCKED = "Too many wrong codes. Wait a few minutes and try again."


def _browser(user: str = "alice", address: str = "192.0.2.1") -> Client:
    browser = Client(REMOTE_ADDR=address)
    login(browser, user, "pw-alice-123" if user == "alice" else "pw-bob-123")
    return browser


def test_anonymous_is_sent_to_sign_in_and_back(client, devices) -> None:
    response = client.get(DEVICE_PAGE + "?user_code=BCDF-GHJK")
    assert response.status_code == 302
    assert response["Location"] == "/account/login?next=/device%3Fuser_code%3DBCDF-GHJK"


def test_form_is_prefilled_and_never_framed(client, devices, signed_in) -> None:
    response = signed_in.get(DEVICE_PAGE + "?user_code=BCDF-GHJK")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="user_code" id="user_code" value="BCDF-GHJK"' in page
    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Security-Policy"] == "frame-ancestors 'none'"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("typed", ["{code}", "{lower}", "{bare}", "  {spaced}  ", "{bare_lower}"])
def test_case_spaces_and_dashes_are_ignored(client, devices, signed_in, typed) -> None:
    code = started(client)["user_code"]
    bare = code.replace("-", "")
    shown = typed.format(code=code, lower=code.lower(), bare=bare, bare_lower=bare.lower(),
                         spaced=" ".join(bare[:4]) + " " + bare[4:])
    response = enter_code(signed_in, shown)
    assert response.status_code == 200, message_of(response)
    page = response.content.decode()
    assert '<span id="client-name">Living room TV</span>' in page
    for scope in ("openid", "profile", "api1", "offline_access"):
        assert f'data-scope="{scope}"' in page
    assert 'name="decision" value="allow"' in page and 'name="decision" value="deny"' in page


def test_wrong_code_is_refused_with_a_message(client, devices, signed_in) -> None:
    started(client)
    response = enter_code(signed_in, "BBBB-BBBB")
    assert response.status_code == 400 and message_of(response) == WRONG


def test_expired_code_says_so(client, devices, signed_in, clock) -> None:
    code = started(client)["user_code"]
    clock.advance(301)
    response = enter_code(signed_in, code)
    assert response.status_code == 400
    assert message_of(response) == ("That code has expired. Start again on your device to get "
                                    "a new one.")


def test_a_code_is_bound_to_the_first_person_who_decides(client, devices, alice, bob) -> None:
    code = started(client)["user_code"]
    assert decide(_browser(), code).status_code == 200
    late = decide(_browser("bob", "192.0.2.2"), code, "deny")
    assert late.status_code == 400 and message_of(late) == USED
    row = DeviceFlowCode.objects.get()
    assert row.status == "approved" and row.subject_id == str(alice.pk)


def test_approve_records_the_user_session_and_scopes(client, devices, signed_in, alice) -> None:
    code = started(client)["user_code"]
    response = decide(signed_in, code, scopes=["openid", "api1"])
    assert response.status_code == 200 and 'id="device-approved"' in response.content.decode()
    row = DeviceFlowCode.objects.get()
    assert row.subject_id == str(alice.pk) and row.granted_scopes == ["openid", "api1"]
    assert row.session_id == signed_in.session["identity.sid"]
    assert row.auth_time == signed_in.session["identity.auth_time"] and row.amr == ["pwd"]


def test_deny_is_recorded(client, devices, signed_in) -> None:
    body = started(client)
    response = decide(signed_in, body["user_code"], "deny")
    assert 'id="device-denied"' in response.content.decode()
    assert error_of(poll(client, body["device_code"])) == "access_denied"


def test_used_code_says_so(client, devices, signed_in) -> None:
    body = started(client)
    decide(signed_in, body["user_code"])
    assert poll(client, body["device_code"]).status_code == 200
    assert message_of(enter_code(signed_in, body["user_code"])) == USED


def test_posts_need_the_csrf_token(client, devices, alice) -> None:
    browser = Client(enforce_csrf_checks=True)
    login(browser)
    code = started(client)["user_code"]
    assert decide(browser, code).status_code == 403
    assert DeviceFlowCode.objects.get().status == "pending"


def test_overlong_input_is_a_wrong_code_not_an_error(client, devices, signed_in) -> None:
    response = enter_code(signed_in, "B" * 10_000)
    assert response.status_code == 400 and message_of(response) == WRONG


# --- throttling (RFC 8628 §5.1) ----------------------------------------------------------------

def _guess(browser: Client, times: int) -> list[int]:
    return [enter_code(browser, f"ZZZZ-ZZZ{'BCDFGHJKLM'[i % 10]}").status_code
            for i in range(times)]


def test_an_attacker_over_the_limit_never_locks_out_the_device_holder(
        client, devices, identity_config, alice, bob) -> None:
    identity_config(DEVICE_USER_CODE_FAILURE_LIMIT_PER_SESSION=3,
                    DEVICE_USER_CODE_FAILURE_LIMIT_PER_ADDRESS=5)
    code = started(client)["user_code"]
    attacker = _browser("bob", "203.0.113.66")
    assert _guess(attacker, 3) == [400, 400, 400]
    locked = enter_code(attacker, code)  # even the right code: the attacker's own limit
    assert locked.status_code == 429 and message_of(locked) == LOCKED
    assert locked["Retry-After"] == "300"
    holder = _browser("alice", "198.51.100.7")
    assert enter_code(holder, code).status_code == 200
    assert decide(holder, code).status_code == 200


def test_the_address_limit_spans_sessions(client, devices, identity_config, bob) -> None:
    identity_config(DEVICE_USER_CODE_FAILURE_LIMIT_PER_SESSION=None,
                    DEVICE_USER_CODE_FAILURE_LIMIT_PER_ADDRESS=4)
    code = started(client)["user_code"]
    assert _guess(_browser("bob", "203.0.113.66"), 2) == [400, 400]
    assert _guess(_browser("bob", "203.0.113.66"), 3) == [400, 400, 429]
    assert enter_code(_browser("bob", "203.0.113.67"), code).status_code == 200


def test_the_address_is_the_one_the_trusted_proxy_saw(client, devices, identity_config,
                                                      bob) -> None:
    identity_config(DEVICE_USER_CODE_FAILURE_LIMIT_PER_SESSION=None,
                    DEVICE_USER_CODE_FAILURE_LIMIT_PER_ADDRESS=2,
                    CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR")
    browser = _browser("bob", "10.0.0.1")  # the proxy

    def guess(forwarded: str) -> int:
        return enter_code(browser, "ZZZZ-ZZZZ", HTTP_X_FORWARDED_FOR=forwarded).status_code

    assert [guess("spoofed, 203.0.113.66"), guess("other, 203.0.113.66")] == [400, 400]
    assert guess("203.0.113.66") == 429
    assert guess("203.0.113.99") == 400  # another caller behind the same proxy


def test_a_session_limit_holds_across_addresses(client, devices, identity_config, bob) -> None:
    identity_config(DEVICE_USER_CODE_FAILURE_LIMIT_PER_SESSION=2,
                    DEVICE_USER_CODE_FAILURE_LIMIT_PER_ADDRESS=None)
    browser = _browser("bob", "203.0.113.66")
    assert _guess(browser, 2) == [400, 400]
    assert enter_code(browser, "ZZZZ-ZZZZ", REMOTE_ADDR="203.0.113.70").status_code == 429


def test_right_codes_are_not_counted(client, devices, identity_config, signed_in) -> None:
    identity_config(DEVICE_USER_CODE_FAILURE_LIMIT_PER_SESSION=2)
    for _ in range(4):
        code = started(client)["user_code"]
        assert enter_code(signed_in, code).status_code == 200
