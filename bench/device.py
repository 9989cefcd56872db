#!/usr/bin/env python
"""Benchmark the device code grant's polling (RFC 8628 §3.4) with a pending device code.

The project runs under gunicorn as the other benchmarks run it (2 sync workers, 127.0.0.1,
SQLite in a temporary folder, DEBUG off, local-memory cache), measured with wrk
(`-t2 -c4 -dS --latency`):

    poll     POST /connect/token, grant_type=device_code with one pending device code; every
             answer is a 400 (authorization_pending, or slow_down when two connections' polls
             of the same code meet), and each reads and writes the code's one row
    token    POST /connect/token, grant_type=client_credentials on the same server (reference)

Then, in-process, the database statements of one pending poll are captured
(django.test.utils.CaptureQueriesContext) and printed.

    .venv/bin/python bench/device.py [--rounds 3] [--duration 10] [--quick]
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness  # noqa: E402 - after the checkout is on sys.path
from bench import registration as reg  # noqa: E402 - machine description
from bench import token_endpoint as te  # noqa: E402 - its environment and wrk runner
from bench.harness import ROOT, BenchError  # noqa: E402

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DOCUMENT = {"IdentityServer": {
    "ApiScopes": [{"Name": "api1"}],
    "Clients": [{
        "ClientId": "bench.tv", "ClientSecrets": [{"Value": te.SECRET_SHA256}],
        # PollingInterval 1: within the server's 1 s tolerance, back-to-back polls are on time.
        "AllowedGrantTypes": [DEVICE_GRANT, "client_credentials"], "AllowedScopes": ["api1"],
        "PollingInterval": 1, "DeviceCodeLifetime": 3600}],
}}
# Run by `manage.py shell -c`: one warm-up poll, then the statements of the next one.
COUNT_QUERIES = """
import json
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
browser = Client(HTTP_HOST="127.0.0.1")
auth = {"HTTP_AUTHORIZATION": %(auth)r}
form = "application/x-www-form-urlencoded"
start = browser.post("/connect/deviceauthorization", "scope=api1", content_type=form, **auth)
body = %(grant)r + "&device_code=" + start.json()["device_code"]
browser.post("/connect/token", body, content_type=form, **auth)
with CaptureQueriesContext(connection) as queries:
    answer = browser.post("/connect/token", body, content_type=form, **auth)
print("QUERIES " + json.dumps({"answer": answer.json(),
                               "sql": [q["sql"] for q in queries.captured_queries]}))
"""


def device_code(base: str) -> str:
    status, body = harness.post_form(f"{base}/connect/deviceauthorization", {"scope": "api1"},
                                     auth=("bench.tv", te.CLIENT_SECRET))
    if status != 200:
        raise BenchError(f"no device code: {status} {body[:300]!r}")
    return str(json.loads(body)["device_code"])


def lua(work: Path, name: str, form: dict[str, str]) -> Path:
    path = work / f"{name}.lua"
    path.write_text(te.WRK_SCRIPT.format(body=urlencode(form),
                                         authorization=harness.basic("bench.tv",
                                                                     te.CLIENT_SECRET)))
    return path


def count_queries(env: dict[str, str]) -> dict[str, Any]:
    code = COUNT_QUERIES % {"auth": harness.basic("bench.tv", te.CLIENT_SECRET),
                            "grant": "grant_type=" + DEVICE_GRANT}
    out = harness.manage(env, "shell", "-c", code)
    line = next(x for x in out.splitlines() if x.startswith("QUERIES "))
    found: dict[str, Any] = json.loads(line[len("QUERIES "):])
    return found


def main(argv: list[str] | None = None) -> int:
    args = te.wrk_arguments(__doc__.splitlines()[0], argv)
    load_before = os.getloadavg()[0]
    with te.seeded_server("device", DOCUMENT) as (work, env, base):
        scripts = {
            "poll": lua(work, "poll", {"grant_type": DEVICE_GRANT,
                                       "device_code": device_code(base)}),
            "token": lua(work, "token", {"grant_type": "client_credentials",
                                         "scope": "api1"}),
        }
        url = f"{base}/connect/token"
        for script in scripts.values():  # warm every worker
            te.run_wrk(url, script, 1)
        results: dict[str, list[Any]] = {name: [] for name in scripts}
        for _ in range(args.rounds):
            for name, script in scripts.items():
                results[name].append(te.run_wrk(url, script, args.duration))
        queries = count_queries(env)
    print("# Device code polling benchmark\n")
    print("Server: gunicorn through HTTP, 2 sync workers, the project's settings, SQLite, "
          f"local-memory cache, DEBUG off; load: wrk -t{te.WRK_THREADS} "
          f"-c{te.WRK_CONNECTIONS} -d{args.duration:g}s, {args.rounds} round(s), on the same "
          "machine.\n")
    for key, value in reg.machine() + [("load average (1 min)",
                                        f"{load_before:.2f} before, "
                                        f"{os.getloadavg()[0]:.2f} after")]:
        print(f"- {key}: {value}")
    print("\n| run | requests | non-2xx | req/s (median) | p50 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, runs in results.items():
        print(f"| {name} | {sum(r.requests for r in runs)} | {sum(r.non2xx for r in runs)} | "
              f"{statistics.median(r.requests / r.seconds for r in runs):.0f} | "
              f"{statistics.median(r.p50_ms for r in runs):.1f} | "
              f"{statistics.median(r.p99_ms for r in runs):.1f} |")
    print(f"\nOne pending poll in-process: answer {queries['answer']}, "
          f"{len(queries['sql'])} statement(s):\n")
    for sql in queries["sql"]:
        print(f"- `{sql[:160]}{'…' if len(sql) > 160 else ''}`")
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
