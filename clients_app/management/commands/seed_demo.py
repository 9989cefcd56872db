"""Load the reference document's two demo clients, their scopes, and a demo user."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from clients_app.importing import import_document
from clients_app.mapping import real_models
from identity.config_document import parse_json

DEMO_FILE = Path(__file__).resolve().parents[2] / "demo_clients.json"
DEMO_USER = "alice"
DEMO_PASSWORD = "alice-demo-password"  # noqa: S105 - documented demo credential
ADMIN_USER = "admin"
# Where demo/relying_party.py and demo/api.py listen by default; demo_clients.json registers
# the relying party's URIs under RP_URL.
RP_URL = "http://localhost:21402"
API_URL = "http://localhost:5002"


class Command(BaseCommand):
    help = ("Create the demo clients service.client and interactive (secret \"secret\"), the "
            "scopes api1 and api2.read_only, and the demo user alice. For local trials only.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default="http://127.0.0.1:8000",
                            help="the URL the server will answer at (printed)")
        parser.add_argument("--rp-url", default=RP_URL,
                            help="the sample relying party's URL: the interactive client's "
                                 f"redirect and logout URIs are registered under it ({RP_URL})")
        parser.add_argument("--api-url", default=API_URL,
                            help=f"the sample API's URL (printed; {API_URL})")
        parser.add_argument("--admin", action="store_true",
                            help=f"also create the superuser {ADMIN_USER} with a random "
                                 "password, printed once")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        rp_url = options["rp_url"].rstrip("/")
        # The relying party may run elsewhere (the tests pick a free port): register its URIs.
        text = DEMO_FILE.read_text(encoding="utf-8").replace(RP_URL, rp_url)
        report = import_document(parse_json(text, str(DEMO_FILE)), real_models())
        user, created = get_user_model().objects.get_or_create(
            username=DEMO_USER, defaults={"email": "alice@example.com", "first_name": "Alice",
                                         "last_name": "Smith"})
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        url = options["url"].rstrip("/")
        self.stdout.write(f"demo data: {report.summary()}\n"
                          f"\n  open:           {rp_url}/  (the sample application, "
                          f"demo/relying_party.py: sign in as {DEMO_USER})\n"
                          f"  server:         {url}/\n"
                          f"  discovery:      {url}/.well-known/openid-configuration\n"
                          f"  admin:          {url}/admin/ (create a user with createsuperuser)\n"
                          f"  service client: service.client / secret  "
                          f"(client_credentials; scopes api1 api2.read_only)\n"
                          f"  interactive:    interactive / secret  (authorization_code, "
                          f"redirect {rp_url}/signin-oidc)\n"
                          f"  demo user:      {DEMO_USER} / {DEMO_PASSWORD}\n"
                          f"  sample API:     {options['api_url'].rstrip('/')}/identity  "
                          f"(demo/api.py; Bearer token with scope api1)\n")
        if options["admin"]:
            self.stdout.write(f"  admin user:     {self._admin()}\n")

    def _admin(self) -> str:
        users = get_user_model().objects
        if users.filter(username=ADMIN_USER).exists():
            # The password was printed when it was made; it is not stored in clear anywhere.
            return (f"{ADMIN_USER} (exists; set a new password with "
                    f"`manage.py changepassword {ADMIN_USER}`)")
        password = secrets.token_urlsafe(12)
        users.create_superuser(ADMIN_USER, "admin@example.com", password)
        return f"{ADMIN_USER} / {password}  (shown once: note it)"
