"""Start a device authorization: draw the two codes and store the request.

Spec: RFC 8628 §3.2 (device_code, user_code, expires_in, interval), §5.1 and §6.1 (user codes:
short, unambiguous, unique among live codes); IdentityServer's DeviceCodeLifetime,
UserCodeType and PollingInterval.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from identity.constants import DEFAULT_POLLING_INTERVAL
from identity.domain.client import Client
from identity.domain.device import DeviceAuthorization
from identity.errors import ServerError
from identity.grants.handles import handle_key, new_handle
from identity.stores.interfaces import DeviceFlowStore
from identity.validation.user_code import new_user_code, user_code_key

# Draws of a user code before giving up: with 2^34 codes a collision among live ones is rare,
# several in a row mean the space is exhausted (or the store is failing).
_ATTEMPTS: Final = 10


@dataclass(frozen=True, slots=True)
class IssuedDeviceCodes:
    """What the device is told: its code, the user's code, their lifetime and the interval."""

    device_code: str
    user_code: str
    expires_in: int
    interval: int


def polling_interval(client: Client) -> int:
    """Return the client's PollingInterval, or the RFC's default of 5 seconds."""
    return client.polling_interval or DEFAULT_POLLING_INTERVAL


def start_device_authorization(client: Client, scopes: tuple[str, ...],
                               store: DeviceFlowStore, now: datetime) -> IssuedDeviceCodes:
    """Store a new pending request for `scopes`; return the codes to hand to the device."""
    lifetime = client.device_code_lifetime
    interval = polling_interval(client)
    device_code = new_handle()  # 256 random bits: the device's secret
    for _ in range(_ATTEMPTS):
        user_code = new_user_code(client.user_code_type)
        record = DeviceAuthorization(
            device_key=handle_key(device_code), user_key=user_code_key(user_code),
            client_id=client.client_id, scopes=scopes, created=now,
            expires=now + timedelta(seconds=lifetime), interval=interval)
        if store.create(record, now):
            return IssuedDeviceCodes(device_code, user_code, lifetime, interval)
    raise ServerError("no free user code", detail=f"{_ATTEMPTS} user codes drawn were in use")
