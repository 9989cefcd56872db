"""Load the reference document's two demo clients, their scopes, and a demo user."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from clients_app.importing import import_document
from clients_app.mapping import real_models
from identity.config_document import load_document

DEMO_FILE = Path(__file__).resolve().parents[2] / "demo_clients.json"
DEMO_USER = "alice"
DEMO_PASSWORD = "alice-demo-password"  # noqa: S105 - documented demo credential


class Command(BaseCommand):
    help = ("Create the demo clients service.client and interactive (secret \"secret\"), the "
            "scopes api1 and api2.read_only, and the demo user alice. For local trials only.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000",
                            help="the URL the server will answer at (printed)")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        report = import_document(load_document(DEMO_FILE), real_models())
        user, created = get_user_model().objects.get_or_create(
            username=DEMO_USER, defaults={"email": "alice@example.com", "first_name": "Alice",
                                         "last_name": "Smith"})
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        url = options["url"].rstrip("/")
        self.stdout.write(f"demo data: {report.summary()}\n"
                          f"\n  server:         {url}/\n"
                          f"  discovery:      {url}/.well-known/openid-configuration\n"
                          f"  admin:          {url}/admin/ (create a user with createsuperuser)\n"
                          f"  service client: service.client / secret  "
                          f"(client_credentials; scopes api1 api2.read_only)\n"
                          f"  interactive:    interactive / secret  (authorization_code, "
                          f"redirect http://localhost:21402/signin-oidc)\n"
                          f"  demo user:      {DEMO_USER} / {DEMO_PASSWORD}\n")
