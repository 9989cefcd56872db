#!/usr/bin/env python
"""Benchmark the server as it runs in production: two nodes behind a load balancer, PostgreSQL and
Redis, with the cost of each request counted (CPU, SQL statements, writes, Redis round trips).

    .venv/bin/python bench/production.py [--rounds 3] [--duration 10] [--quick]
                                         [--only cc-rs256,ceiling-rs256,...] [--connections 8]
                                         [--cache-options local_copy_seconds=0]

Two clusters of two nodes each (one signs access tokens with RS256, the other with ES256), every
node a gunicorn with 2 sync workers on its own loopback port, all sharing one PostgreSQL database
made for the run and Redis as Django's cache under a key prefix of the run; DEBUG off. nginx
balances each cluster round-robin on a port of its own; wrk loads the balancer. The signing
ceilings (bench/ceiling_views.py) are served by the same nodes behind the same balancer.
Rounds are interleaved, the order rotating each round. Per request: the CPU time of the workers,
of the balancer, of PostgreSQL (the backends of the run's database) and of Redis; the SQL
statements, writes, commits and Redis round trips the workers counted (bench/counting.py).
The Markdown report is printed and written to bench/results/production-<timestamp>.md.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import counting, harness, wrk  # noqa: E402 - after the checkout is on sys.path
from bench import token_endpoint as te  # noqa: E402
from bench.harness import ROOT, BenchError, basic, run  # noqa: E402
from tests.helpers.forms import find_csrf_token  # noqa: E402

NGINX = "/usr/sbin/nginx"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432"
REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 15
ISSUER_HOST = "identity.bench"
ISSUER = f"http://{ISSUER_HOST}"
WRK_THREADS = 2
WARMUP_SECONDS = 2.0
CODE_RATE_MAX = 1500  # code redemptions per second a run may reach; codes prepared for that
SECRET = te.CLIENT_SECRET
API_SECRET = "api-secret"
USERNAME, PASSWORD = "alice", "alice-bench-password"
REDIRECT = "http://localhost:21402/signin-oidc"
USER_SCOPES = ("openid", "profile", "api1", "offline_access")
VERIFIER = "bench-" + "v" * 60  # PKCE verifier shared by every prepared code (each code once)
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()
                                     ).rstrip(b"=").decode()
TARGETS = {"rs256": 0.85, "es256": 0.90}  # client credentials / signing ceiling

DOCUMENT: dict[str, Any] = {"IdentityServer": {
    "ApiScopes": [{"Name": "api1"}],
    "ApiResources": [{"Name": "api1", "Scopes": ["api1"], "ApiSecrets": [
        {"Value": "AUwkP/lg6Hr8hIJkj0HiCE3OdlqgYtzcv04OQ8TbikE="}]}],  # "api-secret"
    "Clients": [
        {"ClientId": "bench.client", "ClientSecrets": [{"Value": te.SECRET_SHA256}],
         "AllowedGrantTypes": ["client_credentials"], "AllowedScopes": ["api1"]},
        {"ClientId": "bench.reference", "ClientSecrets": [{"Value": te.SECRET_SHA256}],
         "AllowedGrantTypes": ["client_credentials"], "AllowedScopes": ["api1"],
         "AccessTokenType": "Reference", "AccessTokenLifetime": 86400},
        {"ClientId": "bench.code", "ClientSecrets": [{"Value": te.SECRET_SHA256}],
         "AllowedGrantTypes": ["authorization_code"], "AllowOfflineAccess": True,
         "RequireConsent": False, "RedirectUris": [REDIRECT],
         "AllowedScopes": ["openid", "profile", "api1"]},
        {"ClientId": "bench.refresh", "ClientSecrets": [{"Value": te.SECRET_SHA256}],
         "AllowedGrantTypes": ["authorization_code"], "AllowOfflineAccess": True,
         "RequireConsent": False, "RedirectUris": [REDIRECT], "RefreshTokenUsage": "ReUse",
         "AllowedScopes": ["openid", "profile", "api1"]},
    ],
}}

# Run in a subprocess with the nodes' settings: the user, the codes and the refresh token, made
# with the server's own record builders and written in bulk (the timed runs redeem them).
PREPARE = """
import dataclasses, json, sys
from datetime import timedelta
import django
django.setup()
from django.contrib.auth import get_user_model
from identity import clock
from identity.domain.grants import CodeData, PersistedGrant, RefreshTokenData
from identity.domain.requests import UserSession
from identity.grants import records
from identity.grants.handles import handle_key, new_handle
from identity.models import PersistedGrant as Row

a = json.loads(sys.argv[1])
user = get_user_model().objects.create_user(a["username"], email="alice@example.com",
    password=a["password"], first_name="Alice", last_name="Bench")
now = clock.now()
session = UserSession(str(user.pk), int(now.timestamp()), "bench-session", ("pwd",))
names = [f.name for f in dataclasses.fields(PersistedGrant)]
def row(grant):
    return Row(**{n: getattr(grant, n) for n in names})
codes, rows = [], []
until = now + timedelta(seconds=a["code_seconds"])
for _ in range(a["codes"]):
    handle = new_handle()
    codes.append(handle)
    rows.append(row(records.code_grant(handle_key(handle), "bench.code", session, now, until,
        CodeData(redirect_uri=a["redirect"], scopes=tuple(a["scopes"]),
                 auth_time=session.auth_time, code_challenge=a["challenge"],
                 code_challenge_method="S256"))))
Row.objects.bulk_create(rows, batch_size=5000)
refresh = new_handle()
later = now + timedelta(days=30)
Row.objects.bulk_create([row(records.refresh_grant(
    handle_key(refresh), "bench.refresh", session, handle_key(new_handle()), now, later,
    RefreshTokenData(scopes=tuple(a["scopes"]), auth_time=session.auth_time,
                     absolute_expires=later.timestamp(), api_claims={})))])
with open(a["codes_file"], "w") as out:
    out.write("\\n".join(codes))
print(json.dumps({"subject": str(user.pk), "refresh_token": refresh, "codes": len(codes)}))
"""

# The CPU of one password check with the configured hasher (what a sign-in POST spends most on).
HASHER = """
import json, statistics, time
import django
django.setup()
from django.contrib.auth.hashers import check_password, get_hasher, make_password
hasher = get_hasher()
encoded = make_password("alice-bench-password")
times = []
for _ in range(7):
    started = time.process_time()
    assert check_password("alice-bench-password", encoded)
    times.append(time.process_time() - started)
print(json.dumps({"algorithm": hasher.algorithm, "iterations": getattr(hasher, "iterations", None),
                  "cpu_ms": statistics.median(times) * 1000, "runs": len(times)}))
"""

NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {work}/nginx-tmp/body;
  proxy_temp_path {work}/nginx-tmp/proxy;
  fastcgi_temp_path {work}/nginx-tmp/fastcgi;
  uwsgi_temp_path {work}/nginx-tmp/uwsgi;
  scgi_temp_path {work}/nginx-tmp/scgi;
{upstreams}
}}
"""
NGINX_UPSTREAM = """\
  upstream {name} {{ server 127.0.0.1:{a}; server 127.0.0.1:{b}; }}
"""
# Each cluster is served on two ports: on the first the caller is the balancer's peer (wrk); on
# the second, for the -callers scenarios, the address wrk writes in X-Bench-Caller.
NGINX_SERVER = """\
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://{name};
      proxy_set_header Host {host};
      proxy_set_header X-Forwarded-For {caller};
      proxy_set_header X-Forwarded-Proto $scheme;
    }}
  }}
"""


@dataclass(frozen=True)
class Scenario:
    name: str  # for --only
    label: str
    cluster: str  # "rs256" or "es256": which nodes (and balancer port) serve it
    method: str
    path: str
    expect: str  # what the check request must answer: see check()
    # > 0: sent from that many caller addresses in turn (through the balancer's callers port,
    # which passes wrk's X-Bench-Caller on as X-Forwarded-For); not in a run without --only.
    callers: int = 0


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("cc-rs256", "client credentials, RS256", "rs256", "POST", "/connect/token", "RS256"),
    Scenario("ceiling-rs256", "signing ceiling, RS256", "rs256", "POST",
             "/bench/ceiling/rs256", "RS256"),
    Scenario("mget-rs256", "signing ceiling + the cache read, RS256", "rs256", "POST",
             "/bench/ceiling/rs256-mget", "RS256"),
    Scenario("cc-es256", "client credentials, ES256", "es256", "POST", "/connect/token", "ES256"),
    Scenario("ceiling-es256", "signing ceiling, ES256", "es256", "POST",
             "/bench/ceiling/es256", "ES256"),
    Scenario("mget-es256", "signing ceiling + the cache read, ES256", "es256", "POST",
             "/bench/ceiling/es256-mget", "ES256"),
    *(Scenario(f"cc-es256-{n}-callers", f"client credentials, ES256, {n:,} caller addresses",
               "es256", "POST", "/connect/token", "ES256", callers=n) for n in (100, 1000, 10000)),
    Scenario("code", "authorization code + refresh token (RS256)", "rs256", "POST",
             "/connect/token", "code"),
    Scenario("refresh", "refresh, ReUse (RS256)", "rs256", "POST", "/connect/token", "refresh"),
    Scenario("introspect-jwt", "introspection, JWT", "rs256", "POST", "/connect/introspect",
             "active"),
    Scenario("introspect-reference", "introspection, reference token", "rs256", "POST",
             "/connect/introspect", "active"),
    Scenario("userinfo", "userinfo (RS256 user token)", "rs256", "GET", "/connect/userinfo",
             "userinfo"),
    Scenario("signin", "sign-in POST (password check)", "rs256", "POST", "/account/login",
             "signin"),
)
BY_NAME = {s.name: s for s in SCENARIOS}


@dataclass
class Cluster:
    name: str
    nodes: list[harness.Server]
    port: int = 0  # the balancer's
    callers_port: int = 0  # the balancer's, taking the caller's address from X-Bench-Caller

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def callers_base(self) -> str:
        return f"http://127.0.0.1:{self.callers_port}"

    def workers(self) -> list[int]:
        return [pid for node in self.nodes for pid in harness.worker_pids(node.process.pid)]


@dataclass
class Run:
    """One wrk run and what it cost, per component."""

    wrk: te.WrkResult
    exhausted: int
    counts: dict[str, int]
    workers_cpu: float
    balancer_cpu: float
    postgres_cpu: float
    redis_cpu: float

    def per_request(self, seconds: float) -> float:
        served = self.counts["requests"]
        return seconds / served * 1e6 if served else 0.0


@dataclass
class Measured:
    scenario: Scenario
    cluster: Cluster
    headers: dict[str, str]
    body: str
    pool: bool = False  # a different code per request
    runs: list[Run] = field(default_factory=list)

    @property
    def base(self) -> str:
        """Where wrk sends the requests: the balancer, on its callers port for many callers."""
        return self.cluster.callers_base if self.scenario.callers else self.cluster.base

    def median(self, value: Callable[[Run], float]) -> float:
        return statistics.median(value(r) for r in self.runs)

    def total(self, name: str) -> int:
        return sum(r.counts[name] for r in self.runs)

    def per_request_count(self, name: str) -> float:
        served = self.total("requests")
        return self.total(name) / served if served else 0.0


# --- processes ---------------------------------------------------------------------------------

def admin_sql(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_ADMIN}/postgres", autocommit=True) as db:
        db.execute(sql.encode())


def forget_keys(prefix: str) -> None:
    import redis

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start:start + 500])
    finally:
        client.close()


def start_nginx(work: Path, clusters: list[Cluster], stack: ExitStack) -> subprocess.Popen[bytes]:
    (work / "nginx-tmp").mkdir()
    blocks = []
    for cluster in clusters:
        cluster.port, cluster.callers_port = harness.free_port(), harness.free_port()
        blocks.append(NGINX_UPSTREAM.format(name=cluster.name, a=cluster.nodes[0].port,
                                            b=cluster.nodes[1].port))
        for port, caller in ((cluster.port, "$remote_addr"),
                             (cluster.callers_port, "$http_x_bench_caller")):
            blocks.append(NGINX_SERVER.format(name=cluster.name, port=port, host=ISSUER_HOST,
                                              caller=caller))
    conf = work / "nginx.conf"
    conf.write_text(NGINX_CONF.format(work=work, upstreams="".join(blocks)))
    log = work / "nginx-error.log"
    process = subprocess.Popen([NGINX, "-p", str(work), "-c", str(conf), "-e", str(log)],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT, start_new_session=True)
    stack.callback(stop_group, process)
    deadline = time.monotonic() + 20
    while not all(_listening(c.port) and _listening(c.callers_port) for c in clusters):
        if process.poll() is not None or time.monotonic() > deadline:
            raise BenchError(f"nginx did not start:\n{harness.log_tail(log)}")
        time.sleep(0.1)
    return process


def _listening(port: int) -> bool:
    from tests.helpers.servers import listening

    return listening(port)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


# --- CPU of the components ---------------------------------------------------------------------

def _ticks_of(pids: list[int]) -> dict[int, int]:
    ticks = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        ticks[pid] = int(fields[11]) + int(fields[12])
    return ticks


def _pids_matching(test: Callable[[bytes, bytes], bool]) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_bytes().strip()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if test(comm, cmdline):
            found.append(int(entry.name))
    return found


class CpuProbe:
    """User + system CPU seconds, between two readings, of the processes a function lists
    (processes that started in between count from zero, those gone are lost)."""

    def __init__(self, pids: Callable[[], list[int]]) -> None:
        self.pids = pids
        self.before: dict[int, int] = {}

    def start(self) -> None:
        self.before = _ticks_of(self.pids())

    def seconds(self) -> float:
        after = _ticks_of(self.pids())
        used = sum(t - self.before.get(pid, 0) for pid, t in after.items())
        return max(0, used) / harness.CLOCK_TICKS


# --- wrk ---------------------------------------------------------------------------------------

def write_lua(work: Path, item: Measured, pool: Path | None = None) -> Path:
    name = f"{item.scenario.name}{'-pool' if pool else ''}.lua"
    return wrk.write_script(work / name, method=item.scenario.method, headers=item.headers,
                            body=item.body, pool=pool, callers=item.scenario.callers)


class CodePool:
    """The prepared codes, handed out in slices, one file per wrk thread per run."""

    def __init__(self, path: Path) -> None:
        self.codes = path.read_text().split("\n")
        self.next = 0

    def take(self, count: int) -> list[str]:
        if self.next + count > len(self.codes):
            raise BenchError(f"out of prepared codes ({len(self.codes)}); lower --duration")
        taken = self.codes[self.next:self.next + count]
        self.next += count
        return taken

    def write(self, work: Path, tag: str, count: int) -> Path:
        return wrk.write_pool(work / f"codes-{tag}", self.take(count), WRK_THREADS)


@dataclass
class Context:
    work: Path
    database: str
    clusters: dict[str, Cluster]
    balancer: subprocess.Popen[bytes]
    codes: CodePool
    connections: int


def wait_until_idle(cluster: Cluster, limit: float = 30.0) -> None:
    """Wait until the cluster's workers have finished what the last run left queued (sign-ins
    answered after wrk stopped), so that it counts in neither run."""
    deadline = time.monotonic() + limit
    probe = CpuProbe(cluster.workers)
    while time.monotonic() < deadline:
        probe.start()
        time.sleep(0.3)
        if probe.seconds() < 0.02:
            return


def measure(item: Measured, ctx: Context, seconds: float, tag: str) -> Run:
    """One wrk run against the balancer, with every component's CPU and the workers' counts."""
    for cluster in ctx.clusters.values():
        wait_until_idle(cluster)
    lua_path = ctx.work / f"{item.scenario.name}.lua"
    pool = None
    if item.pool:
        pool = ctx.codes.write(ctx.work, tag, int(CODE_RATE_MAX * seconds))
        lua_path = write_lua(ctx.work, item, pool)
    cluster = item.cluster
    workers = CpuProbe(cluster.workers)
    balancer = CpuProbe(lambda: _group(ctx.balancer.pid))
    db_name = f" {ctx.database} ".encode()
    postgres = CpuProbe(lambda: _pids_matching(
        lambda comm, cmd: cmd.startswith(b"postgres: ") and db_name in cmd))
    redis = CpuProbe(lambda: _pids_matching(lambda comm, cmd: comm == b"redis-server"))
    probes = (workers, balancer, postgres, redis)
    all_ours = CpuProbe(lambda: [p for c in ctx.clusters.values() for n in c.nodes
                                 for p in [n.process.pid, *harness.worker_pids(n.process.pid)]])
    counts_dir = ctx.work / "counts"
    for probe in (*probes, all_ours):
        probe.start()
    counts_before = counting.read_all(counts_dir)
    busy_before, total_before = harness.machine_ticks()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cmd = ["wrk", f"-t{WRK_THREADS}", f"-c{ctx.connections}", f"-d{seconds:g}s", "--latency",
           "--timeout", "10s", "-s", str(lua_path), item.base + item.scenario.path]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy_after, total_after = harness.machine_ticks()
    time.sleep(0.05)  # the last responses' bookkeeping
    counts = counting.difference(counting.read_all(counts_dir), counts_before)
    used = [probe.seconds() for probe in probes]
    ours = all_ours.seconds()
    if pool is not None:
        wrk.drop_pool(pool)
    data = wrk.summary(done, cmd)
    result = te.WrkResult.from_summary(data, used[0])
    wrk_cpu = (children_after.ru_utime + children_after.ru_stime
               - children_before.ru_utime - children_before.ru_stime)
    capacity = (total_after - total_before) / harness.CLOCK_TICKS
    busy = (busy_after - busy_before) / harness.CLOCK_TICKS
    if capacity > 0:
        known = ours + used[1] + used[2] + used[3] + wrk_cpu
        result.others_cpu_share = max(0.0, busy - known) / capacity
    return Run(result, data["exhausted"], counts, *used)


def _group(pgid: int) -> list[int]:
    """The pids of a process group (the balancer's master and worker)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[2]) == pgid:
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


# --- preparation and checks --------------------------------------------------------------------

def http(method: str, url: str, headers: dict[str, str], body: str = ""
         ) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body.encode() if body else None,
                                     headers=headers, method=method)

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers.items()), err.read()


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def check(item: Measured, code: str | None = None) -> dict[str, Any]:
    """Send one request as wrk will; fail unless the answer is the expected one."""
    scenario = item.scenario
    body = item.body + (code or "")
    status, headers, raw = http(scenario.method, item.base + scenario.path, item.headers, body)
    answer = _json(raw)
    expect = scenario.expect
    ok = status == 200
    if expect in ("RS256", "ES256"):
        token = answer.get("access_token", "")
        ok = ok and te.jwt_header(token).get("alg") == expect if token.count(".") == 2 else False
    elif expect == "code":
        ok = ok and all(answer.get(k) for k in ("access_token", "refresh_token", "id_token"))
    elif expect == "refresh":
        ok = ok and bool(answer.get("access_token")) and answer.get("refresh_token") == (
            item.body.split("refresh_token=", 1)[1])
    elif expect == "active":
        ok = ok and answer.get("active") is True
    elif expect == "userinfo":
        ok = ok and bool(answer.get("sub")) and bool(answer.get("name"))
    elif expect == "signin":
        location = headers.get("Location", "")
        ok = status == 302 and "login" not in location
    if not ok:
        raise BenchError(f"{scenario.label}: {scenario.method} {scenario.path} answered {status} "
                         f"{raw[:600]!r}")
    return answer


def node_env(work: Path, database: str, prefix: str, algorithm: str,
             trace: Path | None = None, cache_options: str = "") -> dict[str, str]:
    env = harness.environment_without((*harness.SETTINGS_ENV, "DB_CONN_MAX_AGE",
                                       "DB_TRANSACTION_POOLING", "BENCH_SIGNING_ALGORITHM"))
    empty = work / "empty.env"
    empty.touch()
    env.update({
        "DJANGO_SETTINGS_MODULE": "bench.production_settings",
        "ENV_FILE": str(empty),
        "DATABASE_URL": f"{PG_ADMIN}/{database}",
        "CACHE_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}?key_prefix={prefix}"
                     f"{'&' if cache_options else ''}{cache_options}",
        "IDENTITY_ISSUER": ISSUER,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DEBUG": "False",
        "SECRET_KEY": "bench-prod-shared-" + hashlib.sha256(prefix.encode()).hexdigest(),
        "IDENTITY_CLIENTS_FILE": "",
        "BENCH_SIGNING_ALGORITHM": algorithm,
        "BENCH_COUNTS_DIR": str(work / "counts"),
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    if trace is not None:
        env["BENCH_SQL_LOG"] = str(trace)
    return env


def code_count(args: argparse.Namespace, names: set[str]) -> int:
    if "code" not in names:
        return 1
    runs = args.rounds * args.duration + WARMUP_SECONDS
    return int(CODE_RATE_MAX * runs) + 10 * (args.rounds + 2) + 10


def prepare(args: argparse.Namespace, work: Path, stack: ExitStack
            ) -> tuple[Context, dict[str, Measured], dict[str, Any]]:
    run_id = secrets.token_hex(4)
    database = f"identity_bench_prod_{run_id}"
    prefix = f"benchprod-{run_id}"
    (work / "counts").mkdir()
    logs = work / "logs"
    logs.mkdir()
    print(f"database {database}, Redis db {REDIS_DB} key prefix {prefix}", flush=True)
    admin_sql(f'CREATE DATABASE "{database}"')
    stack.callback(admin_sql, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    stack.callback(forget_keys, prefix)
    trace = (harness.RESULTS_DIR / f"production-trace-{run_id}.log") if args.trace else None
    if trace is not None:
        harness.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        print(f"  every statement and Redis command traced to {trace}", flush=True)
    envs = {alg: node_env(work, database, prefix, alg.upper(), trace, args.cache_options)
            for alg in ("rs256", "es256")}
    env = envs["rs256"]
    harness.manage(env, "migrate", "--noinput")
    (work / "clients.json").write_text(json.dumps(DOCUMENT))
    out = harness.manage(env, "import_clients", str(work / "clients.json"))
    print(f"  {out.strip().splitlines()[-1]}", flush=True)
    names = {s.name for s in args.scenarios}
    started = time.monotonic()
    made = json.loads(run([sys.executable, "-c", PREPARE, json.dumps({
        "username": USERNAME, "password": PASSWORD, "codes": code_count(args, names),
        "code_seconds": 4 * 3600, "redirect": REDIRECT, "scopes": list(USER_SCOPES),
        "challenge": CHALLENGE, "codes_file": str(work / "codes.txt")})],
        cwd=ROOT, env=env, what="preparing the user, codes and refresh token"))
    print(f"  prepared {made['codes']} codes and a refresh token in "
          f"{time.monotonic() - started:.1f} s", flush=True)
    hasher = json.loads(run([sys.executable, "-c", HASHER], cwd=ROOT, env=env,
                            what="timing check_password"))
    clusters: dict[str, Cluster] = {}
    for alg in ("rs256", "es256"):
        nodes = []
        for letter in "ab":
            name = f"{alg}-{letter}"
            node = harness.start_server(name, envs[alg], logs / f"{name}.log")
            stack.callback(harness.stop_server, node)
            nodes.append(node)
        clusters[alg] = Cluster(alg, nodes)
    balancer = start_nginx(work, list(clusters.values()), stack)
    for cluster in clusters.values():
        print(f"  {cluster.name}: nodes on {cluster.nodes[0].port} and {cluster.nodes[1].port}, "
              f"nginx on {cluster.port}", flush=True)
    ctx = Context(work, database, clusters, balancer, CodePool(work / "codes.txt"),
                  args.connections)
    items = build_items(args, ctx, made["refresh_token"])
    return ctx, items, {"hasher": hasher, "codes": made["codes"]}


def build_items(args: argparse.Namespace, ctx: Context, refresh_token: str
                ) -> dict[str, Measured]:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    client = {**form, "Authorization": basic("bench.client", SECRET)}
    api = {**form, "Authorization": basic("api1", API_SECRET)}
    rs = ctx.clusters["rs256"]
    cc_body = te.FORM_BODY
    items: dict[str, Measured] = {}
    wanted = {s.name for s in args.scenarios}

    def add(name: str, headers: dict[str, str], body: str, pool: bool = False) -> None:
        if name in wanted:
            scenario = BY_NAME[name]
            items[name] = Measured(scenario, ctx.clusters[scenario.cluster], headers, body, pool)

    for name in ("cc-rs256", "ceiling-rs256", "mget-rs256", "cc-es256", "ceiling-es256",
                 "mget-es256"):
        add(name, client, cc_body)
    for scenario in SCENARIOS:
        if scenario.callers:  # the check request's address; wrk sends its own
            add(scenario.name, {**client, "X-Bench-Caller": "10.255.255.254"}, cc_body)
    add("code", {**form, "Authorization": basic("bench.code", SECRET)},
        urlencode({"grant_type": "authorization_code", "redirect_uri": REDIRECT,
                   "code_verifier": VERIFIER}) + "&code=", pool=True)
    add("refresh", {**form, "Authorization": basic("bench.refresh", SECRET)},
        urlencode({"grant_type": "refresh_token", "refresh_token": refresh_token}))
    needs_tokens = wanted & {"introspect-jwt", "introspect-reference", "userinfo"}
    if needs_tokens:
        status, _, raw = http("POST", rs.base + "/connect/token", client, cc_body)
        jwt = _json(raw).get("access_token", "")
        status_ref, _, raw_ref = http("POST", rs.base + "/connect/token",
                                      {**form, "Authorization": basic("bench.reference", SECRET)},
                                      cc_body)
        reference = _json(raw_ref).get("access_token", "")
        status_user, _, raw_user = http(
            "POST", rs.base + "/connect/token",
            {**form, "Authorization": basic("bench.refresh", SECRET)},
            urlencode({"grant_type": "refresh_token", "refresh_token": refresh_token}))
        user_token = _json(raw_user).get("access_token", "")
        if not (jwt and reference and user_token):
            raise BenchError(f"tokens for introspection and userinfo: {status} {status_ref} "
                             f"{status_user} {raw_user[:300]!r}")
        add("introspect-jwt", api, f"token={jwt}")
        add("introspect-reference", api, f"token={reference}")
        add("userinfo", {"Authorization": f"Bearer {user_token}"}, "")
    if "signin" in wanted:
        status, headers, page = http("GET", rs.base + "/account/login", {})
        token = find_csrf_token(page.decode())
        cookie = headers.get("Set-Cookie", "").split(";", 1)[0]
        if status != 200 or not token or not cookie.startswith("csrftoken="):
            raise BenchError(f"sign-in page: {status}, no CSRF token or cookie")
        add("signin", {**form, "Cookie": cookie},
            urlencode({"csrfmiddlewaretoken": token, "username": USERNAME,
                       "password": PASSWORD}))
    for item in items.values():
        write_lua(ctx.work, item)
    return items


# --- report ------------------------------------------------------------------------------------

def versions() -> list[tuple[str, str]]:
    def tool(cmd: list[str]) -> str:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        text = (done.stdout or done.stderr).strip().splitlines()
        return text[0] if text else "unknown"

    import psycopg
    import redis

    with psycopg.connect(f"{PG_ADMIN}/postgres") as db:
        row = db.execute("SHOW server_version").fetchone()
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT)
    try:
        redis_version = str(client.info("server").get("redis_version", "unknown"))
    finally:
        client.close()
    return [
        ("Python", platform.python_version()),
        ("Django", metadata.version("Django")),
        ("PyJWT", metadata.version("PyJWT")),
        ("cryptography", metadata.version("cryptography")),
        ("gunicorn", metadata.version("gunicorn")),
        ("psycopg", metadata.version("psycopg")),
        ("redis-py", metadata.version("redis")),
        ("PostgreSQL", str(row[0]) if row else "unknown"),
        ("Redis", redis_version),
        ("nginx", tool([NGINX, "-v"]).replace("nginx version: ", "")),
        ("wrk", tool(["wrk", "-v"])),
    ]


def _gap_section(items: dict[str, Measured]) -> list[str]:
    """Split what client credentials cost beyond the ceiling: the token request's shared-cache
    read (the ceiling with the same read, less the ceiling) and the rest of the token request
    (client credentials, less the ceiling with the read); workers' CPU per request, medians over
    the rounds."""
    lines = ["", "## Where the gap goes", "",
             "Workers' CPU per request beyond the signing ceiling, medians over the rounds: the "
             "token request's shared-cache read (the ceiling after a `get_many` of as many keys "
             "through the project's Redis backend, less the ceiling; answered from the worker's "
             "tracked copies once warm, so the cost table tells whether it went to Redis) and "
             "the rest of its work (client credentials, less the ceiling with the read).", "",
             "| algorithm | ceiling µs | + the cache read µs | client credentials µs "
             "| the cache read µs | the rest µs |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for alg in TARGETS:
        measured = [items.get(f"{kind}-{alg}") for kind in ("ceiling", "mget", "cc")]
        if not all(measured):
            lines.append(f"| {alg.upper()} | not measured | | | | |")
            continue
        ceiling, mget, ours = (m.median(lambda r: r.per_request(r.workers_cpu))
                               for m in measured if m is not None)
        lines.append(f"| {alg.upper()} | {ceiling:.0f} | {mget:.0f} | {ours:.0f} | "
                     f"{mget - ceiling:.0f} | {ours - mget:.0f} |")
    return lines


def report(items: dict[str, Measured], args: argparse.Namespace, started: datetime,
           load: tuple[tuple[float, float, float], tuple[float, float, float]],
           extra: dict[str, Any], memory: list[tuple[str, int]]) -> str:
    mem_kb = harness.read_proc("/proc/meminfo", "MemTotal").split()[0]
    rows = [
        ("nproc", str(len(os.sched_getaffinity(0)))),
        ("CPU", harness.cpu_model()),
        ("memory", f"{int(mem_kb) / 1024 / 1024:.1f} GiB" if mem_kb.isdigit() else mem_kb),
        ("OS", platform.platform()),
        *versions(),
        ("load average (1, 5, 15 min)", f"before {_load(load[0])}; after {_load(load[1])}"),
        ("code measured", te.source_revision()),
    ]
    lines = [
        f"# Production configuration benchmark, {started:%Y-%m-%d %H:%M} UTC", "",
        f"`{' '.join(['bench/production.py', *sys.argv[1:]])}`: {args.rounds} round(s) of "
        f"{args.duration:g} s per scenario, interleaved; `wrk -t{WRK_THREADS} "
        f"-c{args.connections} --latency` against nginx (1 worker process, round-robin over two "
        f"nodes); each node gunicorn with {harness.WORKERS} sync workers; one PostgreSQL "
        "database, Redis as the cache; DEBUG off; everything, wrk included, on this machine.",
        "", "## Machine", "", "| | |", "| --- | --- |", *(f"| {k} | {v} |" for k, v in rows),
        "", "## Throughput", "",
        "Medians over the rounds; non-2xx and socket errors summed over the rounds. "
        "*Others' CPU*: the largest share of all CPUs used during a round by processes other "
        "than the nodes, nginx, wrk, Redis and the run's PostgreSQL backends.", "",
        "| scenario | requests/s | p50 ms | p99 ms | non-2xx | socket errors "
        "| requests/s per round | others' CPU |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for item in _ordered(items):
        runs = item.runs
        non2xx = sum(r.wrk.non2xx for r in runs)
        errors = sum(r.wrk.socket_errors for r in runs)
        exhausted = sum(r.exhausted for r in runs)
        flag = " **(errors)**" if non2xx or errors else ""
        lines.append(
            f"| {item.scenario.label} | {item.median(lambda r: r.wrk.rps):.0f} | "
            f"{item.median(lambda r: r.wrk.p50_ms):.2f} | "
            f"{item.median(lambda r: r.wrk.p99_ms):.2f} | {non2xx}{flag} | {errors} | "
            f"{', '.join(f'{r.wrk.rps:.0f}' for r in runs)}"
            f"{' (codes ran out: figures wrong)' if exhausted else ''} | "
            f"{max(r.wrk.others_cpu_share for r in runs):.0%} |")
    lines += [
        "", "## Cost per request", "",
        "CPU in µs per request served (median over the rounds): the gunicorn workers of the "
        "cluster's two nodes; nginx; the PostgreSQL backends of the run's database; the whole "
        "Redis server. Counts per request (totals over the rounds / requests the workers "
        "counted): SQL statements sent through Django (*writes*: INSERT, UPDATE, DELETE), "
        "commits, connection health checks (`SELECT 1` at a request's first query), Redis "
        "round trips (commands in parentheses when pipelines sent more).", "",
        "| scenario | workers CPU µs | nginx µs | PostgreSQL µs | Redis µs | SQL statements "
        "| writes | commits | health checks | Redis round trips |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for item in _ordered(items):
        redis_rt = item.per_request_count("redis_round_trips")
        redis_cmd = item.per_request_count("redis_commands")
        shown = f"{redis_rt:.2f}" + (f" ({redis_cmd:.2f})" if redis_cmd > redis_rt + 0.005
                                     else "")
        lines.append(
            f"| {item.scenario.label} | {item.median(lambda r: r.per_request(r.workers_cpu)):.0f}"
            f" | {item.median(lambda r: r.per_request(r.balancer_cpu)):.0f}"
            f" | {item.median(lambda r: r.per_request(r.postgres_cpu)):.0f}"
            f" | {item.median(lambda r: r.per_request(r.redis_cpu)):.0f}"
            f" | {item.per_request_count('queries'):.2f}"
            f" | {item.per_request_count('writes'):.2f}"
            f" | {item.per_request_count('commits'):.2f}"
            f" | {item.per_request_count('health_checks'):.2f} | {shown} |")
    lines += ["", "## Ratios to the signing ceiling", "",
              "Medians over the rounds, and the ratio within each round (client credentials and "
              "its ceiling run in the same round, within a minute of each other): on a machine "
              "whose speed changes during the run, their spread says how far to trust the "
              "medians. The target counts as met only when the three ratios (requests/s, "
              "workers' CPU, the median of the rounds) all meet it.", "",
              "| ratio | requests/s | from workers' CPU/request | per round (requests/s) "
              "| median of the rounds | target | |",
              "| --- | ---: | ---: | --- | ---: | ---: | --- |"]
    for alg, target in TARGETS.items():
        ours, ceiling = items.get(f"cc-{alg}"), items.get(f"ceiling-{alg}")
        if not ours or not ceiling:
            lines.append(f"| client credentials / ceiling, {alg.upper()} | n/a | n/a | n/a | n/a | "
                         f"{target:.0%} | not measured |")
            continue
        by_rps = ours.median(lambda r: r.wrk.rps) / ceiling.median(lambda r: r.wrk.rps)
        ours_cpu = ours.median(lambda r: r.per_request(r.workers_cpu))
        by_cpu = ceiling.median(lambda r: r.per_request(r.workers_cpu)) / ours_cpu
        rounds = [o.wrk.rps / c.wrk.rps for o, c in zip(ours.runs, ceiling.runs, strict=False)]
        by_round = statistics.median(rounds)
        lines.append(f"| client credentials / ceiling, {alg.upper()} | {by_rps:.0%} | "
                     f"{by_cpu:.0%} | {', '.join(f'{r:.0%}' for r in rounds)} | "
                     f"{by_round:.0%} | {target:.0%} | "
                     f"{_verdict([by_rps, by_cpu, by_round], target)} |")
    lines += _gap_section(items)
    hasher = extra["hasher"]
    lines += ["", "## Sign-in and memory", "",
              f"One `check_password` with the configured hasher ({hasher['algorithm']}, "
              f"{hasher['iterations']} iterations): {hasher['cpu_ms']:.0f} ms of CPU (median of "
              f"{hasher['runs']}, in one process).", "",
              "Resident memory (VmRSS) after the run, warmed:", "",
              "| process | MiB |", "| --- | ---: |"]
    lines += [f"| {name} | {kib / 1024:.1f} |" for name, kib in memory]
    failed = [i.scenario.label for i in _ordered(items)
              if any(r.wrk.non2xx or r.wrk.socket_errors for r in i.runs)]
    if failed:
        lines += ["", f"**Runs with errors:** {', '.join(failed)}."]
    return "\n".join(lines) + "\n"


def _verdict(ratios: list[float], target: float) -> str:
    """Met only when every way of counting meets the target: on a machine whose speed moves,
    one of them alone can say "met" by chance."""
    met = sum(r >= target for r in ratios)
    if met == len(ratios):
        return "met"
    return "**missed**" if met == 0 else f"**not steadily met** ({met} of {len(ratios)})"


def _load(values: tuple[float, float, float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def _ordered(items: dict[str, Measured]) -> list[Measured]:
    return [items[s.name] for s in SCENARIOS if s.name in items and items[s.name].runs]


def memory_rows(clusters: dict[str, Cluster]) -> list[tuple[str, int]]:
    rows = []
    for cluster in clusters.values():
        for node in cluster.nodes:
            master = harness.rss_kib(node.process.pid)
            if master is not None:
                rows.append((f"{node.name} gunicorn master", master))
            for n, pid in enumerate(harness.worker_pids(node.process.pid), 1):
                kib = harness.rss_kib(pid)
                if kib is not None:
                    rows.append((f"{node.name} worker {n}", kib))
    return rows


# --- main --------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds per scenario (3)")
    parser.add_argument("--duration", type=float, default=10.0,
                        help="seconds of each wrk run (10)")
    parser.add_argument("--connections", type=int, default=8,
                        help="wrk connections to the balancer (8)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 round of 3 s")
    parser.add_argument("--trace", action="store_true",
                        help="log every SQL statement and Redis command of the workers to "
                             "bench/results/production-trace-RUN.log (slows them down)")
    parser.add_argument("--only", default="",
                        help=f"comma-separated scenarios: {', '.join(BY_NAME)}")
    parser.add_argument("--cache-options", default="", metavar="QUERY",
                        help="added to the nodes' CACHE_URL query, e.g. local_copy_seconds=0 "
                             "(no local copies of Redis's values: a round trip per read)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.duration = 1, 3.0
    names = [n.strip().lower() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
    args.scenarios = [s for s in SCENARIOS
                      if s.name in names or (not names and not s.callers)]
    if args.rounds < 1 or args.duration <= 0 or args.connections < WRK_THREADS:
        parser.error("--rounds must be >= 1, --duration > 0, --connections >= 2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for tool in ("wrk", NGINX):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed", file=sys.stderr)
            return 2
    signal.signal(signal.SIGTERM, harness.exit_on_sigterm)
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-prod-")))
        ctx, items, extra = prepare(args, work, stack)
        for item in items.values():
            code = ctx.codes.take(1)[0] if item.pool else None
            check(item, code)
            measure(item, ctx, WARMUP_SECONDS, "warmup")
            print(f"  {item.scenario.label}: checked and warmed up", flush=True)
        order = list(items.values())
        for round_no in range(args.rounds):
            shift = round_no % len(order)
            for item in order[shift:] + order[:shift]:
                result = measure(item, ctx, args.duration, f"r{round_no}")
                item.runs.append(result)
                served = result.counts["requests"]
                flag = (f"  ({result.wrk.non2xx} non-2xx, {result.wrk.socket_errors} socket "
                        "errors)" if result.wrk.non2xx or result.wrk.socket_errors else "")
                print(f"round {round_no + 1}/{args.rounds}  {item.scenario.label:50} "
                      f"{result.wrk.rps:7.0f} req/s  p50 {result.wrk.p50_ms:6.2f}  "
                      f"p99 {result.wrk.p99_ms:6.2f} ms  "
                      f"{result.per_request(result.workers_cpu):6.0f} µs CPU  "
                      f"{result.counts['queries'] / max(1, served):.2f} SQL  "
                      f"{result.counts['redis_round_trips'] / max(1, served):.2f} Redis  "
                      f"others {result.wrk.others_cpu_share:3.0%}{flag}", flush=True)
        memory = memory_rows(ctx.clusters)
        text = report(items, args, started, (load_before, os.getloadavg()), extra, memory)
    harness.write_report("production", text, started, quick=args.quick)
    return 0


if __name__ == "__main__":
    harness.run_main(main, "servers stopped, database dropped")
