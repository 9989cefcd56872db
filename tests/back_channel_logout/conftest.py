from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.back_channel_logout.listener import Listener


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener().start()
    yield server
    server.stop()
