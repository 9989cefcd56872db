"""Announce new signing keys now, instead of waiting for the schedule."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from identity import clock
from identity.stores.registry import get_key_ring


class Command(BaseCommand):
    help = ("Create a new signing key for every configured algorithm. By default it is published "
            "now and signs after the propagation time (IDENTITY['KEY_PROPAGATION_TIME']); "
            "with --immediately it signs at once. Older keys stay published, and the tokens "
            "they signed stay valid, until they expire: after a key compromise use "
            "revoke_signing_key instead, which withdraws the key and replaces it.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--immediately", action="store_true",
                            help="sign with the new key at once (the old key stays published "
                                 "and accepted; for a compromise use revoke_signing_key)")

    def handle(self, *args: Any, **options: Any) -> None:
        ring = get_key_ring()
        for key in ring.rotate(immediately=options["immediately"]):
            self.stdout.write(f"{key.algorithm} key {key.kid}: signs from "
                              f"{key.activates_at.isoformat()}, published until "
                              f"{key.expires_at.isoformat()}")
        now = clock.now()
        for key in ring.public_keys():
            self.stdout.write(f"  {key.kid} {key.algorithm} {key.state(now)}")
