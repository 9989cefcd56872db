from __future__ import annotations

from tests.back_channel_logout.conftest import listener  # noqa: F401 - the same listener
