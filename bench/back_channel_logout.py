#!/usr/bin/env python
"""Benchmark the time a person waits to be signed out when clients use back-channel logout.

In one process, on SQLite in a temporary folder (DEBUG off, local-memory cache), through
Django's test client: alice signs in to 10 clients that each registered a BackChannelLogoutUri
on a loopback HTTP listener, then signs out at the end-session endpoint with an ID token hint.
The time from sending that request to its response is measured, in two scenarios:

    alive    all 10 listeners answer 200 at once
    one dead one of the 10 accepts the connection and never answers (the others answer 200)

    .venv/bin/python bench/back_channel_logout.py [--runs 15] [--timeout 2]

It prints the machine, median and p95 per scenario, and how many logouts each scenario left
for the retry command (the dead client's, one per run).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
CLIENTS = 10


def _setup(folder: str, timeout: float) -> None:
    os.environ.update({"DJANGO_SETTINGS_MODULE": "settings.settings", "SECRET_KEY": "bench",
                       "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3", "DEBUG": "off",
                       "LOG_LEVEL": "ERROR"})
    for name in ("CACHE_URL", "IDENTITY_ISSUER", "ENV_FILE", "IDENTITY_CLIENTS_FILE"):
        os.environ.pop(name, None)
    import django
    from django.conf import settings

    django.setup()
    settings.IDENTITY = {**settings.IDENTITY, "BACK_CHANNEL_LOGOUT_TIMEOUT": timeout}
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()  # allows the test client's host
    call_command("migrate", verbosity=0)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--timeout", type=float, default=2.0,
                        help="IDENTITY['BACK_CHANNEL_LOGOUT_TIMEOUT'] in seconds (default 2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-bcl-") as folder:
        _setup(folder, args.timeout)
        _run(args.runs, args.timeout)


def _run(runs: int, timeout: float) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client as Browser

    from identity.models import BackChannelLogout
    from tests.back_channel_logout.listener import Listener
    from tests.factories import make_interactive_client
    from tests.helpers.flow import sign_in_to
    from tests.helpers.seeding import seed

    alive, dead = Listener().start(), Listener().start()
    dead.mode = "hang"
    ports = [21600 + i for i in range(CLIENTS)]
    seed([make_interactive_client(
        f"app{i}", redirect_uris=(f"http://localhost:{port}/signin-oidc",),
        back_channel_logout_uri=(dead if i == 0 else alive).url(f"/app{i}"))
        for i, port in enumerate(ports)])
    get_user_model().objects.create_user("alice", password="pw-alice-123")
    results: dict[str, list[float]] = {}
    left: dict[str, int] = {}
    try:
        for scenario in ("alive", "one dead"):
            dead.mode = "ok" if scenario == "alive" else "hang"
            before = BackChannelLogout.objects.count()
            times = []
            for _ in range(runs):
                browser = Browser()
                browser.login(username="alice", password="pw-alice-123")
                hint = ""
                for i, port in enumerate(ports):
                    hint = sign_in_to(browser, f"app{i}",
                                      f"http://localhost:{port}/signin-oidc")["id_token"]
                started = time.perf_counter()
                response = browser.get("/connect/endsession?" + urlencode({"id_token_hint": hint}))
                times.append(time.perf_counter() - started)
                assert response.status_code == 200, response.status_code
            results[scenario] = times
            left[scenario] = BackChannelLogout.objects.count() - before
    finally:
        alive.stop()
        dead.stop()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {platform.system()} {platform.release()}")
    print(f"{CLIENTS} back-channel clients, {runs} sign-outs per scenario, "
          f"BACK_CHANNEL_LOGOUT_TIMEOUT={timeout:g} s")
    print(f"{'scenario':<10} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'kept':>5}")
    for scenario, times in results.items():
        print(f"{scenario:<10} {statistics.median(times) * 1000:>10.1f} "
              f"{_percentile(times, 0.95) * 1000:>8.1f} {max(times) * 1000:>8.1f} "
              f"{left[scenario]:>5}")


if __name__ == "__main__":
    main()
