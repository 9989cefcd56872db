"""The device authorization grant as the protocol sees it: one record per device request.

Spec: RFC 8628 §3.2 (device code, user code, interval), §3.3 (the user decides), §3.5 (polling).
Both codes are kept only as hashes: `device_key` is the SHA-256 of the device code, `user_key`
the SHA-256 of the normalised user code (the database store keys it again with SECRET_KEY).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

PENDING: Final = "pending"
APPROVED: Final = "approved"
DENIED: Final = "denied"
# The `Redemption.action` of an approved request: consumed in the device store, not among the
# persisted grants.
CONSUME_DEVICE: Final = "consume_device"


@dataclass(frozen=True, slots=True)
class DeviceAuthorization:
    """A device's request, and what the user decided about it.

    `interval` is the current polling interval in seconds (it grows with each slow_down);
    `last_polled` the time of the previous poll. Once decided, `subject_id` and the session
    fields name the user who decided, and `granted_scopes` what they approved.
    """

    device_key: str
    user_key: str
    client_id: str
    scopes: tuple[str, ...]
    created: datetime
    expires: datetime
    interval: int
    status: str = PENDING
    last_polled: datetime | None = None
    subject_id: str = ""
    session_id: str = ""
    auth_time: int | None = None
    amr: tuple[str, ...] = ()
    granted_scopes: tuple[str, ...] = ()
    consumed: datetime | None = None

    def is_expired(self, now: datetime) -> bool:
        """Tell whether the codes are past their lifetime at `now`."""
        return self.expires <= now
