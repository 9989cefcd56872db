"""Server-side sessions through the public surface: sign-in records them, the admin and the
user's grants page end them, expiry ends them, and every end signs the browser out at its next
request and tells the session's clients by back-channel logout."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext

from identity import clock
from identity.http.session import SERVER_SIDE, SESSION_ID
from identity.models import ServerSideSession
from tests.back_channel_logout import test_delivery as delivery
from tests.back_channel_logout.listener import Listener
from tests.back_channel_logout.test_delivery import app, assert_logout_token
from tests.helpers.flow import PASSWORD, sign_in_to

pytestmark = pytest.mark.django_db

SESSIONS = "/admin/identity/serversidesession/"
GRANTS_PAGE = "/account/grants"
BOB = "pw-bob-123"  # the `bob` fixture's password


def staff(*perms: str, superuser: bool = False) -> HttpClient:
    """A signed-in staff user with exactly `perms`, or a superuser."""
    users = get_user_model().objects
    if superuser:
        user = users.create_superuser("root", password="pw-root-123")
    else:
        user = users.create_user("staff", password="pw-staff-123", is_staff=True)
        for perm in perms:
            app_label, codename = perm.split(".")
            user.user_permissions.add(Permission.objects.get(
                content_type__app_label=app_label, codename=codename))
    browser = HttpClient()
    browser.force_login(user)
    return browser


def sign_in(browser: HttpClient, username: str = "alice", password: str = PASSWORD) -> None:
    """Sign in on the login page, as a browser does (the row gets the issuer, the user agent)."""
    response = browser.post("/account/login", {"username": username, "password": password,
                                               "next": GRANTS_PAGE})
    assert response.status_code == 302, response.content[:300]


def sign_in_all(browser: HttpClient, apps: dict[str, int]) -> dict[str, dict[str, Any]]:
    return delivery.sign_in_all(browser, apps, sign_in)


def is_signed_in(browser: HttpClient) -> bool:
    """Ask the grants page, which sends anyone signed out to the login page."""
    response = browser.get(GRANTS_PAGE)
    assert response.status_code in (200, 302)
    return response.status_code == 200


def sessions_of(user: Any) -> list[ServerSideSession]:
    return list(ServerSideSession.objects.filter(user=user).order_by("pk"))


def end_in_admin(admin: HttpClient, action: str, rows: list[ServerSideSession]) -> Any:
    return admin.post(SESSIONS, {"action": action, "_selected_action": [r.pk for r in rows]})


def move_clock(monkeypatch: Any, seconds: float) -> None:
    moment = clock.now() + timedelta(seconds=seconds)
    monkeypatch.setattr(clock, "now", lambda: moment)


def second_browser_in_b() -> HttpClient:
    """Alice's second browser, signed in and then in to client b."""
    browser = HttpClient()
    sign_in(browser)
    sign_in_to(browser, "b", "http://localhost:21602/signin-oidc")
    return browser


def two_apps(seeded: Any, listener: Listener) -> None:
    seeded(app("a", 21601, back_channel_logout_uri=listener.url("/a")),
           app("b", 21602, back_channel_logout_uri=listener.url("/b")))


# --- recording -----------------------------------------------------------------------------

def test_sign_in_records_the_session_and_the_clients_signed_in_to(client, seeded, alice,
                                                                  listener) -> None:
    two_apps(seeded, listener)
    tokens = sign_in_all(client, {"a": 21601, "b": 21602})

    (row,) = sessions_of(alice)
    assert row.session_id == client.session[SESSION_ID] == tokens["a"]["sid"]
    assert sorted(c.client_id for c in row.clients.all()) == ["a", "b"]
    assert row.issuer == "http://testserver"
    assert row.created <= row.renewed and row.expires is not None
    # the 10-hour lifetime and 2-hour idle timeout: the idle one comes first
    assert row.expires == row.renewed + timedelta(seconds=7200)


def test_a_session_from_before_server_side_sessions_is_kept_from_its_sign_in(
        client, seeded, alice) -> None:
    seeded()
    sign_in(client)
    session = client.session
    sid = session[SESSION_ID]
    del session[SERVER_SIDE]
    session.save()
    ServerSideSession.objects.all().delete()

    assert is_signed_in(client)  # not signed out: it was never ended

    (row,) = sessions_of(alice)
    assert row.session_id == sid and client.session[SERVER_SIDE] is True


# --- ending from the admin ------------------------------------------------------------------

def test_admin_ends_a_session_signing_it_out_and_telling_both_clients(
        client, seeded, alice, listener) -> None:
    two_apps(seeded, listener)
    tokens = sign_in_all(client, {"a": 21601, "b": 21602})
    admin = staff(superuser=True)
    listing = admin.get(SESSIONS)
    assert listing.status_code == 200 and b"alice" in listing.content

    response = end_in_admin(admin, "end_selected", sessions_of(alice))

    assert response.status_code == 302
    assert sorted(listener.paths()) == ["/a", "/b"]
    for received in listener.received:
        audience = received.path.strip("/")
        claims = assert_logout_token(client, received.logout_token, audience)
        assert claims["sid"] == tokens[audience]["sid"] and claims["sub"] == str(alice.pk)
    assert sessions_of(alice) == []
    assert not is_signed_in(client)  # the browser's next request finds it ended


def test_admin_filters_sessions_by_client_and_finds_them_by_user_name(
        client, seeded, alice, bob, listener) -> None:
    two_apps(seeded, listener)
    sign_in_all(client, {"a": 21601})
    other = HttpClient()
    sign_in(other, "bob", BOB)
    sign_in_to(other, "b", "http://localhost:21602/signin-oidc")
    admin = staff(superuser=True)

    by_client = admin.get(SESSIONS, {"client": "b"})
    assert [r.user for r in by_client.context["cl"].result_list] == [bob]
    by_name = admin.get(SESSIONS, {"q": "alice"})
    assert [r.user for r in by_name.context["cl"].result_list] == [alice]


def test_admin_ends_every_session_of_a_user_and_no_one_elses(client, seeded, alice, bob,
                                                             listener) -> None:
    two_apps(seeded, listener)
    sign_in_all(client, {"a": 21601})
    phone = second_browser_in_b()
    bobs = HttpClient()
    sign_in(bobs, "bob", BOB)
    assert len(sessions_of(alice)) == 2
    admin = staff(superuser=True)

    end_in_admin(admin, "end_users_sessions", sessions_of(alice)[:1])

    assert sessions_of(alice) == []
    assert sorted(listener.paths()) == ["/a", "/b"]
    assert not is_signed_in(client) and not is_signed_in(phone)
    assert is_signed_in(bobs) and len(sessions_of(bob)) == 1


def test_view_only_staff_sees_sessions_but_cannot_end_them(client, seeded, alice,
                                                           listener) -> None:
    two_apps(seeded, listener)
    sign_in_all(client, {"a": 21601})
    viewer = staff("identity.view_serversidesession")

    listing = viewer.get(SESSIONS)
    assert listing.status_code == 200 and listing.context["action_form"] is None
    end_in_admin(viewer, "end_selected", sessions_of(alice))
    end_in_admin(viewer, "end_users_sessions", sessions_of(alice))
    (row,) = sessions_of(alice)
    assert viewer.post(f"{SESSIONS}{row.pk}/delete/", {"post": "yes"}).status_code == 403

    assert len(sessions_of(alice)) == 1 and listener.received == []
    assert is_signed_in(client)


def test_staff_with_the_delete_permission_may_end_sessions(client, seeded, alice,
                                                           listener) -> None:
    two_apps(seeded, listener)
    sign_in_all(client, {"a": 21601})
    ender = staff("identity.view_serversidesession", "identity.delete_serversidesession")

    end_in_admin(ender, "end_selected", sessions_of(alice))

    assert sessions_of(alice) == [] and listener.paths() == ["/a"]


@pytest.mark.parametrize("revoke", [True, False])
def test_ending_a_session_revokes_its_refresh_tokens_when_configured(
        client, seeded, alice, listener, identity_config, token_post, revoke) -> None:
    identity_config(SESSION_END_REVOKES_REFRESH_TOKENS=revoke)
    seeded(app("a", 21601, back_channel_logout_uri=listener.url("/a"),
               allow_offline_access=True))
    sign_in(client)
    tokens = sign_in_to(client, "a", "http://localhost:21601/signin-oidc",
                        scope="openid offline_access")
    assert "refresh_token" in tokens

    end_in_admin(staff(superuser=True), "end_selected", sessions_of(alice))

    answer = token_post({"grant_type": "refresh_token",
                         "refresh_token": tokens["refresh_token"]}, auth=("a", "secret"))
    if revoke:
        assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    else:
        assert answer.status_code == 200, answer.content


# --- expiry ---------------------------------------------------------------------------------

@pytest.mark.parametrize("trigger", [True, False])
def test_an_idle_session_expires_at_its_next_request(client, seeded, alice, listener,
                                                     identity_config, monkeypatch,
                                                     trigger) -> None:
    identity_config(SESSION_IDLE_TIMEOUT=600, EXPIRED_SESSIONS_TRIGGER_BACK_CHANNEL_LOGOUT=trigger)
    two_apps(seeded, listener)
    sign_in_all(client, {"a": 21601})
    move_clock(monkeypatch, 599)
    assert is_signed_in(client) and listener.received == []

    move_clock(monkeypatch, 601)  # 601 s after the activity just above

    assert not is_signed_in(client)
    assert sessions_of(alice) == []
    assert listener.paths() == (["/a"] if trigger else [])


def test_activity_cannot_stretch_a_session_past_its_lifetime(client, seeded, alice,
                                                             identity_config,
                                                             monkeypatch) -> None:
    identity_config(SESSION_LIFETIME=3600, SESSION_IDLE_TIMEOUT=1200)
    seeded()
    sign_in(client)
    for _ in range(3):  # active every 1000 s: never idle for 1200 s
        move_clock(monkeypatch, 1000)
        assert is_signed_in(client)
    move_clock(monkeypatch, 1000)  # 4000 s after sign-in

    assert not is_signed_in(client)


def test_activity_renews_a_session_at_most_once_a_minute(client, seeded, alice,
                                                         monkeypatch) -> None:
    seeded()
    sign_in(client)
    (before,) = sessions_of(alice)
    move_clock(monkeypatch, 30)
    with CaptureQueriesContext(connection) as queries:
        client.get(GRANTS_PAGE)
    table = ServerSideSession._meta.db_table
    session_writes = [q["sql"] for q in queries.captured_queries
                      if table in q["sql"] and not q["sql"].lstrip().startswith("SELECT")]
    assert session_writes == []
    assert sessions_of(alice)[0].renewed == before.renewed

    move_clock(monkeypatch, 61)
    client.get(GRANTS_PAGE)
    (after,) = sessions_of(alice)
    assert after.renewed == clock.now()
    assert after.expires == clock.now() + timedelta(seconds=7200)


def test_cleanup_ends_expired_sessions_once_with_their_logouts(client, seeded, alice, listener,
                                                               monkeypatch) -> None:
    two_apps(seeded, listener)
    sign_in_all(client, {"a": 21601, "b": 21602})
    fresh = HttpClient()
    sign_in(fresh)  # active later: not expired
    move_clock(monkeypatch, 7200 - 100)
    assert is_signed_in(fresh)
    move_clock(monkeypatch, 200)  # the first session's idle timeout passed, not the second's

    call_command("cleanup_grants", stdout=(out := _Out()))
    call_command("cleanup_grants", stdout=(again := _Out()))

    assert "1 expired sign-in sessions ended" in out.text
    assert "sign-in sessions" not in again.text  # nothing left to end, nothing said
    assert sorted(listener.paths()) == ["/a", "/b"]
    assert len(sessions_of(alice)) == 1 and is_signed_in(fresh)


class _Out:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


# --- the user's own page --------------------------------------------------------------------

def test_grants_page_lists_the_users_sessions_only(client, seeded, alice, bob,
                                                   listener) -> None:
    two_apps(seeded, listener)
    sign_in_all(client, {"a": 21601})
    phone = HttpClient(HTTP_USER_AGENT="PhoneBrowser/1.0")
    sign_in(phone)
    bobs = HttpClient(HTTP_USER_AGENT="BobBrowser/1.0")
    sign_in(bobs, "bob", BOB)

    page = client.get(GRANTS_PAGE)

    listed = page.context["sessions"]
    assert len(listed) == 2 and [s["current"] for s in listed].count(True) == 1
    assert b"PhoneBrowser/1.0" in page.content and b"BobBrowser" not in page.content
    current = next(s for s in listed if s["current"])
    assert len(current["clients"]) == 1


def test_user_signs_another_of_their_sessions_out(client, seeded, alice, listener) -> None:
    two_apps(seeded, listener)
    sign_in(client)
    phone = second_browser_in_b()
    phone_sid = phone.session[SESSION_ID]

    response = client.post(GRANTS_PAGE, {"action": "end_session", "sid": phone_sid})

    assert response.status_code == 302
    assert listener.paths() == ["/b"]
    assert not is_signed_in(phone) and is_signed_in(client)


def test_a_user_cannot_end_someone_elses_session(client, seeded, alice, bob,
                                                 listener) -> None:
    two_apps(seeded, listener)
    sign_in(client)
    bobs = HttpClient()
    sign_in(bobs, "bob", BOB)
    sign_in_to(bobs, "a", "http://localhost:21601/signin-oidc")

    client.post(GRANTS_PAGE, {"action": "end_session", "sid": bobs.session[SESSION_ID]})

    assert is_signed_in(bobs) and listener.received == []


@pytest.mark.parametrize("sid", ["", "x" * 101, "a\x00b"])
def test_a_bad_session_choice_gets_a_page_that_says_so(client, seeded, alice, sid) -> None:
    seeded()
    sign_in(client)
    response = client.post(GRANTS_PAGE, {"action": "end_session", "sid": sid})
    assert response.status_code == 400 and b"choose a session" in response.content


def test_sign_out_everywhere_ends_every_session_of_the_user(client, seeded, alice,
                                                            listener) -> None:
    two_apps(seeded, listener)
    sign_in_all(client, {"a": 21601})
    phone = second_browser_in_b()

    response = client.post(GRANTS_PAGE, {"action": "sign_out_everywhere"})

    assert response.status_code == 200 and b"signed-out" in response.content
    assert sorted(listener.paths()) == ["/a", "/b"]
    assert sessions_of(alice) == []
    assert not is_signed_in(client) and not is_signed_in(phone)


def test_grants_page_forms_are_csrf_protected(seeded, alice) -> None:
    seeded()
    browser = HttpClient(enforce_csrf_checks=True)
    browser.force_login(alice)
    response = browser.post(GRANTS_PAGE, {"action": "sign_out_everywhere"})
    assert response.status_code == 403 and len(sessions_of(alice)) == 1


# --- sign-out by the user -------------------------------------------------------------------

def test_signing_out_ends_the_server_side_session(client, seeded, alice, listener) -> None:
    two_apps(seeded, listener)
    tokens = sign_in_all(client, {"a": 21601})

    client.get("/connect/endsession", {"id_token_hint": tokens["a"]["_raw"]})

    assert sessions_of(alice) == [] and listener.paths() == ["/a"]


def test_signing_in_again_replaces_the_session_keeping_its_clients(client, seeded, alice,
                                                                   listener) -> None:
    two_apps(seeded, listener)
    sign_in_all(client, {"a": 21601})
    first = client.session[SESSION_ID]

    sign_in(client)  # again, as the same user (prompt=login)

    (row,) = sessions_of(alice)
    assert row.session_id != first and [c.client_id for c in row.clients.all()] == ["a"]
    assert listener.received == []  # replaced, not ended


def test_another_person_signing_in_on_the_browser_ends_the_first_ones_session(
        client, seeded, alice, bob, listener) -> None:
    two_apps(seeded, listener)
    sign_in_all(client, {"a": 21601})

    sign_in(client, "bob", BOB)  # e.g. prompt=select_account

    assert sessions_of(alice) == [] and listener.paths() == ["/a"]
    assert len(sessions_of(bob)) == 1
