"""Fixtures of the device flow tests: device clients seeded, a clock the tests can move."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from identity.http import session  # noqa: F401  (records sid and auth_time at sign-in)
from tests.device.support import device_client, public_device_client
from tests.helpers.seeding import reference_clients


@pytest.fixture
def devices(seeded: Callable[..., None]) -> None:
    """Seed the reference clients and the device clients tv (confidential), tv.public and
    tv.other (another confidential device client)."""
    seeded(*reference_clients(), device_client(), public_device_client(),
           device_client("tv.other"))


class Clock:
    """Time as the server sees it (`identity.clock.now`), moved by the test."""

    def __init__(self) -> None:
        self.now = time.time()

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Freeze the server's clock; `clock.advance(s)` moves it."""
    frozen = Clock()
    monkeypatch.setattr("identity.clock.now", lambda: datetime.fromtimestamp(frozen.now, UTC))
    return frozen


@pytest.fixture
def signed_in(client: Any, alice: Any) -> Any:
    """The test client, signed in as alice."""
    from tests.helpers.flow import login

    login(client)
    return client
