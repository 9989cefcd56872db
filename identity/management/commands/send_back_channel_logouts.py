"""Send again the back-channel logouts that clients did not acknowledge.

Run it every minute or so from cron or a systemd timer. A logout is sent again up to
IDENTITY['BACK_CHANNEL_LOGOUT_RETRIES'] times, waiting BACK_CHANNEL_LOGOUT_RETRY_DELAY seconds
before the first retry and twice as long before each next one, then given up (logged). Several
runners may overlap: each claims the rows it sends.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from identity.http.back_channel_logout import retry_due_logouts


class Command(BaseCommand):
    help = ("Send again the back-channel logouts that are due, up to --limit of them; "
            "give up on those past IDENTITY['BACK_CHANNEL_LOGOUT_RETRIES'].")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=100,
                            help="logouts sent in this run at most (default 100)")

    def handle(self, *args: Any, **options: Any) -> None:
        delivered, kept, given_up = retry_due_logouts(max(1, options["limit"]))
        self.stdout.write(f"{delivered} delivered, {kept} to retry, {given_up} given up")
