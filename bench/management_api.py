#!/usr/bin/env python
"""Benchmark the management API's client list: 10,000 clients read page by page over HTTP.

A fresh project (SQLite by default, or PostgreSQL with --db postgres) gets 10,000 clients by
`manage.py import_clients`, then gunicorn serves it with the default two sync workers. One
caller with a management token walks every page at 50 (the default) and at 500 per page, and
reads single clients, one request at a time; the report gives p50 and p99 latency per request,
the pages' total time, and the queries one page costs.

    .venv/bin/python bench/management_api.py [--clients 10000] [--db sqlite|postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (  # noqa: E402 - the checkout is on sys.path only now
    SETTINGS_ENV,
    WORKERS,
    cpu_model,
    environment_without,
    manage,
    post_form,
    start_server,
    stop_server,
)

PG_URL = "postgres://postgres@127.0.0.1:5432/identity_bench_api"
SECRET = "bench-secret"
HASH = "AVlDipI11qveOOSfuYlEZg0GfWubA9io9O5OUi/rYss="  # SHA-256 of "bench-secret", Base64


def document(count: int) -> str:
    clients = [{"ClientId": f"client-{n:05d}", "ClientName": f"Client {n}",
                "ClientSecrets": [{"Value": HASH}], "AllowedGrantTypes": ["client_credentials"],
                "AllowedScopes": ["api1"], "Enabled": n % 10 != 0} for n in range(count)]
    clients.append({"ClientId": "automation", "ClientSecrets": [{"Value": HASH}],
                    "AllowedGrantTypes": ["client_credentials"],
                    "AllowedScopes": ["identity.manage"]})
    return json.dumps({"IdentityServer": {
        "ApiScopes": [{"Name": "api1"}, {"Name": "identity.manage"}], "Clients": clients}})


def get(url: str, token: str) -> tuple[float, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.loads(response.read())
    return (time.perf_counter() - started) * 1000, body


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def walk(base: str, token: str, page_size: int) -> tuple[list[float], int]:
    times, url, seen = [], f"{base}/api/clients?page_size={page_size}", 0
    while url:
        ms, body = get(url, token)
        times.append(ms)
        seen += len(body["results"])
        url = body["next"]
    return times, seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        folder = Path(work)
        env = environment_without(SETTINGS_ENV)
        env.update(SECRET_KEY="bench-key", DEBUG="False", IDENTITY_ISSUER="http://127.0.0.1",
                   DATABASE_URL=(f"sqlite:///{folder}/db.sqlite3" if args.db == "sqlite"
                                 else PG_URL))
        if args.db == "postgres":
            os.system("dropdb -h 127.0.0.1 -U postgres --if-exists identity_bench_api; "
                      "createdb -h 127.0.0.1 -U postgres identity_bench_api")
        (folder / "clients.json").write_text(document(args.clients))
        manage(env, "migrate", "--noinput")
        started = time.perf_counter()
        manage(env, "import_clients", str(folder / "clients.json"))
        imported = time.perf_counter() - started
        server = start_server("api", env, folder / "gunicorn.log")
        try:
            status, body = post_form(f"{server.base}/connect/token",
                                     {"grant_type": "client_credentials"},
                                     auth=("automation", SECRET))
            assert status == 200, body
            token = json.loads(body)["access_token"]
            walk(server.base, token, 50)  # warm up both workers
            rows = []
            for size in (50, 500):
                times, seen = walk(server.base, token, size)
                assert seen == args.clients + 1, seen
                rows.append((f"list, {size} per page", len(times), times))
            singles = [get(f"{server.base}/api/clients/client-{n:05d}", token)[0]
                       for n in range(0, args.clients, max(1, args.clients // 500))]
            rows.append(("one client", len(singles), singles))
            filtered = [get(f"{server.base}/api/clients?enabled=false&search=Client%2099",
                            token)[0] for _ in range(50)]
            rows.append(("filtered + searched list", len(filtered), filtered))
        finally:
            stop_server(server)
    print(f"# Management API, {args.clients:,} clients on {args.db}, gunicorn {WORKERS} sync "
          f"workers, one caller")
    print(f"# {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"import took {imported:.1f} s")
    print(f"{'request':<28} {'count':>6} {'p50 ms':>8} {'p99 ms':>8} {'total s':>8}")
    for name, count, times in rows:
        print(f"{name:<28} {count:>6} {statistics.median(times):>8.1f} "
              f"{percentile(times, 99):>8.1f} {sum(times) / 1000:>8.1f}")


if __name__ == "__main__":
    main()
