#!/usr/bin/env python
"""Benchmark dynamic client registration (RFC 7591) and reading a registration (RFC 7592).

The project runs under gunicorn as the other benchmarks run it (2 sync workers, 127.0.0.1,
SQLite in a temporary folder, DEBUG off, local-memory cache), measured with wrk
(`-t2 -c4 -dS --latency`):

    register  POST /connect/dcr, a web client's metadata (redirect URI, openid profile), with
              an initial access token (client credentials, the `dcr` scope): each request
              writes a new client, its secret, redirect URI, scopes, registration and audit row
    read      GET /connect/dcr/<client_id> with that client's registration access token

    .venv/bin/python bench/registration.py [--rounds 3] [--duration 10] [--quick]

Every run prints the machine, the counts (requests, non-2xx, clients in the database after)
and the requests per second, median over the rounds.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import statistics
import sys
import urllib.request
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness  # noqa: E402 - after the checkout is on sys.path
from bench import token_endpoint as te  # noqa: E402 - its environment and wrk runner
from bench.harness import ROOT, BenchError  # noqa: E402

DOCUMENT = {"IdentityServer": {
    "ApiScopes": [{"Name": "dcr"}],
    "Clients": [{
        "ClientId": "bench.dcr", "ClientSecrets": [{"Value": te.SECRET_SHA256}],
        "AllowedGrantTypes": ["client_credentials"], "AllowedScopes": ["dcr"]}],
}}
METADATA = {"redirect_uris": ["https://app.example.com/signin-oidc"], "client_name": "Bench app",
            "grant_types": ["authorization_code", "refresh_token"],
            "scope": "openid profile offline_access", "contacts": ["ops@example.com"]}
# wrk sends the JSON body; done() (shared with the token endpoint's script) prints the numbers.
LUA_HEADER = """\
wrk.method = "{method}"
wrk.body = [[{body}]]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
"""


def _call(url: str, method: str, body: dict[str, Any] | None, token: str) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def initial_token(base: str) -> str:
    """Get the initial access token: bench.dcr's client-credentials token with scope dcr."""
    status, body = harness.post_form(f"{base}/connect/token", {
        "grant_type": "client_credentials", "scope": "dcr"}, auth=("bench.dcr", te.CLIENT_SECRET))
    if status != 200:
        raise BenchError(f"no initial access token: {status} {body[:300]!r}")
    return str(json.loads(body)["access_token"])


def lua(work: Path, name: str, method: str, body: dict[str, Any] | None, token: str) -> Path:
    path = work / f"{name}.lua"
    header = LUA_HEADER.format(method=method, body=json.dumps(body) if body else "", token=token)
    done = te.WRK_SCRIPT[te.WRK_SCRIPT.index("function done"):]
    path.write_text(header + "\n" + done.replace("{{", "{").replace("}}", "}"))
    return path


def clients_in(database: Path) -> int:
    with sqlite3.connect(database) as db:
        return int(db.execute("SELECT COUNT(*) FROM clients_app_clientregistration").fetchone()[0])


def machine() -> list[tuple[str, str]]:
    mem_kb = harness.read_proc("/proc/meminfo", "MemTotal").split()[0]
    return [
        ("nproc", str(len(os.sched_getaffinity(0)))),
        ("CPU", harness.read_proc("/proc/cpuinfo", "model name")),
        ("memory", f"{int(mem_kb) / 1024 / 1024:.1f} GiB" if mem_kb.isdigit() else mem_kb),
        ("OS", platform.platform()),
        ("Python", platform.python_version()),
        ("Django", metadata.version("Django")),
        ("gunicorn", metadata.version("gunicorn")),
    ]


def main(argv: list[str] | None = None) -> int:
    args = te.wrk_arguments(__doc__.splitlines()[0], argv)
    load_before = os.getloadavg()[0]
    with te.seeded_server("registration", DOCUMENT) as (work, _env, base):
        token = initial_token(base)
        status, reply = _call(f"{base}/connect/dcr", "POST", METADATA, token)
        if status != 201:
            raise BenchError(f"registration failed: {status} {reply!r}")
        manage_path = f"/connect/dcr/{reply['client_id']}"
        status, _ = _call(base + manage_path, "GET", None, reply["registration_access_token"])
        if status != 200:
            raise BenchError(f"reading the registration failed: {status}")
        scripts = {
            "register": (f"{base}/connect/dcr", lua(work, "register", "POST", METADATA,
                                                    token)),
            "read": (base + manage_path, lua(work, "read", "GET", None,
                                             reply["registration_access_token"])),
        }
        for url, script in scripts.values():  # warm every worker
            te.run_wrk(url, script, 1)
        results: dict[str, list[Any]] = {name: [] for name in scripts}
        for _ in range(args.rounds):
            for name, (url, script) in scripts.items():
                results[name].append(te.run_wrk(url, script, args.duration))
        registered = clients_in(work / "identity.sqlite3")
    print("# Dynamic client registration benchmark\n")
    print("Server: gunicorn through HTTP (not in-process), 2 sync workers, the project's "
          "settings (bench.settings: settings.settings plus the ceiling views), SQLite, "
          "local-memory cache, DEBUG off; load: "
          f"wrk -t{te.WRK_THREADS} -c{te.WRK_CONNECTIONS} -d{args.duration:g}s, "
          f"{args.rounds} round(s), on the same machine.\n")
    for key, value in machine() + [("load average (1 min)",
                                    f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after")]:
        print(f"- {key}: {value}")
    print("\n| run | requests | non-2xx | socket errors | req/s (median) | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, runs in results.items():
        print(f"| {name} | {sum(r.requests for r in runs)} | {sum(r.non2xx for r in runs)} | "
              f"{sum(r.socket_errors for r in runs)} | "
              f"{statistics.median(r.requests / r.seconds for r in runs):.0f} | "
              f"{statistics.median(r.p50_ms for r in runs):.1f} | "
              f"{statistics.median(r.p99_ms for r in runs):.1f} |")
    print(f"\nRegistered clients in the database afterwards: {registered}")
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
