"""The session engine: a sign-in writes its session row once, under a new key, and a new key
never takes over a row in use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.core.management import call_command

from identity.http import session_store
from identity.http.session_store import SessionStore
from tests.helpers.database import writes_of
from tests.helpers.flow import login_with_form

pytestmark = pytest.mark.django_db

GRANTS_PAGE = "/account/grants"


def session_writes(call: Callable[[], Any]) -> list[str]:
    """The writes of `call` to `django_session`, by statement."""
    return [statement for statement, table in writes_of(call) if table == "django_session"]


def sign_in(browser: Any) -> None:
    response = login_with_form(browser, GRANTS_PAGE)
    assert response.status_code == 302, response.content[:300]


def test_the_project_uses_the_engine() -> None:
    assert settings.SESSION_ENGINE == "identity.http.session_store"


def test_a_sign_in_inserts_its_session_row_once_holding_the_user(client, alice) -> None:
    client.get("/account/login")

    assert session_writes(lambda: sign_in(client)) == ["INSERT"]
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert SessionStore(key).load()[SESSION_KEY] == str(alice.pk)
    assert client.get(GRANTS_PAGE).status_code == 200


def test_a_sign_in_moves_an_earlier_session_to_a_new_key_and_deletes_the_old_row(
        client, alice) -> None:
    earlier = client.session
    earlier["kept"] = "from before the sign-in"
    earlier.save()
    old_key = earlier.session_key

    assert sorted(session_writes(lambda: sign_in(client))) == ["DELETE", "INSERT"]
    new_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert new_key != old_key  # no session fixation
    assert not Session.objects.filter(session_key=old_key).exists()
    data = SessionStore(new_key).load()
    assert data["kept"] == "from before the sign-in" and data[SESSION_KEY] == str(alice.pk)


def test_a_sign_in_on_a_stale_cookie_deletes_nothing_and_signs_in(client, alice) -> None:
    client.cookies[settings.SESSION_COOKIE_NAME] = "stale0000000000000000000000000000"
    assert session_writes(lambda: sign_in(client)) == ["INSERT"]
    assert client.cookies[settings.SESSION_COOKIE_NAME].value != "stale0000000000000000000000000000"
    assert client.get(GRANTS_PAGE).status_code == 200


def test_a_drawn_key_in_use_is_drawn_again_never_overwriting_its_row(monkeypatch) -> None:
    theirs = SessionStore()
    theirs["owner"] = "someone else"
    theirs.create()
    drawn = iter([theirs.session_key, "f" * 32])
    monkeypatch.setattr(session_store, "get_random_string", lambda *args: next(drawn))

    mine = SessionStore()
    mine["owner"] = "me"
    mine.save()

    assert mine.session_key == "f" * 32
    assert SessionStore(theirs.session_key).load() == {"owner": "someone else"}
    assert SessionStore("f" * 32).load() == {"owner": "me"}


def test_clearsessions_deletes_expired_rows_only() -> None:
    expired, live = SessionStore(), SessionStore()
    expired.set_expiry(-1)  # already past
    expired["x"] = 1
    expired.save()
    live["x"] = 2
    live.save()

    call_command("clearsessions")

    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
