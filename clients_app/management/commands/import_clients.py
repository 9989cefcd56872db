"""Upsert clients, scopes and resources from an IdentityServer JSON document."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from clients_app.importing import import_document
from clients_app.mapping import real_models
from identity.config_document import ConfigDocumentError, load_document


class Command(BaseCommand):
    help = ("Create or update clients (by ClientId) and scopes and resources (by Name) from an "
            "IdentityServer appsettings-style JSON file, in one transaction. Comments and "
            "trailing commas are accepted as in appsettings.json, and so is the section pasted "
            "as a bare member (\"IdentityServer\": {...} without outer braces).")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="path of the JSON document (appsettings.json style)")
        parser.add_argument("--dry-run", action="store_true",
                            help="print what would change, field by field, and write nothing")
        parser.add_argument("--prune", action="store_true",
                            help="delete clients, scopes and resources the file does not name")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            document = load_document(options["file"])
            for note in document.notes:
                self.stderr.write(f"note: {note}")
            report = import_document(document, real_models(), prune=options["prune"],
                                     dry_run=options["dry_run"])
        except ConfigDocumentError as exc:
            raise CommandError("nothing was imported:\n  " + "\n  ".join(exc.problems)) from None
        except DatabaseError as exc:
            raise CommandError(f"nothing was imported, the database refused a write: {exc}. "
                               f"Is the schema migrated (manage.py migrate)?") from None
        verbose = options["dry_run"] or options["verbosity"] > 1
        for change in report.changes:
            lines = list(change.describe())
            for line in lines if verbose else lines[:1]:
                self.stdout.write(line)
        prefix = "dry run, nothing written: would be " if options["dry_run"] else ""
        self.stdout.write(prefix + report.summary())
