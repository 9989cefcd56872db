"""Single-use values (assertion and DPoP proof `jti`s), remembered across processes and hosts.

A value is kept until the message that carried it can no longer be accepted anyway; a second
use within that time is refused. Kept in Django's cache when every process shares it (an atomic
`add`), otherwise in the database, with the failure counters (`orm_throttle`): the same rule as
the brute-force throttle, so the guarantee holds for two gunicorn workers on the default
configuration. An outage of the store refuses the request (503) rather than accept a replay.
"""

from __future__ import annotations

import hashlib
import math

from django.core.cache import caches

from identity import clock
from identity.conf import identity_settings
from identity.freshness import cache_is_shared


def first_use(kind: str, value: str, until: float) -> bool:
    """Record `value` of `kind` as used until the epoch time `until`; tell whether this was its
    first use."""
    # Hashed: values are caller input, of any length and any characters.
    digest = hashlib.sha256(f"{kind}\x00{value}".encode()).hexdigest()
    key = f"identity:seen:v1:{digest[:40]}"
    now = clock.now()
    lifetime = max(1, math.ceil(until - now.timestamp()) + 1)
    if cache_is_shared():
        return bool(caches[identity_settings.CACHE_ALIAS].add(key, 1, lifetime))
    from identity.stores.orm_throttle import claim

    return claim(key, lifetime, now)
