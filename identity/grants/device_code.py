"""The device authorization grant: the device polls with its device code until the user decides.

Spec: RFC 8628 §3.4 (the request), §3.5 (authorization_pending, slow_down, access_denied,
expired_token; the interval grows by 5 seconds on slow_down and stays grown), §5.2 (a device
code is bound to its client); OpenID Connect Core §3.1.3.3 (ID token) and §11 (offline_access),
as for the code flow.

A pending poll reads the request's one row and writes that row once: the time of the poll,
which the next poll is measured against, in every process. It is written even though the poll
is refused (the pipeline commits refusals), and it is not the grant's redemption: an approved
request is consumed once by the pipeline, with one conditional update, in the transaction that
stores what is issued; parallel polls after approval get one success.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

from identity.constants import DEVICE_CODE, SLOW_DOWN_INCREMENT, GrantType
from identity.domain.client import Client
from identity.domain.device import (
    APPROVED,
    CONSUME_DEVICE,
    DENIED,
    PENDING,
    DeviceAuthorization,
)
from identity.domain.grants import PersistedGrant
from identity.domain.requests import Redemption, UserSession, ValidatedTokenRequest
from identity.errors import (
    AccessDenied,
    AuthorizationPending,
    ExpiredToken,
    InvalidGrant,
    InvalidRequest,
    SlowDown,
    UnauthorizedClient,
)
from identity.grants.handler import ACCESS_TOKEN, ID_TOKEN, REFRESH_TOKEN, TokenRequestContext
from identity.grants.handles import handle_key
from identity.stores.interfaces import DeviceFlowStore
from identity.validation.scopes import resolve_user_scopes, still_allowed

GRANT_DEVICE_CODE: Final = "device_code"
_INVALID: Final = "the device code is invalid or already used"
# Polls arriving up to this much early still count as on time: requests sent exactly one
# interval apart reach the server with the network's jitter.
POLL_TOLERANCE: Final = timedelta(seconds=1)


class DeviceCodeGrant:
    """`grant_type=urn:ietf:params:oauth:grant-type:device_code`."""

    grant_type: Final = GrantType.DEVICE_CODE.value
    parameters: Final = frozenset({DEVICE_CODE})
    redeems: Final = GRANT_DEVICE_CODE
    issues: Final = frozenset({ACCESS_TOKEN, REFRESH_TOKEN, ID_TOKEN})

    def client_may_use(self, client: Client) -> bool:
        """Tell whether the client lists the grant."""
        return self.grant_type in client.allowed_grant_types

    def validate(self, params: Mapping[str, str], client: Client,
                 context: TokenRequestContext) -> ValidatedTokenRequest:
        """Answer a poll: pending, slow down, denied, expired, or the user's approval, once."""
        device_code = params.get(DEVICE_CODE)
        if not device_code:
            raise InvalidRequest("device_code is missing")
        devices = _store(context)
        key = handle_key(device_code)
        record = devices.by_device_code(key)
        if record is None:
            raise InvalidGrant(_INVALID, detail="unknown device code")
        if record.client_id != client.client_id:  # RFC 8628 §5.2: bound to its client
            raise InvalidGrant(_INVALID, detail=f"device code of {record.client_id!r} "
                                                f"presented by {client.client_id!r}")
        if record.consumed is not None:
            raise InvalidGrant(_INVALID, detail="already redeemed")
        if record.is_expired(context.now):
            raise ExpiredToken("the device code has expired; start a new device authorization")
        if record.status == DENIED:
            raise AccessDenied("the user denied the request")
        if record.status == PENDING:
            _pending(record, devices, context.now)
        if record.status != APPROVED:
            raise InvalidGrant(_INVALID, detail=f"unknown status {record.status!r}")
        return _approved(record, client, context, key)


def _store(context: TokenRequestContext) -> DeviceFlowStore:
    if context.devices is None:
        raise UnauthorizedClient("the device flow is not available at this endpoint")
    return context.devices


def _pending(record: DeviceAuthorization, devices: DeviceFlowStore, now: datetime) -> None:
    """Record the poll and refuse it: slow_down when it came too early, else pending."""
    seen = record.last_polled
    if seen is not None and now - seen < timedelta(seconds=record.interval) - POLL_TOLERANCE:
        interval = record.interval + SLOW_DOWN_INCREMENT
        devices.record_poll(record.device_key, seen, now, interval)
        raise SlowDown(f"poll at most every {interval} seconds")
    if not devices.record_poll(record.device_key, seen, now, record.interval):
        # Another poll of the same code was recorded since this one read it: two at once.
        raise SlowDown(f"poll at most every {record.interval} seconds")
    raise AuthorizationPending("the user has not decided yet")


def _approved(record: DeviceAuthorization, client: Client, context: TokenRequestContext,
              key: str) -> ValidatedTokenRequest:
    if not context.users.is_active(record.subject_id):
        raise InvalidGrant("the user is no longer active")
    # What the configuration took away since the user approved is not granted (RFC 6749 §3.3).
    scopes, _ = still_allowed(record.granted_scopes, client, context.resources)
    if not scopes:
        raise InvalidGrant("the device code no longer grants any scope",
                           detail="every approved scope was removed from the configuration")
    session = UserSession(record.subject_id, record.auth_time or 0, record.session_id,
                          record.amr or ("pwd",))
    # The tokens issued join the family named by the device code, like a code's.
    grant = PersistedGrant(key=key, type=GRANT_DEVICE_CODE, client_id=client.client_id,
                           data={}, created=record.created, expires=record.expires,
                           subject_id=record.subject_id, session_id=record.session_id)
    return ValidatedTokenRequest(
        client=client, grant_type=GrantType.DEVICE_CODE.value, scopes=scopes,
        resources=resolve_user_scopes(scopes, context.resources), subject=record.subject_id,
        session=session, grant=grant,
        redemption=Redemption(key=key, family=key, refusal=_INVALID, action=CONSUME_DEVICE))
