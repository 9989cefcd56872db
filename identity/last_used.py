"""Throttled "client last used" events: at most one per client per interval per process."""

from __future__ import annotations

import threading
import time

from identity import signals
from identity.conf import identity_settings

_last_sent: dict[str, float] = {}
_lock = threading.Lock()


def note_client_use(client_id: str) -> None:
    """Send `client_used` unless this process sent it for the client within the interval."""
    now = time.monotonic()
    last = _last_sent.get(client_id)
    if last is not None and now - last < identity_settings.LAST_USED_INTERVAL:
        return
    with _lock:
        if len(_last_sent) > 100_000:  # bound memory under many distinct clients
            _last_sent.clear()
        _last_sent[client_id] = now
    signals.client_used.send(note_client_use, client_id=client_id)
