"""Withdraw compromised signing keys at once, on every server process."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import router, transaction

from identity import clock
from identity.constants import SIGNING_ALGORITHMS
from identity.models import SigningKey
from identity.stores.registry import get_key_ring


class Command(BaseCommand):
    help = ("Revoke signing keys by key ID (the JWKS 'kid'; the admin lists them), after a "
            "compromise; write -- before the key IDs, since one may start with '-'. "
            "IRREVERSIBLE. At its next request every server process stops "
            "publishing the keys in the JWKS, refuses the tokens they signed (userinfo, "
            "introspection, end-session id_token_hint) and never signs with them again; where a "
            "revoked key was signing, a new key is created that signs at once. APIs that verify "
            "tokens with a cached copy of the JWKS must fetch it again.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kids", nargs="+", metavar="KID", help="key ID of a key to revoke")

    def handle(self, *args: Any, **options: Any) -> None:
        kids = list(dict.fromkeys(options["kids"]))
        ring = get_key_ring()
        # One transaction: the keys are revoked together with their replacement, or not at all.
        with transaction.atomic(using=router.db_for_write(SigningKey)):
            # Every algorithm: a key of one no longer configured may still need revoking.
            known = {key.kid: key.revoked_at for algorithm in sorted(SIGNING_ALGORITHMS)
                     for key in ring.store.keys(algorithm) if key.kid in kids}
            unknown = [kid for kid in kids if kid not in known]
            if unknown:
                raise CommandError(f"no signing key with kid {', '.join(unknown)}; nothing "
                                   "revoked")
            revoked, created = ring.revoke(kids)
        for kid in kids:
            revoked_at = known[kid]
            if revoked_at is not None:
                self.stdout.write(f"{kid}: already revoked at {revoked_at.isoformat()}")
        for key in revoked:
            self.stdout.write(f"{key.algorithm} key {key.kid}: revoked")
        for key in created:
            self.stdout.write(f"{key.algorithm} key {key.kid}: created, signs from now, "
                              f"published until {key.expires_at.isoformat()}")
        now = clock.now()
        for key in ring.public_keys():
            self.stdout.write(f"  {key.kid} {key.algorithm} {key.state(now)}")
