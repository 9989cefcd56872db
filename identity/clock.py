"""The server's one clock, so that tests can move time.

Everything that asks the time asks here. `now()` reads `time.time()`, so a test may move the
clock by replacing either `clock.now` or `time.time`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.fromtimestamp(time.time(), UTC)


def timestamp() -> int:
    """Return the current time in whole seconds since the epoch (JWT `iat`, `auth_time`)."""
    return int(now().timestamp())
