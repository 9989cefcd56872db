"""Delete expired and consumed persisted grants in small batches, safe while the server runs,
expired device authorizations, signing keys that left the JWKS, and expired failure counters;
and end expired sign-in sessions, which sends their back-channel logouts.

Run it periodically (e.g. hourly from cron or a systemd timer). Each batch is its own short
transaction, so it never holds locks for long and can be stopped at any time.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.db.models import QuerySet

from identity import clock
from identity.domain.grants import GRANT_REFRESH_TOKEN
from identity.http import server_side_sessions
from identity.models import PersistedGrant, ServerSideSession
from identity.stores import orm_sessions
from identity.stores.orm_devices import delete_expired as delete_expired_devices
from identity.stores.orm_throttle import delete_expired as delete_expired_counters
from identity.stores.registry import get_signing_key_store

SESSION_BATCH = 500


Keys = QuerySet[PersistedGrant, str]


def stale_grants(now: datetime, consumed_grace: timedelta) -> tuple[Keys, Keys]:
    """Return the keys of the grants the cleanup deletes, oldest first: expired, and consumed
    longer than `consumed_grace` ago.

    Two queries, each read in the order of an index of its own (grant_expires_idx, and the
    partial grant_consumed_idx). One "expired OR consumed" condition can use neither; and
    without the order, PostgreSQL, whose statistics still count the rows deleted by earlier
    batches as stale, reads the table from the start for each batch, and the whole table for
    the last, empty one. Rotated refresh tokens stay until they expire: a late reuse must
    still be recognised and revoke its family (RFC 9700 §4.14.2).
    """
    rows = PersistedGrant.objects
    return (rows.filter(expires__lt=now).order_by("expires").values_list("pk", flat=True),
            rows.filter(consumed__lt=now - consumed_grace).exclude(type=GRANT_REFRESH_TOKEN)
            .order_by("consumed").values_list("pk", flat=True))


class Command(BaseCommand):
    help = ("Delete persisted grants that expired, and codes consumed longer ago than "
            "--consumed-grace, in batches of --batch-size. Rotated refresh tokens are kept "
            "until they expire, so that a late reuse still revokes its family. Expired device "
            "authorizations, and signing keys "
            "past their expiry (revoked ones included) are deleted too. Expired sign-in "
            "sessions are ended, with back-channel logouts to their clients.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument("--consumed-grace", type=int, default=300,
                            help="seconds a consumed grant is kept, so that a replay is still "
                                 "recognised and revokes its family (default 300)")
        parser.add_argument("--pause", type=float, default=0.0,
                            help="seconds to sleep between batches, to spare a busy database")

    def handle(self, *args: Any, **options: Any) -> None:
        size = max(1, options["batch_size"])
        now = clock.now()
        total = 0
        for stale in stale_grants(now, timedelta(seconds=max(0, options["consumed_grace"]))):
            while True:
                with transaction.atomic():
                    keys = list(stale[:size])
                    if not keys:
                        break
                    deleted, _ = PersistedGrant.objects.filter(pk__in=keys).delete()
                total += deleted
                if options["verbosity"] > 1:
                    self.stdout.write(f"  {total} deleted")
                if options["pause"]:
                    time.sleep(options["pause"])
        self.stdout.write(f"{total} expired or consumed grants deleted")
        devices = 0
        while deleted_now := delete_expired_devices(now, size):
            devices += deleted_now
            if options["pause"]:
                time.sleep(options["pause"])
        if devices:  # a line only when the device flow left something, as for counters below
            self.stdout.write(f"{devices} expired device authorizations deleted")
        sessions = self._end_expired_sessions(now, size, options["pause"])
        if sessions:
            self.stdout.write(f"{sessions} expired sign-in sessions ended")
        # A handful of rows at most: one statement. Revoked keys are kept until they would
        # have expired, so that the admin can still tell what a revoked kid was.
        expired_keys = get_signing_key_store().delete_expired(now)
        self.stdout.write(f"{expired_keys} expired signing keys deleted")
        counters = delete_expired_counters(now)
        if counters:  # only servers whose cache is not shared count failures in the database
            self.stdout.write(f"{counters} expired failure counters deleted")

    def _end_expired_sessions(self, now: datetime, size: int, pause: float) -> int:
        # Smaller batches: each ended session may mean back-channel POSTs before the next.
        size = min(size, SESSION_BATCH)
        total = 0
        while True:
            batch = list(orm_sessions.expired(now, *server_side_sessions.lifetimes())
                         .order_by("pk").values_list("pk", flat=True)[:size])
            if not batch:
                return total
            ended = server_side_sessions.end(ServerSideSession.objects.filter(pk__in=batch),
                                             expired=True)
            if not ended:  # another runner took them all meanwhile
                return total
            total += len(ended)
            if pause:
                time.sleep(pause)
