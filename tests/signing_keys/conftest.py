"""Fixtures of the signing-key tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from identity import clock

T0 = datetime(2027, 1, 1, tzinfo=UTC)


@pytest.fixture
def now(monkeypatch):
    """The server's clock at T0; set state["now"] to move it."""
    state = {"now": T0}
    monkeypatch.setattr(clock, "now", lambda: state["now"])
    return state
