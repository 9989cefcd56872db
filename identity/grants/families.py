"""Families and replays: every token descending from one code is revoked together.

Spec: RFC 9700 §4.2.4 (a code used twice revokes what it issued) and §4.14.2 (a rotated refresh
token used again revokes its family). A family is named by the key of the code it started from
(or of a refresh token issued before families existed); JWT access tokens of the family are
recorded with it, so that removing the family puts them on the deny list.

A replay and the first redemption can run at the same time, in two processes. The replay
removes the presented grant first and the family second; the winner stores what it issues and
then checks that the grant it redeemed still exists (`revoke_if_parent_gone`). Whichever of the
two finishes last sees the other's work, so nothing issued from a replayed grant survives.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from identity.domain.device import CONSUME_DEVICE
from identity.domain.grants import PersistedGrant
from identity.domain.requests import Redemption, ValidatedTokenRequest
from identity.stores.interfaces import PersistedGrantStore

logger = logging.getLogger(__name__)


def family_of(grant: PersistedGrant | None) -> str:
    """Return the family a token issued from `grant` joins ("" for a client's own token)."""
    return (grant.family or grant.key) if grant is not None else ""


def forgiven(consumed: datetime | None, now: datetime, grace: int) -> bool:
    """Tell whether a second use of a grant consumed at `consumed` falls within `grace` seconds
    of the first (concurrent refreshes both succeed)."""
    return consumed is not None and grace > 0 and now - consumed <= timedelta(seconds=grace)


def revoke_replayed(grants: PersistedGrantStore, key: str, family: str, client_id: str) -> int:
    """Remove a replayed grant, then its family; return how many grants were revoked."""
    grants.remove(key)  # first: see the module's docstring
    removed = grants.remove_family(family or key)
    logger.warning("grant replayed by client %s: %d grants revoked", client_id, removed)
    return removed


def revoke_family(grants: PersistedGrantStore, grant: PersistedGrant) -> int:
    """Revoke a grant and every token of its family (a refresh token given back, an admin)."""
    removed = grants.remove_family(family_of(grant))
    grants.remove(grant.key)
    return removed


def revoke_if_parent_gone(request: ValidatedTokenRequest, grants: PersistedGrantStore) -> None:
    """Revoke what was just issued if a replay removed the redeemed grant meanwhile."""
    redemption: Redemption | None = request.redemption
    if redemption is None or redemption.action in ("remove", CONSUME_DEVICE):
        # Nothing redeemed, removed on purpose by this very request, or a device request
        # (consumed once in its own store, which no replay removes).
        return
    if grants.get(redemption.key) is None:  # replayed (or revoked) while we were issuing
        grants.remove_family(redemption.family or redemption.key)
