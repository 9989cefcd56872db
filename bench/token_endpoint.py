#!/usr/bin/env python
"""Benchmark the token endpoint (client credentials) against its ceilings and django-oauth-toolkit.

Every configuration runs under gunicorn (2 sync workers, 127.0.0.1, SQLite in a temporary folder,
DEBUG off, local-memory cache) and is measured with wrk (`-t2 -c4 -d10s --latency`) posting
`grant_type=client_credentials&scope=api1` with HTTP Basic credentials:

    ours-rs256      POST /connect/token, IDENTITY["SIGNING_ALGORITHMS"] = ["RS256"]
    ours-es256      the same with ["ES256"]
    ceiling-django  (a) a trivial Django view answering a small JSON body (same settings)
    ceiling-rs256   (b) the same view signing a JWT with PyJWT, RSA-2048, our claim set
    ceiling-es256   (b) the same with P-256
    dot-plain       (c) django-oauth-toolkit's /o/token/, hash_client_secret=False
    dot-default     (c) django-oauth-toolkit's /o/token/, default (hashed) client secret

    .venv/bin/python bench/token_endpoint.py [--rounds 3] [--duration 10] [--quick]
                                             [--only ours-rs256,ceiling-rs256,...]

Rounds are interleaved across the configurations (the order rotates each round) so that machine
noise spreads evenly. django-oauth-toolkit is installed from PyPI into its own virtual
environment, bench/results/.dot-venv (git-ignored; delete it to reinstall). The Markdown report
is printed and written to bench/results/token_endpoint-<timestamp>.md.
"""

from __future__ import annotations

import argparse
import base64
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
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness, wrk  # noqa: E402 - after the checkout is on sys.path
from bench.harness import (  # noqa: E402
    RESULTS_DIR,
    ROOT,
    WORKERS,
    BenchError,
    Server,
    exit_on_sigterm,
    log_tail,
    machine_ticks,
    read_proc,
    run,
)

DOT_VENV = RESULTS_DIR / ".dot-venv"

CLIENT_SECRET = "secret"
SECRET_SHA256 = "K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols="  # Base64(SHA-256("secret"))
FORM = {"grant_type": "client_credentials", "scope": "api1"}
FORM_BODY = urlencode(FORM)
WRK_THREADS = 2
WRK_CONNECTIONS = 4
WARMUP_REQUESTS = 20
WARMUP_WRK_SECONDS = 2

TARGET_SIGNING_SHARE = 0.85  # ours >= 85% of (b), per algorithm
TARGET_DOT_FACTOR = 10.0  # ours >= 10x django-oauth-toolkit at its fastest
TARGET_P99_MS = 10.0

# Variables of settings.settings that would change what is measured; the script sets its own.
PROJECT_ENV_DROPPED = (*harness.SETTINGS_ENV, "DB_CONN_MAX_AGE")

REDIS_URL = f"redis://127.0.0.1:6379/15?key_prefix=bench-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Config:
    """One measured configuration: which server, which path, which client."""

    name: str  # for --only
    label: str  # in the report
    kind: str  # "ours" (the project under bench.settings) or "dot"
    path: str
    client_id: str
    algorithm: str | None = None  # the JWT alg the response must carry; None: not a JWT
    server_env: tuple[tuple[str, str], ...] = ()


CONFIGS: tuple[Config, ...] = (
    Config("ours-rs256", "ours-RS256", "ours", "/connect/token", "bench.client", "RS256",
           (("BENCH_SIGNING_ALGORITHM", "RS256"),)),
    Config("ours-es256", "ours-ES256", "ours", "/connect/token", "bench.client", "ES256",
           (("BENCH_SIGNING_ALGORITHM", "ES256"),)),
    # The same on Redis (a database of its own and a fresh key prefix per run): the caches and
    # the failure counters are shared there, so no database read remains on this path.
    Config("ours-rs256-redis", "ours-RS256, Redis cache", "ours", "/connect/token",
           "bench.client", "RS256",
           (("BENCH_SIGNING_ALGORITHM", "RS256"), ("CACHE_URL", REDIS_URL))),
    Config("ours-es256-redis", "ours-ES256, Redis cache", "ours", "/connect/token",
           "bench.client", "ES256",
           (("BENCH_SIGNING_ALGORITHM", "ES256"), ("CACHE_URL", REDIS_URL))),
    Config("ceiling-django", "(a) Django ceiling", "ours", "/bench/ceiling/django",
           "bench.client"),
    Config("ceiling-rs256", "(b) signing ceiling RS256", "ours", "/bench/ceiling/rs256",
           "bench.client", "RS256"),
    Config("ceiling-es256", "(b) signing ceiling ES256", "ours", "/bench/ceiling/es256",
           "bench.client", "ES256"),
    Config("dot-plain", "(c) DOT, hash_client_secret=False", "dot", "/o/token/", "bench.plain"),
    Config("dot-default", "(c) DOT, default (hashed secret)", "dot", "/o/token/",
           "bench.client"),
)
BY_NAME = {c.name: c for c in CONFIGS}

# The client and resources our server serves, in the IdentityServer document format.
CLIENTS_DOCUMENT: dict[str, Any] = {"IdentityServer": {
    "ApiScopes": [{"Name": "api1"}],
    "ApiResources": [{"Name": "api1", "Scopes": ["api1"]}],
    "Clients": [{
        "ClientId": "bench.client",
        "ClientName": "Token endpoint benchmark",
        "ClientSecrets": [{"Value": SECRET_SHA256}],
        "AllowedGrantTypes": ["client_credentials"],
        "AllowedScopes": ["api1"],
    }],
}}

# wrk posts the form; done() prints the numbers as one JSON line (latencies in microseconds).
WRK_SCRIPT = """\
wrk.method = "POST"
wrk.body = "{body}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "{authorization}"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {{"requests": %d, "duration_us": %d, "non2xx": %d, "connect": %d, ' ..
    '"read": %d, "write": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}}\\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


@dataclass
class WrkResult:
    """One wrk run, with the CPU time the server used and the CPU others used meanwhile."""

    requests: int
    seconds: float
    non2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    server_cpu_s: float = 0.0  # gunicorn master and workers, user + system
    others_cpu_share: float = 0.0  # CPU used by neither the server nor wrk, share of all CPUs

    @classmethod
    def from_summary(cls, data: dict[str, Any], server_cpu_s: float = 0.0) -> WrkResult:
        """The run's figures from the summary line of the wrk scripts (`done()`)."""
        return cls(requests=data["requests"], seconds=data["duration_us"] / 1e6,
                   non2xx=data["non2xx"],
                   socket_errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
                   p50_ms=data["p50_us"] / 1000, p99_ms=data["p99_us"] / 1000,
                   server_cpu_s=server_cpu_s)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_us_per_request(self) -> float:
        return self.server_cpu_s / self.requests * 1e6 if self.requests else 0.0


@dataclass
class Measured:
    """A configuration's server, its check response and its runs."""

    config: Config
    server: Server
    lua: Path
    token_chars: int = 0
    runs: list[WrkResult] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}{self.config.path}"

    def median_rps(self) -> float:
        return statistics.median(r.rps for r in self.runs)

    def median_p50(self) -> float:
        return statistics.median(r.p50_ms for r in self.runs)

    def median_p99(self) -> float:
        return statistics.median(r.p99_ms for r in self.runs)

    def median_cpu_us(self) -> float:
        return statistics.median(r.cpu_us_per_request for r in self.runs)


# --- our project -------------------------------------------------------------------------------

def project_env(work: Path, extra: tuple[tuple[str, str], ...] = ()) -> dict[str, str]:
    """Environment of settings.settings (via bench.settings) for the benchmark's own data."""
    env = harness.environment_without(PROJECT_ENV_DROPPED)
    empty_env_file = work / "empty.env"
    empty_env_file.touch()
    env.update({
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "ENV_FILE": str(empty_env_file),  # a developer's .env must not change the numbers
        "DATABASE_URL": f"sqlite:///{work / 'identity.sqlite3'}",
        "CACHE_URL": "locmemcache://identity",
        "DEBUG": "False",
        "SECRET_KEY": "bench-" + secrets.token_urlsafe(40),
        "IDENTITY_CLIENTS_FILE": "",
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    env.update(dict(extra))
    return env


@contextmanager
def seeded_server(name: str,
                  document: dict[str, Any]) -> Iterator[tuple[Path, dict[str, str], str]]:
    """Serve the project with gunicorn on SQLite in a temporary folder, `document` imported:
    yield the folder, the environment and the server's base URL; stop and remove it all after."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as folder:
        work = Path(folder)
        env = project_env(work)
        (work / "clients.json").write_text(json.dumps(document))
        harness.manage(env, "migrate", "--noinput")
        harness.manage(env, "import_clients", str(work / "clients.json"))
        server = harness.start_server(name, env, work / "gunicorn.log")
        try:
            yield work, env, f"http://127.0.0.1:{server.port}"
        finally:
            harness.stop_server(server)


def wrk_arguments(description: str, argv: list[str] | None) -> argparse.Namespace:
    """Parse the options every wrk benchmark takes: --rounds, --duration, --quick."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per wrk run")
    parser.add_argument("--quick", action="store_true", help="1 round of 3 s")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.duration = 1, 3.0
    return args


def prepare_project(work: Path) -> dict[str, str]:
    """Migrate a fresh SQLite database and import the benchmark's client; return its env."""
    env = project_env(work)  # one SECRET_KEY for every server: they share the signing keys
    document = work / "clients.json"
    document.write_text(json.dumps(CLIENTS_DOCUMENT, indent=2))
    harness.manage(env, "migrate", "--noinput")
    out = harness.manage(env, "import_clients", str(document))
    print(f"  our database: {out.strip().splitlines()[-1]}", flush=True)
    return env


# --- django-oauth-toolkit ----------------------------------------------------------------------

DOT_SETTINGS = '''\
"""Minimal project serving django-oauth-toolkit's token endpoint (generated by the benchmark)."""
SECRET_KEY = {secret_key!r}
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "oauth2_provider",
]
# Django's default middleware: the same as the identity project's, less WhiteNoise.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "dotbench.urls"
TEMPLATES = [{{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {{"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]}},
}}]
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": {database!r}}}}}
CACHES = {{"default": {{"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
# The only change from DOT's defaults: the scope the benchmark asks for must exist.
OAUTH2_PROVIDER = {{"SCOPES": {{"api1": "API 1"}}, "DEFAULT_SCOPES": ["api1"]}}
'''

DOT_URLS = '''\
from django.urls import include, path

urlpatterns = [path("o/", include("oauth2_provider.urls", namespace="oauth2_provider"))]
'''

DOT_WSGI = '''\
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dotbench.settings")
application = get_wsgi_application()
'''

DOT_CREATE_APPS = '''\
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dotbench.settings")
django.setup()
from oauth2_provider.models import get_application_model  # noqa: E402

Application = get_application_model()
for client_id, hashed in (("bench.client", True), ("bench.plain", False)):
    app = Application(name=client_id, client_id=client_id, client_secret={secret!r},
                      client_type=Application.CLIENT_CONFIDENTIAL,
                      authorization_grant_type=Application.GRANT_CLIENT_CREDENTIALS,
                      hash_client_secret=hashed)
    app.save()
    stored = Application.objects.get(client_id=client_id).client_secret
    print(client_id, "hashed" if stored != {secret!r} else "plain", stored[:30])
'''


def dot_requirements() -> list[str]:
    """DOT from PyPI, with the Django and gunicorn versions of the project's environment."""
    return ["django-oauth-toolkit", f"Django=={metadata.version('Django')}",
            f"gunicorn=={metadata.version('gunicorn')}"]


def ensure_dot_venv() -> Path:
    """Create (once) the virtual environment with django-oauth-toolkit; return its python."""
    python = DOT_VENV / "bin" / "python"
    marker = DOT_VENV / "bench-requirements.txt"
    wanted = "\n".join(dot_requirements())
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    print(f"  installing {', '.join(dot_requirements())} into {DOT_VENV.relative_to(ROOT)}",
          flush=True)
    shutil.rmtree(DOT_VENV, ignore_errors=True)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "venv", str(DOT_VENV)], cwd=ROOT, what="creating the DOT venv")
    run([str(python), "-m", "pip", "install", "--quiet", *dot_requirements()], cwd=ROOT,
        what="pip install django-oauth-toolkit")
    marker.write_text(wanted)
    return python


def prepare_dot(work: Path, python: Path) -> tuple[Path, dict[str, str]]:
    """Generate DOT's project, migrate it, create both applications; return (dir, env)."""
    project = work / "dotproject"
    package = project / "dotbench"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(DOT_SETTINGS.format(
        secret_key="bench-" + secrets.token_urlsafe(40), database=str(work / "dot.sqlite3")))
    (package / "urls.py").write_text(DOT_URLS)
    (package / "wsgi.py").write_text(DOT_WSGI)
    (project / "create_apps.py").write_text(DOT_CREATE_APPS.format(secret=CLIENT_SECRET))
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE",
                                                               "PYTHONPATH")}
    env["DJANGO_SETTINGS_MODULE"] = "dotbench.settings"
    run([str(python), "-m", "django", "migrate", "--noinput"], cwd=project, env=env,
        what="DOT migrate")
    out = run([str(python), "create_apps.py"], cwd=project, env=env, what="DOT applications")
    for line in out.strip().splitlines():
        print(f"  DOT application: {line}", flush=True)
    if "bench.client hashed" not in out or "bench.plain plain" not in out:
        raise BenchError(f"DOT applications not stored as expected:\n{out}")
    return project, env


def dot_versions(python: Path) -> dict[str, str]:
    code = ("import importlib.metadata as m, json; print(json.dumps({n: m.version(n) for n in "
            "('django-oauth-toolkit', 'oauthlib', 'Django', 'gunicorn')}))")
    return json.loads(run([str(python), "-c", code], cwd=ROOT, what="DOT versions"))


# --- requests and wrk --------------------------------------------------------------------------

def post_token(url: str, client_id: str) -> tuple[int, bytes]:
    """POST the client-credentials form once; return (status, body)."""
    return harness.post_form(url, FORM, auth=(client_id, CLIENT_SECRET))


def jwt_header(token: str) -> dict[str, Any]:
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


def check_response(item: Measured) -> None:
    """Fail loudly unless one request answers 200 with an access token of the expected kind."""
    config = item.config
    status, body = post_token(item.url, config.client_id)
    try:
        token = json.loads(body)["access_token"]
    except (ValueError, KeyError, TypeError):
        token = None
    if status != 200 or not isinstance(token, str) or not token:
        raise BenchError(f"{config.label}: POST {item.url} answered {status}, not 200 with an "
                         f"access_token:\n{body[:1000]!r}\n--- server log ---\n"
                         f"{log_tail(item.server.log)}")
    if config.algorithm:
        parts = token.split(".")
        header = jwt_header(token) if len(parts) == 3 else {}
        if header.get("alg") != config.algorithm:
            raise BenchError(f"{config.label}: expected a {config.algorithm} JWT, got header "
                             f"{header} in {body[:300]!r}")
    item.token_chars = len(token)


def write_lua(work: Path, client_id: str) -> Path:
    path = work / f"post-{client_id}.lua"
    path.write_text(WRK_SCRIPT.format(body=FORM_BODY,
                                      authorization=harness.basic(client_id, CLIENT_SECRET)))
    return path


def measure(item: Measured, seconds: float) -> WrkResult:
    """Run wrk against one configuration, accounting the CPU time of its server and of others."""
    pgid = item.server.process.pid
    server_before = harness.group_cpu_seconds(pgid)
    busy_before, total_before = machine_ticks()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = run_wrk(item.url, item.lua, seconds)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy_after, total_after = machine_ticks()
    result.server_cpu_s = harness.group_cpu_seconds(pgid) - server_before
    wrk_cpu_s = (children_after.ru_utime + children_after.ru_stime
                 - children_before.ru_utime - children_before.ru_stime)
    busy_s = (busy_after - busy_before) / harness.CLOCK_TICKS
    capacity_s = (total_after - total_before) / harness.CLOCK_TICKS
    if capacity_s > 0:
        result.others_cpu_share = max(0.0, busy_s - result.server_cpu_s - wrk_cpu_s) / capacity_s
    return result


def run_wrk(url: str, lua: Path, seconds: float) -> WrkResult:
    """Run `wrk -t2 -c4 -dS --latency -s post.lua URL` and read the script's summary line."""
    cmd = ["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{seconds:g}s", "--latency",
           "-s", str(lua), url]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return WrkResult.from_summary(wrk.summary(done, cmd))


def warm_up(item: Measured) -> None:
    """A few sequential requests, then a short wrk run so that every worker has served some."""
    for _ in range(WARMUP_REQUESTS):
        post_token(item.url, item.config.client_id)
    run_wrk(item.url, item.lua, WARMUP_WRK_SECONDS)


# --- report ------------------------------------------------------------------------------------

def source_revision() -> str:
    """Return the checked-out commit, and whether code outside bench/ has uncommitted changes."""
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=False)
    if head.returncode != 0:
        return "not a git checkout"
    status = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", ".",
                             ":(exclude)bench"], capture_output=True, text=True, check=False)
    dirty = " with uncommitted changes" if status.stdout.strip() else ""
    return f"{head.stdout.strip()}{dirty}"


def machine_lines(dot: dict[str, str] | None, load: tuple[float, float]) -> list[str]:
    mem_kb = read_proc("/proc/meminfo", "MemTotal").split()[0]
    memory = f"{int(mem_kb) / 1024 / 1024:.1f} GiB" if mem_kb.isdigit() else mem_kb
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    wrk_version = (wrk.stdout or wrk.stderr).strip().splitlines()[0:1]
    rows = [
        ("nproc", str(len(os.sched_getaffinity(0)))),
        ("CPU", read_proc("/proc/cpuinfo", "model name")),
        ("memory", memory),
        ("OS", platform.platform()),
        ("Python", platform.python_version()),
        ("Django", metadata.version("Django")),
        ("PyJWT", metadata.version("PyJWT")),
        ("cryptography", metadata.version("cryptography")),
        ("gunicorn", metadata.version("gunicorn")),
        ("wrk", wrk_version[0] if wrk_version else "unknown"),
        ("load average (1 min)", f"{load[0]:.2f} before, {load[1]:.2f} after"),
        ("code measured", source_revision()),
    ]
    if dot:
        rows.append(("django-oauth-toolkit", f"{dot['django-oauth-toolkit']} (oauthlib "
                     f"{dot['oauthlib']}, Django {dot['Django']}, gunicorn {dot['gunicorn']})"))
    else:
        rows.append(("django-oauth-toolkit", "not run"))
    return ["| | |", "| --- | --- |", *(f"| {k} | {v} |" for k, v in rows)]


def ratio(results: dict[str, Measured], top: str, bottom: str | None) -> float | None:
    if top not in results or bottom is None or bottom not in results:
        return None
    low = results[bottom].median_rps()
    return results[top].median_rps() / low if low else None


def cpu_ratio(results: dict[str, Measured], top: str, bottom: str | None) -> float | None:
    """The same ratio from server CPU per request (bottom's cost / top's): less noise-prone."""
    if top not in results or bottom is None or bottom not in results:
        return None
    cost = results[top].median_cpu_us()
    return results[bottom].median_cpu_us() / cost if cost else None


def fastest_dot(results: dict[str, Measured]) -> str | None:
    dots = [name for name in ("dot-plain", "dot-default") if name in results]
    return max(dots, key=lambda n: results[n].median_rps()) if dots else None


def report(results: dict[str, Measured], args: argparse.Namespace, started: datetime,
           dot: dict[str, str] | None, load: tuple[float, float]) -> str:
    lines = [
        f"# Token endpoint benchmark, {started:%Y-%m-%d %H:%M} UTC",
        "",
        f"`{' '.join(['bench/token_endpoint.py', *sys.argv[1:]])}`: {args.rounds} round(s) of "
        f"{args.duration:g} s per configuration, interleaved; `wrk -t{WRK_THREADS} "
        f"-c{WRK_CONNECTIONS} -d{args.duration:g}s --latency`, client_credentials with HTTP "
        f"Basic; gunicorn {WORKERS} sync workers on 127.0.0.1, SQLite, DEBUG off, "
        "local-memory cache. wrk runs on the same machine as the servers.",
        "",
        "## Machine",
        "",
        *machine_lines(dot, load),
        "",
        "## Results",
        "",
        "Medians over the rounds; non-2xx and socket errors (connect, read, write, timeout) "
        "are totals over the rounds. *Server CPU/req*: CPU time (user + system) of the gunicorn "
        "master and workers divided by the requests served, median over the rounds; it varies "
        "less with machine noise than requests/s. *Others' CPU*: the largest share of all CPUs "
        "that processes other than the server and wrk used during one of the rounds (noise).",
        "",
        "| configuration | requests/s | p50 ms | p99 ms | non-2xx | socket errors "
        "| server CPU/req µs | requests/s per round | others' CPU |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for config in CONFIGS:
        item = results.get(config.name)
        if item is None or not item.runs:
            continue
        per_round = ", ".join(f"{r.rps:.0f}" for r in item.runs)
        non2xx = sum(r.non2xx for r in item.runs)
        errors = sum(r.socket_errors for r in item.runs)
        lines.append(f"| {config.label} | {item.median_rps():.0f} | {item.median_p50():.2f} | "
                     f"{item.median_p99():.2f} | {non2xx}{' **(errors)**' if non2xx else ''} | "
                     f"{errors}{' **(errors)**' if errors else ''} | "
                     f"{item.median_cpu_us():.0f} | {per_round} | "
                     f"{max(r.others_cpu_share for r in item.runs):.0%} |")
    lines += ["", "Access token length (characters) of the checked response: " + ", ".join(
        f"{results[c.name].config.label} {results[c.name].token_chars}" for c in CONFIGS
        if c.name in results), ""]

    dot_best = fastest_dot(results)
    pairs = [
        ("ours-RS256 / (b) RS256", "ours-rs256", "ceiling-rs256"),
        ("ours-ES256 / (b) ES256", "ours-es256", "ceiling-es256"),
        ("ours-RS256, Redis / (b) RS256", "ours-rs256-redis", "ceiling-rs256"),
        ("ours-ES256, Redis / (b) ES256", "ours-es256-redis", "ceiling-es256"),
        ("ours-RS256 / (a)", "ours-rs256", "ceiling-django"),
        ("ours-ES256 / (a)", "ours-es256", "ceiling-django"),
        ("ours-RS256 / DOT fastest", "ours-rs256", dot_best),
        ("ours-ES256 / DOT fastest", "ours-es256", dot_best),
        ("ours-RS256 / DOT default", "ours-rs256", "dot-default"),
        ("ours-ES256 / DOT default", "ours-es256", "dot-default"),
    ]
    lines += ["## Ratios", "",
              "Of median requests/s; and, as a cross-check that machine noise moves less, the "
              "inverse ratio of server CPU per request (the other's CPU/req over ours).", "",
              "| ratio | requests/s | from CPU/req |", "| --- | ---: | ---: |"]
    lines += [f"| {name} | {_times(ratio(results, top, bottom))} | "
              f"{_times(cpu_ratio(results, top, bottom))} |" for name, top, bottom in pairs]
    if dot_best:
        lines += ["", f"DOT fastest: {BY_NAME[dot_best].label}."]

    lines += ["", "## Targets", "", "| target | measured | |", "| --- | ---: | --- |"]
    for alg in ("RS256", "ES256"):
        value = ratio(results, f"ours-{alg.lower()}", f"ceiling-{alg.lower()}")
        lines.append(_target(f"ours-{alg} >= {TARGET_SIGNING_SHARE:.0%} of (b) {alg}",
                             value, None if value is None else value >= TARGET_SIGNING_SHARE,
                             f"{value:.0%}" if value is not None else ""))
    for alg in ("RS256", "ES256"):
        value = ratio(results, f"ours-{alg.lower()}", dot_best)
        lines.append(_target(f"ours-{alg} >= {TARGET_DOT_FACTOR:g}x DOT fastest", value,
                             None if value is None else value >= TARGET_DOT_FACTOR,
                             _times(value)))
    for alg in ("RS256", "ES256"):
        item = results.get(f"ours-{alg.lower()}")
        p99 = item.median_p99() if item and item.runs else None
        lines.append(_target(f"ours-{alg} p99 <= {TARGET_P99_MS:g} ms", p99,
                             None if p99 is None else p99 <= TARGET_P99_MS,
                             f"{p99:.2f} ms" if p99 is not None else ""))
    failed = [c.label for c in CONFIGS if c.name in results
              and any(r.non2xx or r.socket_errors for r in results[c.name].runs)]
    if failed:
        lines += ["", f"**Runs with errors:** {', '.join(failed)} (see the table)."]
    return "\n".join(lines) + "\n"


def _times(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _target(name: str, value: float | None, met: bool | None, shown: str) -> str:
    status = "not measured" if met is None else ("met" if met else "**missed**")
    return f"| {name} | {shown if value is not None else 'n/a'} | {status} |"


# --- main --------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds per configuration (3)")
    parser.add_argument("--duration", type=float, default=10.0,
                        help="seconds of each wrk run (10)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 round of 3 s")
    parser.add_argument("--only", default="",
                        help=f"comma-separated configurations: {', '.join(BY_NAME)}")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.duration = 1, 3.0
    names = [n.strip().lower() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        parser.error(f"unknown configuration(s) {', '.join(unknown)}; "
                     f"known: {', '.join(BY_NAME)}")
    args.configs = [c for c in CONFIGS if not names or c.name in names]
    if args.rounds < 1 or args.duration <= 0:
        parser.error("--rounds must be >= 1 and --duration > 0")
    return args


@contextmanager
def work_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="token-bench-") as name:
        yield Path(name)


def start_all(configs: list[Config], work: Path, stack: ExitStack
              ) -> tuple[dict[str, Measured], dict[str, str] | None]:
    """Prepare the databases and start one gunicorn per configuration."""
    logs = work / "logs"
    logs.mkdir()
    results: dict[str, Measured] = {}
    dot: dict[str, str] | None = None
    if any(c.kind == "ours" for c in configs):
        print("preparing our project", flush=True)
        env = prepare_project(work)
        for config in (c for c in configs if c.kind == "ours"):
            server = harness.start_server(config.name, {**env, **dict(config.server_env)},
                                          logs / f"{config.name}.log")
            stack.callback(harness.stop_server, server)
            results[config.name] = Measured(config, server, write_lua(work, config.client_id))
    if any(c.kind == "dot" for c in configs):
        print("preparing django-oauth-toolkit", flush=True)
        python = ensure_dot_venv()
        dot = dot_versions(python)
        project, env = prepare_dot(work, python)
        for config in (c for c in configs if c.kind == "dot"):
            server = harness.start_server(config.name, env, logs / f"{config.name}.log",
                                          app="dotbench.wsgi:application", cwd=project,
                                          python=python)
            stack.callback(harness.stop_server, server)
            results[config.name] = Measured(config, server, write_lua(work, config.client_id))
    return results, dot


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, exit_on_sigterm)
    started = datetime.now(UTC)
    load_before = os.getloadavg()[0]
    with ExitStack() as stack:
        work = stack.enter_context(work_dir())
        results, dot = start_all(args.configs, work, stack)
        for item in results.values():  # in CONFIGS order
            check_response(item)
            warm_up(item)
            print(f"  {item.config.label}: 200 with an access token ({item.token_chars} chars), "
                  f"warmed up on port {item.server.port}", flush=True)
        order = [results[c.name] for c in args.configs]
        for round_no in range(args.rounds):
            shift = round_no % len(order)
            for item in order[shift:] + order[:shift]:
                result = measure(item, args.duration)
                item.runs.append(result)
                flag = (f"  ({result.non2xx} non-2xx, {result.socket_errors} socket errors)"
                        if result.non2xx or result.socket_errors else "")
                print(f"round {round_no + 1}/{args.rounds}  {item.config.label:36} "
                      f"{result.rps:8.1f} req/s  p50 {result.p50_ms:7.2f} ms  "
                      f"p99 {result.p99_ms:7.2f} ms  {result.cpu_us_per_request:7.0f} µs CPU/req"
                      f"  others {result.others_cpu_share:4.0%}{flag}", flush=True)
        text = report(results, args, started, dot, (load_before, os.getloadavg()[0]))
    harness.write_report("token_endpoint", text, started, quick=args.quick)
    return 0


if __name__ == "__main__":
    harness.run_main(main, "servers stopped")
