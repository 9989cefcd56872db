#!/usr/bin/env python
"""Resident memory of a gunicorn sync worker of this server, idle and after token requests.

    .venv/bin/python bench/worker_memory.py [--requests 200] [--workers 2]

Starts gunicorn (`settings.wsgi`, sync workers, a free 127.0.0.1 port) on SQLite in a temporary
folder with DEBUG off and the local-memory cache, two clients imported with
`manage.py import_clients` (one receiving JWT access tokens, one reference tokens, which are
stored as persisted grants), and reads each worker's VmRSS from /proc/PID/status: once the server
answers, after --requests client-credentials token requests (half for each client), and after
five times as many more (to see whether it keeps growing). The report is printed and written
to bench/results/worker_memory-DATE.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: `bench` and `tests.helpers` import
    sys.path.insert(0, str(ROOT))

from bench import harness  # noqa: E402

SECRET_SHA256 = "K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols="  # Base64(SHA-256("secret"))
CLIENTS = {"IdentityServer": {
    "ApiScopes": [{"Name": "api1"}],
    "ApiResources": [{"Name": "api1", "Scopes": ["api1"],
                      "ApiSecrets": [{"Value": SECRET_SHA256}]}],
    "Clients": [
        {"ClientId": "memory.jwt", "ClientSecrets": [{"Value": SECRET_SHA256}],
         "AllowedGrantTypes": ["client_credentials"], "AllowedScopes": ["api1"]},
        {"ClientId": "memory.reference", "ClientSecrets": [{"Value": SECRET_SHA256}],
         "AllowedGrantTypes": ["client_credentials"], "AllowedScopes": ["api1"],
         "AccessTokenType": "Reference"},
    ],
}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--workers", type=int, default=harness.WORKERS)
    args = parser.parse_args(argv)
    harness.WORKERS = args.workers
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        work = Path(tmp)
        (work / "empty.env").touch()
        env = harness.environment_without(harness.SETTINGS_ENV)
        env.update({"DJANGO_SETTINGS_MODULE": "settings.settings",
                    "ENV_FILE": str(work / "empty.env"),
                    "DATABASE_URL": f"sqlite:///{work / 'identity.sqlite3'}",
                    "CACHE_URL": "locmemcache://identity", "DEBUG": "False",
                    "SECRET_KEY": "bench-" + secrets.token_urlsafe(40),
                    "IDENTITY_CLIENTS_FILE": "", "PYTHONDONTWRITEBYTECODE": "1"})
        document = work / "clients.json"
        document.write_text(json.dumps(CLIENTS))
        harness.manage(env, "migrate", "--noinput")
        harness.manage(env, "import_clients", str(document))
        server = harness.start_server("worker-memory", env, work / "gunicorn.log")
        try:
            master = server.process.pid
            workers = harness.worker_pids(master)
            readings = {"answering, before the token requests": _rss(workers)}
            counts = {"answering, before the token requests": 0}
            sent = 0
            for label, n in ((f"after {args.requests}", args.requests),
                             (f"after {args.requests * 6}", args.requests * 5)):
                for i in range(n):
                    client = "memory.jwt" if i % 2 else "memory.reference"
                    status, body = harness.post_form(
                        f"{server.base}/connect/token",
                        {"grant_type": "client_credentials", "scope": "api1"},
                        auth=(client, "secret"))
                    if status != 200 or b"access_token" not in body:
                        raise harness.BenchError(f"token request answered {status}: "
                                                 f"{body[:300]!r}")
                sent += n
                readings[label] = _rss(workers)
                counts[label] = sent
            master_kib = harness.rss_kib(master)
        finally:
            harness.stop_server(server)
    lines = [
        "# Memory of a gunicorn sync worker", "",
        f"- {datetime.now(UTC).isoformat(timespec='seconds')}, `bench/worker_memory.py "
        f"{' '.join(sys.argv[1:])}`",
        f"- machine: {platform.node()}, {os.cpu_count()} CPUs, {harness.cpu_model()}; Python "
        f"{platform.python_version()}",
        f"- load average before {' '.join(f'{x:.2f}' for x in load_before)}, after "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- gunicorn `settings.wsgi`, {len(workers)} sync workers, SQLite, DEBUG off, "
        "local-memory cache; client-credentials requests, half JWT and half reference tokens",
        f"- master process: {master_kib / 1024:.1f} MiB" if master_kib else "- master: gone",
        "", "| when | requests served (all workers) | "
        + " | ".join(f"worker {i + 1} VmRSS" for i in range(len(workers))) + " |",
        "|" + " --- |" + " ---: |" * (len(workers) + 1)]
    for label, values in readings.items():
        lines.append(f"| {label} | {counts[label]} | "
                     + " | ".join(f"{v / 1024:.1f} MiB" if v else "gone" for v in values) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    harness.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = harness.RESULTS_DIR / f"worker_memory-{datetime.now(UTC):%Y-%m-%d}.md"
    path.write_text(text)
    print(f"written to {path}")
    return 0


def _rss(pids: list[int]) -> list[int | None]:
    return [harness.rss_kib(pid) for pid in pids]


if __name__ == "__main__":
    sys.exit(main())
