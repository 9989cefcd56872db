"""Print the stored form of a secret: the equivalent of IdentityServer's `"secret".Sha256()`."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from identity.hashing import generate_secret, hash_secret


class Command(BaseCommand):
    help = ("Print the Base64 SHA-256 (or SHA-512) hash of a secret, the value that goes in "
            "ClientSecrets[].Value. Reads the secret from standard input or a prompt, so it stays "
            "out of shell history; --generate makes a new random one.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sha512", action="store_true", help="hash with SHA-512")
        parser.add_argument("--generate", action="store_true",
                            help="generate a 256-bit secret, print it once, then its hash")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["generate"]:
            plaintext = generate_secret()
            self.stdout.write(f"secret: {plaintext}")
        elif sys.stdin.isatty():
            plaintext = getpass.getpass("Secret: ")
        else:
            plaintext = sys.stdin.readline().rstrip("\r\n")
        if not plaintext:
            raise CommandError("no secret given: type it at the prompt or pipe it in.")
        digest = hash_secret(plaintext, "sha512" if options["sha512"] else "sha256")
        self.stdout.write(digest if not options["generate"] else f"hash:   {digest}")
