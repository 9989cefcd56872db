"""Ending one session from several places at once (a sign-out, the admin, the cleanup
command on another node) ends it exactly once: one caller gets it back and tells its clients."""

from __future__ import annotations

import secrets

import pytest
from django.contrib.auth import get_user_model

from identity import clock
from identity.stores import orm_sessions
from tests.races.harness import race, repeat

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True),
              pytest.mark.usefixtures("postgresql_only")]


def test_parallel_ends_of_one_session_end_it_once() -> None:
    user = get_user_model().objects.create_user("racer", password="pw-racer-123")

    def one_round() -> str:
        sid = secrets.token_urlsafe(16)
        now = clock.now()
        orm_sessions.start(sid, user.pk, "http://testserver", "", now, now, None, ("a", "b"))
        ended = race(6, lambda _: None, lambda _: orm_sessions.take(orm_sessions.by_sid(sid)))
        winners = [e for e in ended if e]
        assert len(winners) == 1, ended
        assert winners[0][0].client_ids == ("a", "b")
        return "once"

    repeat(one_round)
