#!/usr/bin/env python
"""Soak test: the client-credentials, authorization-code and refresh flows together, for minutes,
against gunicorn (2 sync workers) on PostgreSQL and Redis, watching errors, latency and memory.

    .venv/bin/python bench/soak.py [--duration 600] [--clients 1] [--sample-every 60]

Flows, each run in a loop by --clients load processes of its own (plain http.client, a new
connection per request, as gunicorn's sync workers close them):

    client_credentials  POST /connect/token as service.client (1 request)
    authorization_code  a new browser each time: GET /connect/authorize -> 302 login, GET the
                        login page, POST alice's credentials with the CSRF token -> 302, GET
                        authorize -> 302 with the code (consent when asked), POST the code with
                        its PKCE verifier -> tokens (5 requests, or 7 with consent)
    refresh             POST /connect/token with the last refresh token (rotated each time)

Any status other than the one each step expects, a missing token, a timeout or a connection
error counts as an error, by kind. The server uses settings.settings unchanged:
DATABASE_URL=postgres://postgres@127.0.0.1:5432/soak (created if missing, migrated, seeded with
`manage.py seed_demo`) and CACHE_URL=redis://127.0.0.1:6379/3?key_prefix=soak; DEBUG off, log
level INFO (the default), the server's log in bench/results/soak-server.log. The resident memory
(VmRSS) of each gunicorn worker is read at the start, every --sample-every seconds and at the
end. The table is printed and the numbers written to bench/results/soak.json.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import multiprocessing
import os
import platform
import secrets
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness  # noqa: E402 - after the checkout is on sys.path
from bench.harness import (  # noqa: E402
    ROOT,
    WORKERS,
    Answer,
    BenchError,
    Browser,
    Pkce,
    cpu_seconds,
    machine_ticks,
    rss_kib,
    worker_pids,
)
from tests.helpers.forms import find_csrf_token  # noqa: E402

RESULTS = harness.RESULTS_DIR
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "soak"
CACHE_URL = "redis://127.0.0.1:6379/3?key_prefix=soak"
FLOWS = ("client_credentials", "authorization_code", "refresh")
REDIRECT = "http://localhost:21402/signin-oidc"
SCOPE = "openid profile email api1 offline_access"
USER, PASSWORD = "alice", "alice-demo-password"
BASIC = {c: harness.basic(c, "secret") for c in ("service.client", "interactive")}
TIMEOUT = 30.0


class SoakError(BenchError):
    """The soak cannot start or go on."""


class StepFailed(Exception):
    """One request of a flow answered what the flow does not expect."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


# --- one load process ---------------------------------------------------------------------------

@dataclass
class Tally:
    """What one load process saw: per request and per flow, with start offsets for binning."""

    flow: str
    requests: list[tuple[float, float]] = field(default_factory=list)  # (start, seconds)
    flows: list[tuple[float, float]] = field(default_factory=list)  # completed flows
    errors: Counter = field(default_factory=Counter)
    cpu_seconds: float = 0.0


class Agent:
    """A user agent on one flow (tests/helpers/user_agent.py's Browser), every request timed and
    every failure counted by kind."""

    def __init__(self, port: int, tally: Tally, epoch: float) -> None:
        self.browser = Browser(port, timeout=TIMEOUT)
        self.tally, self.epoch = tally, epoch

    def send(self, step: str, method: str, path: str, expect: int,
             form: dict[str, str] | None = None,
             headers: dict[str, str] | None = None) -> tuple[Answer, bytes]:
        started = time.monotonic()
        try:
            answer = self.browser.request(method, path, form, headers)
        except TimeoutError as exc:
            raise StepFailed(f"{step}: timeout") from exc
        except OSError as exc:
            raise StepFailed(f"{step}: {type(exc).__name__}") from exc
        except http.client.HTTPException as exc:
            raise StepFailed(f"{step}: {type(exc).__name__}") from exc
        self.tally.requests.append((started - self.epoch, time.monotonic() - started))
        if answer.status != expect:
            raise StepFailed(f"{step}: HTTP {answer.status}")
        return answer, answer.body


def _token_body(step: str, data: bytes, *names: str) -> dict[str, Any]:
    try:
        body = json.loads(data)
    except ValueError as exc:
        raise StepFailed(f"{step}: not JSON") from exc
    missing = [n for n in names if not body.get(n)]
    if missing:
        raise StepFailed(f"{step}: no {', '.join(missing)}")
    return body


def client_credentials(agent: Agent) -> None:
    _, data = agent.send("token (client credentials)", "POST", "/connect/token", 200,
                         {"grant_type": "client_credentials", "scope": "api1"},
                         {"Authorization": BASIC["service.client"]})
    _token_body("token (client credentials)", data, "access_token")


def _csrf(step: str, page: bytes) -> str:
    token = find_csrf_token(page)
    if token is None:
        raise StepFailed(f"{step}: no CSRF token")
    return token


def authorization_code(agent: Agent) -> dict[str, Any]:
    """Sign in with a new browser and redeem the code; return the token response."""
    agent.browser.cookies.clear()
    pkce = Pkce.new()
    path = "/connect/authorize?" + urlencode({
        "client_id": "interactive", "redirect_uri": REDIRECT, "response_type": "code",
        "scope": SCOPE, "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8),
        "code_challenge": pkce.challenge, "code_challenge_method": "S256"})
    code = None
    for _ in range(4):  # login, consent, then the client
        response, _ = agent.send("authorize", "GET", path, 302)
        target = response.headers.get("Location", "")
        if target.startswith(REDIRECT):
            code = parse_qs(urlsplit(target).query).get("code", [None])[0]
            break
        if target.startswith("/account/login"):
            _, page = agent.send("login page", "GET", target, 200)
            next_path = parse_qs(urlsplit(target).query)["next"][0]
            response, _ = agent.send("login post", "POST", "/account/login", 302, {
                "csrfmiddlewaretoken": _csrf("login page", page), "username": USER,
                "password": PASSWORD, "next": next_path})
        elif target.startswith("/connect/consent"):
            _, page = agent.send("consent page", "GET", target, 200)
            response, _ = agent.send("consent post", "POST", "/connect/consent", 302, {
                "csrfmiddlewaretoken": _csrf("consent page", page), "decision": "allow",
                "return": parse_qs(urlsplit(target).query)["return"][0]})
        else:
            raise StepFailed(f"authorize: unexpected redirect to {urlsplit(target).path}")
        path = response.headers.get("Location", "")
    if not code:
        raise StepFailed("authorize: no code")
    _, data = agent.send("token (code)", "POST", "/connect/token", 200, {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": pkce.verifier}, {"Authorization": BASIC["interactive"]})
    return _token_body("token (code)", data, "access_token", "refresh_token", "id_token")


def refresh(agent: Agent, token: str) -> str:
    _, data = agent.send("token (refresh)", "POST", "/connect/token", 200,
                         {"grant_type": "refresh_token", "refresh_token": token},
                         {"Authorization": BASIC["interactive"]})
    return str(_token_body("token (refresh)", data, "access_token", "refresh_token")
               ["refresh_token"])


def run_flow(flow: str, port: int, epoch: float, deadline: float,
             results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """Loop one flow until the deadline; put the Tally on `results`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    tally = Tally(flow)
    agent = Agent(port, tally, epoch)
    held: str | None = None  # the refresh flow's current token
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            if flow == "client_credentials":
                client_credentials(agent)
            elif flow == "authorization_code":
                authorization_code(agent)
            else:
                if held is None:  # a sign-in to start a chain: not a refresh flow itself
                    requests = len(tally.requests)
                    held = str(authorization_code(agent)["refresh_token"])
                    del tally.requests[requests:]
                    continue
                held = refresh(agent, held)
        except StepFailed as failure:
            tally.errors[failure.kind] += 1
            held = None
            time.sleep(0.05)  # do not spin on a server that refuses
            continue
        tally.flows.append((started - epoch, time.monotonic() - started))
    times = os.times()
    tally.cpu_seconds = times.user + times.system
    results.put(tally)


# --- the server ---------------------------------------------------------------------------------

def ensure_database() -> None:
    """Create the soak database when missing (like `createdb -h 127.0.0.1 -U postgres soak`)."""
    import psycopg

    try:
        with psycopg.connect(f"{PG_ADMIN}/postgres", autocommit=True, connect_timeout=5) as db:
            if not db.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                              (DATABASE,)).fetchone():
                db.execute(f'CREATE DATABASE "{DATABASE}"')
    except psycopg.Error as exc:
        raise SoakError(f"PostgreSQL at {PG_ADMIN} is not usable: {exc}") from exc


def server_env(port: int) -> dict[str, str]:
    env = harness.environment_without(harness.SETTINGS_ENV)
    env.update({
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
        "CACHE_URL": CACHE_URL,
        "DEBUG": "False",
        # Fixed, so that the signing keys stored in the soak database stay readable.
        "SECRET_KEY": "soak-benchmark-only-" + hashlib.sha256(b"soak").hexdigest(),
        "ENV_FILE": "/nonexistent",  # a developer's .env must not change what is measured
        "IDENTITY_ISSUER": f"http://127.0.0.1:{port}",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    return env


def _all_workers_up(server: harness.Server) -> bool:
    return len(worker_pids(server.process.pid)) == WORKERS


# --- the run ------------------------------------------------------------------------------------

def sample(master: int, elapsed: float) -> dict[str, Any]:
    workers = worker_pids(master)
    return {"t": round(elapsed, 1), "load1": round(os.getloadavg()[0], 2),
            "master_kib": rss_kib(master),
            "workers": {str(pid): rss_kib(pid) for pid in workers}}


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def summarize(tallies: list[Tally], seconds: float) -> dict[str, Any]:
    flows: dict[str, Any] = {}
    for name in FLOWS:
        mine = [t for t in tallies if t.flow == name]
        requests = [d for t in mine for _, d in t.requests]
        done = [d for t in mine for _, d in t.flows]
        errors: Counter = Counter()
        for t in mine:
            errors.update(t.errors)
        flows[name] = {
            "requests": len(requests), "flows": len(done),
            "requests_per_s": len(requests) / seconds, "flows_per_s": len(done) / seconds,
            "request_p50_ms": percentile(requests, 0.50) * 1000,
            "request_p99_ms": percentile(requests, 0.99) * 1000,
            "flow_p50_ms": percentile(done, 0.50) * 1000,
            "flow_p99_ms": percentile(done, 0.99) * 1000,
            "errors": dict(errors),
            "per_minute_flows": per_minute(mine, seconds),
        }
    return flows


def per_minute(tallies: list[Tally], seconds: float) -> list[int]:
    bins = [0] * max(1, int(seconds // 60 + (seconds % 60 > 1)))
    for tally in tallies:
        for start, _ in tally.flows:
            bins[min(len(bins) - 1, int(start // 60))] += 1
    return bins


def report(data: dict[str, Any]) -> str:
    flows = data["flows"]
    lines = [f"Soak, {data['started']}: {data['duration_s']:.0f} s, {data['clients_per_flow']} "
             f"load process(es) per flow, gunicorn {WORKERS} sync workers, PostgreSQL + Redis",
             f"machine: {data['machine']['nproc']} cores, {data['machine']['cpu']}; load average "
             f"{data['machine']['load_before']:.2f} before, {data['machine']['load_after']:.2f} "
             "after",
             f"CPU share of the machine: server {data['cpu']['server_share']:.0%}, load "
             f"generator {data['cpu']['load_share']:.0%}, everything else (PostgreSQL, Redis, "
             f"other users) {data['cpu']['others_share']:.0%}; server CPU per request "
             f"{data['cpu']['server_us_per_request']:.0f} µs",
             "",
             f"{'flow':20} {'req/s':>8} {'flows/s':>8} {'req p50':>8} {'req p99':>8} "
             f"{'flow p50':>9} {'flow p99':>9} {'requests':>9} {'errors':>7}",
             ]
    for name in FLOWS:
        f = flows[name]
        lines.append(f"{name:20} {f['requests_per_s']:8.1f} {f['flows_per_s']:8.2f} "
                     f"{f['request_p50_ms']:7.1f}ms {f['request_p99_ms']:7.1f}ms "
                     f"{f['flow_p50_ms']:8.1f}ms {f['flow_p99_ms']:8.1f}ms "
                     f"{f['requests']:9d} {sum(f['errors'].values()):7d}")
    total = data["total"]
    lines.append(f"{'total':20} {total['requests_per_s']:8.1f} {total['flows_per_s']:8.2f} "
                 f"{'':8} {'':8} {'':9} {'':9} {total['requests']:9d} {total['errors']:7d}")
    lines += ["", "errors by kind: " + (", ".join(
        f"{name}: {kind} x{count}" for name in FLOWS
        for kind, count in sorted(flows[name]["errors"].items())) or "none")]
    lines += ["", "flows per minute: " + "; ".join(
        f"{name} {flows[name]['per_minute_flows']}" for name in FLOWS)]
    samples = data["rss"]
    pids = sorted({pid for s in samples for pid in s["workers"]}, key=int)
    lines += ["", "VmRSS (MiB) of the gunicorn workers (and master):",
              f"{'t (s)':>7} {'load1':>6} " + " ".join(f"{'w' + p:>10}" for p in pids)
              + f" {'master':>8}"]
    for s in samples:
        cells = " ".join(f"{s['workers'][p] / 1024:10.1f}" if s["workers"].get(p) else
                         f"{'-':>10}" for p in pids)
        lines.append(f"{s['t']:7.0f} {s['load1']:6.2f} {cells} "
                     f"{(s['master_kib'] or 0) / 1024:8.1f}")
    growth = data["rss_growth_kib"]
    lines.append("growth start to end: " + ", ".join(
        f"w{p} {kib / 1024:+.1f} MiB" for p, kib in growth.items()))
    if data["worker_restarts"]:
        lines.append(f"**worker pids changed during the run**: {data['worker_restarts']}")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> dict[str, Any]:
    ensure_database()
    port = harness.free_port()
    env = server_env(port)
    print("migrating and seeding the soak database", flush=True)
    harness.manage(env, "migrate", "--noinput")
    harness.manage(env, "seed_demo", "--url", env["IDENTITY_ISSUER"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    log = RESULTS / "soak-server.log"
    server = harness.start_server("soak", env, log, port=port, ready=_all_workers_up)
    context = multiprocessing.get_context("fork")
    processes: list[Any] = []
    try:
        warm = Tally("warm-up")
        agent = Agent(port, warm, time.monotonic())
        for _ in range(3):  # every worker loads its keys and caches
            client_credentials(agent)
            refresh(agent, str(authorization_code(agent)["refresh_token"]))
        master = server.process.pid
        first_workers = worker_pids(master)
        load_before = os.getloadavg()[0]
        busy0, total0 = machine_ticks()
        server_cpu0 = cpu_seconds([master, *first_workers])
        epoch = time.monotonic()
        deadline = epoch + args.duration
        results = context.Queue()
        processes = [context.Process(target=run_flow, args=(flow, port, epoch, deadline, results),
                                     name=f"soak-{flow}-{i}")
                     for flow in FLOWS for i in range(args.clients)]
        for process in processes:
            process.start()
        samples = [sample(master, 0.0)]
        print(f"running {args.duration:g} s on port {port}; workers {first_workers}, RSS "
              f"{[samples[0]['workers'][str(p)] for p in first_workers]} KiB", flush=True)
        next_sample = epoch + args.sample_every
        while time.monotonic() < deadline:
            time.sleep(max(0.0, min(next_sample, deadline) - time.monotonic()))
            if time.monotonic() >= next_sample and time.monotonic() < deadline - 1:
                samples.append(sample(master, time.monotonic() - epoch))
                print(f"  t={samples[-1]['t']:.0f}s RSS KiB {samples[-1]['workers']} "
                      f"load {samples[-1]['load1']}", flush=True)
                next_sample += args.sample_every
        tallies = [results.get(timeout=TIMEOUT + 60) for _ in processes]
        elapsed = time.monotonic() - epoch
        samples.append(sample(master, elapsed))
        last_workers = worker_pids(master)
        server_cpu = cpu_seconds([master, *last_workers]) - server_cpu0
        busy1, total1 = machine_ticks()
        for process in processes:
            process.join(timeout=10)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
        harness.stop_server(server)

    seconds = float(args.duration)
    flows = summarize(tallies, seconds)
    requests = sum(f["requests"] for f in flows.values())
    ncpu = len(os.sched_getaffinity(0))
    capacity = (total1 - total0) / os.sysconf("SC_CLK_TCK")  # CPU-seconds of all cores
    machine_busy = (busy1 - busy0) / os.sysconf("SC_CLK_TCK")
    load_cpu = sum(t.cpu_seconds for t in tallies)
    start_rss, end_rss = samples[0]["workers"], samples[-1]["workers"]
    return {
        "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "duration_s": seconds, "elapsed_s": elapsed, "clients_per_flow": args.clients,
        "machine": {"nproc": ncpu, "cpu": harness.cpu_model(), "python": platform.python_version(),
                    "django": metadata.version("Django"),
                    "gunicorn": metadata.version("gunicorn"),
                    "load_before": load_before, "load_after": os.getloadavg()[0]},
        "flows": flows,
        "total": {"requests": requests, "requests_per_s": requests / seconds,
                  "flows": sum(f["flows"] for f in flows.values()),
                  "flows_per_s": sum(f["flows"] for f in flows.values()) / seconds,
                  "errors": sum(sum(f["errors"].values()) for f in flows.values())},
        "cpu": {"server_share": server_cpu / capacity if capacity else 0.0,
                "load_share": load_cpu / capacity if capacity else 0.0,
                "others_share": max(0.0, machine_busy - server_cpu - load_cpu) / capacity
                if capacity else 0.0,
                "server_us_per_request": server_cpu / requests * 1e6 if requests else 0.0},
        "rss": samples,
        "rss_growth_kib": {p: (end_rss.get(p) or 0) - (start_rss.get(p) or 0)
                           for p in start_rss},
        "worker_restarts": (first_workers, last_workers) if first_workers != last_workers
        else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600.0, help="seconds (600)")
    parser.add_argument("--clients", type=int, default=1,
                        help="load processes per flow (1: three in all)")
    parser.add_argument("--sample-every", type=float, default=60.0,
                        help="seconds between RSS samples (60)")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.clients < 1 or args.sample_every <= 0:
        parser.error("--duration and --sample-every must be > 0, --clients >= 1")
    signal.signal(signal.SIGTERM, harness.exit_on_sigterm)
    data = run(args)
    text = report(data)
    path = RESULTS / "soak.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    print()
    print(text)
    print(f"written to {path.relative_to(ROOT)}; server log {RESULTS / 'soak-server.log'}")
    return 1 if data["total"]["errors"] else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:  # SoakError, or a server or command that failed
        print(f"soak failed: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("\ninterrupted; server stopped", file=sys.stderr)
        sys.exit(130)
