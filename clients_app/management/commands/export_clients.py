"""Write clients, scopes and resources in the import format, sorted for clean diffs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from clients_app.exporting import export_document


class Command(BaseCommand):
    help = ("Print the clients (all, or those named) and every scope and resource as an "
            "IdentityServer JSON document that import_clients reads back unchanged.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("client_ids", nargs="*", metavar="CLIENT_ID")

    def handle(self, *args: Any, **options: Any) -> None:
        ids = options["client_ids"]
        text, missing = export_document(ids or None)
        if missing:
            raise CommandError(f"no client with id {', '.join(map(repr, missing))}.")
        self.stdout.write(text, ending="")
