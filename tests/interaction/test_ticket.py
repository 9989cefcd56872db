"""The signed sign-in ticket of the login page's return URL and the used tickets."""

from __future__ import annotations

import time

import pytest
from django.test import RequestFactory

from identity.http import session as sessions
from identity.validation.interaction import require_sign_in


@pytest.fixture
def http(db):
    from django.contrib.sessions.backends.db import SessionStore

    request = RequestFactory().get("/")
    request.session = SessionStore()
    return request


def test_a_ticket_reads_back_as_the_requirement_it_names() -> None:
    requirement = require_sign_in("t1", None, int(time.time()), "d" * 32)
    assert sessions.read_sign_in_ticket(sessions.issue_sign_in_ticket(requirement)) == requirement


@pytest.mark.parametrize("value", [None, "", "x", "a:b:c", "W10:1u:abc"])
def test_a_missing_or_forged_ticket_reads_as_none(value) -> None:
    assert sessions.read_sign_in_ticket(value) is None


def test_a_ticket_signed_for_something_else_reads_as_none() -> None:
    from django.core import signing

    assert sessions.read_sign_in_ticket(signing.dumps(["t1", 1, "", "d"])) is None


def test_an_expired_ticket_reads_as_none(monkeypatch) -> None:
    value = sessions.issue_sign_in_ticket(require_sign_in("t1", None, int(time.time()), "d"))
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + sessions.SIGN_IN_TICKET_LIFETIME + 1)
    assert sessions.read_sign_in_ticket(value) is None


def test_used_tickets_keep_only_the_latest(http) -> None:
    for n in range(sessions.USED_SIGN_INS_KEPT + 3):
        sessions.use_sign_in_ticket(http, f"t{n}")
    sessions.use_sign_in_ticket(http, "t12")  # used again: kept once, as the latest
    used = sessions.used_sign_in_tickets(http)
    assert len(used) == sessions.USED_SIGN_INS_KEPT and used[-1] == "t12"
    assert used[0] == "t3" and used.count("t12") == 1
