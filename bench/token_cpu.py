#!/usr/bin/env python
"""CPU per request of a client-credentials token request and of its signing ceiling, in one
process, on PostgreSQL and Redis as in production, and where the difference goes.

    .venv/bin/python bench/token_cpu.py [--rounds 8] [--requests 300] [--repeat 3]
                                        [--cache-options local_copy_seconds=0]

Django's WSGI handler is called directly (no HTTP server, no balancer), with the settings of
bench/production.py (bench.production_settings: a database made for the run, Redis as the cache
under a key prefix of the run, the issuer set, DEBUG off). For each algorithm (ES256, RS256) a
process of its own warms up, then alternates rounds of `--requests` token requests and as many
ceiling requests (bench/ceiling_views.py), timing each round by the thread's CPU time (user and
system): the figure of a run is its fastest round. `--repeat` runs each algorithm's process that
many times, alternating algorithms. A last pass times the steps of the token request, each
wrapped in a CPU timer (the wrappers add about 1 µs each to the total).

A machine whose speed changes from minute to minute moves these figures much less than the
production benchmark's requests per second: they are one thread's CPU, its fastest round. What
they leave out is what a deployment adds around the view (gunicorn, the balancer, the network).
The Markdown report is printed and written to bench/results/token-cpu-<timestamp>.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness, production  # noqa: E402 - after the checkout is on sys.path
from bench import token_endpoint as te  # noqa: E402

ALGORITHMS = ("ES256", "RS256")
FORM = b"grant_type=client_credentials&scope=api1"
# (module, attribute, what the step is); nested steps are indented in the report.
STEPS = [
    ("identity.http.frame", "read_form", "read and check the form"),
    ("identity.http.client_authentication", "extract_credentials",
     "the client's credentials from the request"),
    ("identity.http.client_authentication", "_prefetch",
     "the shared-cache read: failure counters, stamps, generation"),
    ("identity.redis_cache", "ReusingRedisCacheClient._read", "  of which the round trip"),
    ("identity.redis_cache", "ReusingRedisCacheClient._read_many",
     "  of which the backend's read (tracked copies, or a round trip)"),
    ("identity.http.client_authentication", "throttling.check_not_locked",
     "is the client locked out?"),
    ("identity.http.client_authentication", "authenticate_client",
     "authenticate the client (cached client, secret check)"),
    ("identity.grants.pipeline", "select_grant", "select the grant"),
    ("identity.grants.client_credentials", "ClientCredentialsGrant.validate",
     "validate the request (scopes, resources)"),
    ("identity.grants.pipeline", "issue_tokens", "issue the access token"),
    ("identity.grants.issuing", "sign", "  of which the signature"),
    ("identity.endpoints.token", "json_response", "the JSON response"),
]


def child(algorithm: str, rounds: int, requests: int, steps: bool) -> dict[str, Any]:
    """Run in the process of one algorithm: time the token request and the ceiling."""
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler

    handler = WSGIHandler()
    auth = harness.basic("bench.client", production.SECRET)
    token = ("/connect/token", auth)
    ceiling = (f"/bench/ceiling/{algorithm.lower()}", None)

    def call(target: tuple[str, str | None]) -> None:
        path, authorization = target
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "SERVER_NAME": "127.0.0.1",
                   "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1", "wsgi.url_scheme": "http",
                   "wsgi.input": io.BytesIO(FORM), "CONTENT_LENGTH": str(len(FORM)),
                   "CONTENT_TYPE": "application/x-www-form-urlencoded",
                   "REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "10.0.0.9"}
        if authorization:
            environ["HTTP_AUTHORIZATION"] = authorization
        status: list[str] = []
        body = b"".join(handler(environ, lambda s, h: status.append(s)))
        if not status[0].startswith("200"):
            raise harness.BenchError(f"{path} answered {status[0]}: {body[:300]!r}")

    def cpu_per_request(target: tuple[str, str | None]) -> float:
        started = time.thread_time()
        for _ in range(requests):
            call(target)
        return (time.thread_time() - started) / requests * 1e6

    for _ in range(200):
        call(token)
        call(ceiling)
    times: dict[str, list[float]] = {"token": [], "ceiling": []}
    for _ in range(rounds):
        times["token"].append(cpu_per_request(token))
        times["ceiling"].append(cpu_per_request(ceiling))
    result: dict[str, Any] = {"token": min(times["token"]), "ceiling": min(times["ceiling"])}
    if steps:
        spent = _time_steps()
        cpu_per_request(token)  # the wrapped functions warmed up
        spent.update(dict.fromkeys(spent, 0))
        result["steps_total"] = cpu_per_request(token)
        result["steps"] = {label: ns / requests / 1000 for label, ns in spent.items()}
    return result


def _time_steps() -> dict[str, int]:
    """Wrap each step of STEPS in a CPU timer; return the nanoseconds each accumulates."""
    import importlib

    spent: dict[str, int] = {}
    for module_name, attribute, label in STEPS:
        owner: Any = importlib.import_module(module_name)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part)
        original = getattr(owner, name, None)
        if original is None:  # a checkout without this step (an older one)
            continue
        spent[label] = 0
        setattr(owner, name, _timer(original, label, spent))
    return spent


def _timer(function: Callable[..., Any], label: str, spent: dict[str, int]
           ) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time_ns()
        try:
            return function(*args, **kwargs)
        finally:
            spent[label] += time.thread_time_ns() - started

    return timed


def report(args: argparse.Namespace, runs: dict[str, list[dict[str, Any]]],
           started: datetime) -> str:
    options = f" --cache-options {args.cache_options}" if args.cache_options else ""
    lines = [f"# Token request CPU in one process, {started:%Y-%m-%d %H:%M} UTC", "",
             f"`bench/token_cpu.py --rounds {args.rounds} --requests {args.requests} --repeat "
             f"{args.repeat}{options}`: the thread's CPU per request (user and system), the "
             "fastest of "
             f"{args.rounds} rounds of {args.requests} requests, in {args.repeat} process(es) "
             "per algorithm; Django's WSGI handler called directly with the production "
             "benchmark's settings (PostgreSQL, Redis, DEBUG off).", "",
             "## Machine", "", "| | |", "| --- | --- |",
             f"| nproc | {os.cpu_count()} |", f"| CPU | {harness.cpu_model()} |",
             f"| Python | {platform.python_version()} |",
             f"| code measured | {te.source_revision()} |", "",
             "## Token request and ceiling", "",
             "| algorithm | token request µs | signing ceiling µs | difference µs "
             "| per process (token / ceiling) |",
             "| --- | ---: | ---: | ---: | --- |"]
    for algorithm, results in runs.items():
        token = statistics.median(r["token"] for r in results)
        ceiling = statistics.median(r["ceiling"] for r in results)
        each = ", ".join(f"{r['token']:.0f} / {r['ceiling']:.0f}" for r in results)
        lines.append(f"| {algorithm} | {token:.0f} | {ceiling:.0f} | {token - ceiling:.0f} "
                     f"| {each} |")
    stepped = [(a, r) for a, results in runs.items() for r in results if "steps" in r]
    for algorithm, result in stepped[:1] + stepped[1:][-1:]:
        lines += ["", f"## Steps of the token request, {algorithm}", "",
                  f"CPU µs per request of each step, timed in a last pass "
                  f"({result['steps_total']:.0f} µs per request with the timers on).", "",
                  "| step | µs |", "| --- | ---: |"]
        lines += [f"| {label.replace('  ', '&nbsp;&nbsp;')} | {value:.1f} |"
                  for label, value in result["steps"].items()]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=8, help="rounds per process (8)")
    parser.add_argument("--requests", type=int, default=300, help="requests per round (300)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="processes per algorithm, alternating algorithms (3)")
    parser.add_argument("--cache-options", default="", metavar="QUERY",
                        help="added to CACHE_URL's query, e.g. local_copy_seconds=0 (no local "
                             "copies of Redis's values: a round trip per read)")
    parser.add_argument("--child", choices=ALGORITHMS, help=argparse.SUPPRESS)
    parser.add_argument("--steps", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.requests < 1 or args.repeat < 1:
        parser.error("--rounds, --requests and --repeat must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.rounds, args.requests, args.steps)))
        return 0
    started = datetime.now(UTC)
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-cpu-")))
        (work / "counts").mkdir()
        run_id = secrets.token_hex(4)
        database, prefix = f"identity_bench_cpu_{run_id}", f"benchcpu-{run_id}"
        production.admin_sql(f'CREATE DATABASE "{database}"')
        stack.callback(production.admin_sql,
                       f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        stack.callback(production.forget_keys, prefix)
        envs = {a: production.node_env(work, database, prefix, a,
                                       cache_options=args.cache_options) for a in ALGORITHMS}
        harness.manage(envs["ES256"], "migrate", "--noinput")
        (work / "clients.json").write_text(json.dumps(production.DOCUMENT))
        harness.manage(envs["ES256"], "import_clients", str(work / "clients.json"))
        runs: dict[str, list[dict[str, Any]]] = {a: [] for a in ALGORITHMS}
        for repeat in range(args.repeat):
            for algorithm in ALGORITHMS:
                command = [sys.executable, __file__, "--child", algorithm,
                           "--rounds", str(args.rounds), "--requests", str(args.requests)]
                if repeat == args.repeat - 1:
                    command.append("--steps")
                out = subprocess.run(command, cwd=harness.ROOT, env=envs[algorithm],
                                     capture_output=True, text=True, check=False)
                if out.returncode != 0:
                    raise harness.BenchError(f"{algorithm} process failed:\n{out.stderr[-3000:]}")
                result = json.loads(out.stdout.strip().splitlines()[-1])
                runs[algorithm].append(result)
                print(f"{algorithm} run {repeat + 1}/{args.repeat}: token "
                      f"{result['token']:.0f} µs, ceiling {result['ceiling']:.0f} µs", flush=True)
    harness.write_report("token-cpu", report(args, runs, started), started)
    return 0


if __name__ == "__main__":
    harness.run_main(main, "the run's database and Redis keys were removed")
