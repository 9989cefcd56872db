#!/usr/bin/env python
"""Benchmark the client configuration store on SQLite and PostgreSQL.

Measures (a) importing 1,000 and 10,000 new clients through the real import path
(`parse_document` + `import_document`, as `manage.py import_clients` does), each into an empty
clients table, and re-importing the same 10,000 unchanged; (b) client lookups with 100,000
clients in the database: `OrmClientStore` uncached, and `CachingClientStore` around it on Django's
local-memory cache and on Redis (when reachable).

    .venv/bin/python bench/config_store.py [--db sqlite|postgres|both] [--quick] [--profile]

Each database runs in a subprocess of this script with its own settings and its own database (a
temporary SQLite file; a PostgreSQL database created and dropped here), so a developer's data is
never touched. The report is printed and written to bench/results/.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import math
import os
import platform
import pstats
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    import psycopg

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
DEFAULT_PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PG_FALLBACK_ADMIN_DB = "test"
PG_BENCH_DB = "identity_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
ENGINES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
LOCMEM = "django.core.cache.backends.locmem.LocMemCache"
SEED = 20240601
API_COUNT = 25  # API resources, each with a .read and a .write scope
WARM_UP_LOOKUPS = 50
QUERY_COUNT_LOOKUPS = 200


@dataclass(frozen=True)
class Sizes:
    """How many clients each measurement uses."""

    imports: tuple[int, ...]
    repeats: int  # runs of each import measurement; the fastest is reported (as timeit does)
    lookup_clients: int
    lookups: int


FULL = Sizes(imports=(1_000, 10_000), repeats=3, lookup_clients=100_000, lookups=2_000)
QUICK = Sizes(imports=(100, 1_000), repeats=1, lookup_clients=5_000, lookups=200)


# ---- parent: databases, subprocesses, report ---------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (parent), or one database's measurements (child, `--child`)."""
    args = _parser().parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.child:
        return run_child(args.child, Path(args.result_file), sizes, args.redis_url, args.profile)
    engines = list(ENGINES) if args.db == "both" else [args.db]
    load_before = _load_average()
    results: dict[str, dict[str, Any]] = {}
    for engine in engines:
        _log(f"== {ENGINES[engine]} ==")
        try:
            results[engine] = run_engine(engine, sizes, args)
        except BenchError as exc:
            _log(f"{ENGINES[engine]}: skipped: {exc}")
            results[engine] = {"error": str(exc)}
    machine = machine_info(results)
    machine["Load average (1 min) before / after"] = f"{load_before} / {_load_average()}"
    report = render_report(machine, results, sizes, args)
    print(report)
    path = write_results(report, results, args.quick)
    _log(f"written to {path.relative_to(ROOT)} (and .json)")
    return 1 if any("error" in r for r in results.values()) else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: imports of {QUICK.imports}, {QUICK.lookup_clients:,} "
                             f"clients in the database, {QUICK.lookups} lookups")
    parser.add_argument("--profile", action="store_true",
                        help="also profile the largest import and the re-import with cProfile "
                             "(an extra, untimed pass; stats written to bench/results/)")
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL,
                        help=f"PostgreSQL server and database to create {PG_BENCH_DB!r} from "
                             f"(default {DEFAULT_PG_ADMIN_URL})")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL,
                        help=f"Redis for the cached lookups, skipped when unreachable "
                             f"(default {DEFAULT_REDIS_URL})")
    parser.add_argument("--child", choices=list(ENGINES), help=argparse.SUPPRESS)
    parser.add_argument("--result-file", help=argparse.SUPPRESS)
    return parser


class BenchError(RuntimeError):
    """A database could not be benchmarked (unreachable server, failing child)."""


def run_engine(engine: str, sizes: Sizes, args: argparse.Namespace) -> dict[str, Any]:
    """Create the engine's scratch database, run the child on it, and drop the database."""
    if engine == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="identity-bench-"))
        try:
            return run_subprocess(engine, f"sqlite:///{folder / 'bench.sqlite3'}", sizes, args)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    with postgres_database(args.pg_admin_url) as url:
        return run_subprocess(engine, url, sizes, args)


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """Create the dedicated benchmark database, yield its URL, and drop it afterwards."""
    import psycopg

    admin = _pg_connect(admin_url)
    try:
        with admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{PG_BENCH_DB}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{PG_BENCH_DB}"')
        parts = urlsplit(admin_url)
        yield urlunsplit(parts._replace(path=f"/{PG_BENCH_DB}"))
    finally:
        try:
            with _pg_connect(admin_url) as again:
                again.execute(f'DROP DATABASE IF EXISTS "{PG_BENCH_DB}" WITH (FORCE)')
        except psycopg.Error as exc:
            _log(f"could not drop {PG_BENCH_DB}: {exc}")


def _pg_connect(admin_url: str) -> psycopg.Connection[Any]:
    import psycopg

    parts = urlsplit(admin_url)
    candidates = [admin_url, urlunsplit(parts._replace(path=f"/{PG_FALLBACK_ADMIN_DB}"))]
    errors = []
    for url in candidates:
        try:
            return psycopg.connect(url.replace("postgres://", "postgresql://", 1),
                                   autocommit=True, connect_timeout=5)
        except psycopg.Error as exc:
            errors.append(f"{url}: {str(exc).strip()}")
    raise BenchError("PostgreSQL unreachable: " + "; ".join(errors))


def run_subprocess(engine: str, database_url: str, sizes: Sizes,
                   args: argparse.Namespace) -> dict[str, Any]:
    """Run this script as `--child` with the environment the project's settings read."""
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "settings.settings",
        "DATABASE_URL": database_url,
        # Explicit, so a developer's .env (read without overwriting) changes nothing here.
        "DEBUG": "False",
        "IDENTITY_CLIENTS_FILE": "",
        "LOG_LEVEL": "WARNING",
    })
    env.setdefault("SECRET_KEY", "bench-dummy-secret-key-not-used-for-anything")
    env.pop("CACHE_URL", None)  # the settings' default cache, measured as configured
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        result_file = Path(handle.name)
    command = [sys.executable, str(Path(__file__).resolve()), "--child", engine,
               "--result-file", str(result_file), "--redis-url", args.redis_url]
    command += ["--quick"] * args.quick + ["--profile"] * args.profile
    try:
        completed = subprocess.run(command, cwd=ROOT, env=env, check=False)
        if completed.returncode != 0:
            raise BenchError(f"the {engine} run exited with {completed.returncode}")
        return json.loads(result_file.read_text(encoding="utf-8"))
    finally:
        result_file.unlink(missing_ok=True)


def machine_info(results: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Describe the machine and the versions the numbers depend on."""
    import sqlite3

    import django

    cpu = "unknown"
    memory = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    versions = {engine: r.get("versions", {}) for engine, r in results.items()}
    return {
        "Date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": str(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                     else os.cpu_count()),
        "CPU": cpu,
        "Memory": memory,
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "Django": django.get_version(),
        "SQLite": versions.get("sqlite", {}).get("database", sqlite3.sqlite_version),
        "PostgreSQL": versions.get("postgres", {}).get("database", "not run"),
        "Redis": next((v["redis"] for v in versions.values() if v.get("redis")), "not reached"),
    }


def render_report(machine: dict[str, str], results: dict[str, dict[str, Any]], sizes: Sizes,
                  args: argparse.Namespace) -> str:
    """Render the results as Markdown."""
    lines = [f"# Client configuration store benchmark{' (quick)' if args.quick else ''}", ""]
    lines += [f"- {key}: {value}" for key, value in machine.items()]
    lines += ["", "## Imports", "",
              "`parse_document` + `import_document(document, real_models())`, one transaction; "
              "the document is built in memory (JSON decoding not included). \"New\" imports go "
              f"into an empty clients table. The {', '.join(f'{n:,}' for n in sizes.imports)} "
              f"imports run {sizes.repeats} time(s): the fastest is shown, with every run's "
              "total. Script CPU s is this process's CPU time (the PostgreSQL server's is not "
              "included): far below the total on SQLite means the machine was busy.", "",
              "| Scenario | DB | parse s | import s | total s | all runs s | script CPU s "
              "| clients/s | SQL queries |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for engine, result in results.items():
        for row in result.get("imports", []):
            runs = " / ".join(f"{t:.2f}" for t in row.get("runs_s", [row["total_s"]]))
            lines.append(
                f"| {row['label']} | {ENGINES[engine]} | {row['parse_s']:.2f} | "
                f"{row['import_s']:.2f} | {row['total_s']:.2f} | {runs} | {row['cpu_s']:.2f} | "
                f"{row['clients'] / row['total_s']:,.0f} | {row['queries']:,} |")
    lines += ["", "## Lookups", "",
              f"`find_client_by_id` of {sizes.lookups:,} distinct random ids with "
              f"{sizes.lookup_clients:,} clients in the database (after ANALYZE); per lookup. "
              "\"Miss\" is the first lookup of each id through the cache (store read + cache "
              "set), \"hit\" the second.", "",
              "| Store | DB | median µs | p99 µs | SQL queries / lookup |",
              "| --- | --- | ---: | ---: | ---: |"]
    for engine, result in results.items():
        for row in result.get("lookups", []):
            if row.get("skipped"):
                lines.append(f"| {row['label']} | {ENGINES[engine]} | – | – | "
                             f"skipped: {row['skipped']} |")
                continue
            lines.append(
                f"| {row['label']} | {ENGINES[engine]} | {row['median_us']:,.0f} | "
                f"{row['p99_us']:,.0f} | {row['queries_per_lookup']:g} |")
    errors = [f"- {ENGINES[e]}: {r['error']}" for e, r in results.items() if "error" in r]
    if errors:
        lines += ["", "## Not run", ""] + errors
    notes = [n for r in results.values() for n in r.get("notes", [])]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in dict.fromkeys(notes)]
    return "\n".join(lines) + "\n"


def write_results(report: str, results: dict[str, dict[str, Any]], quick: bool) -> Path:
    """Write the report and the raw numbers to bench/results/, named by date."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = f"config_store-{datetime.now():%Y%m%d-%H%M%S}{'-quick' if quick else ''}"
    path = RESULTS_DIR / f"{stem}.md"
    path.write_text(report, encoding="utf-8")
    (RESULTS_DIR / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n",
                                              encoding="utf-8")
    return path


# ---- child: one database ----------------------------------------------------------------------

def run_child(engine: str, result_file: Path, sizes: Sizes, redis_url: str,
              profile: bool) -> int:
    """Set Django up on the database in DATABASE_URL and run every measurement."""
    # The project first, and not this folder (whose other files may shadow project modules).
    here = Path(__file__).resolve().parent
    sys.path[:] = [str(ROOT)] + [p for p in sys.path if p and Path(p).resolve() != here]
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import override_settings

    # Until exit, a private local-memory cache: the import's invalidations and every lookup go
    # to caches this script owns, whatever a .env's CACHE_URL says.
    configured_cache = dict(settings.CACHES["default"])
    override_settings(CACHES={"default": {"BACKEND": LOCMEM, "LOCATION": "identity-bench"}}
                      ).enable()

    prefix = f"[{engine}]"
    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    _log(f"{prefix} migrated in {time.perf_counter() - started:.1f} s "
         f"({connection.settings_dict['NAME']})")
    result: dict[str, Any] = {"versions": {"database": database_version()}, "notes": []}
    # The scopes and APIs the clients use exist before any timed import, which then finds
    # them unchanged: every timed run does the same resource work.
    _check_import(timed_import("scopes and APIs", make_document(0)), created=0, unchanged=0)
    result["imports"] = bench_imports(prefix, sizes, profile, engine)
    result["imports"].append(load_lookup_clients(prefix, sizes))
    result["lookups"] = bench_lookups(prefix, sizes, redis_url, configured_cache, result)
    result_file.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


def database_version() -> str:
    """Return the server's version, e.g. `3.40.1` or `15.20`."""
    from django.db import connection

    if connection.vendor == "sqlite":
        return str(connection.Database.sqlite_version)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return str(cursor.fetchone()[0]).split()[0]


def make_document(count: int, seed: int = SEED) -> dict[str, Any]:
    """Build an IdentityServer document of `count` realistic clients and the scopes they use.

    A quarter are authorization_code clients, a quarter authorization_code + client_credentials
    (both with a redirect URI), half client_credentials machines; each has one hashed secret and
    two scopes (interactive ones openid plus an API scope).
    """
    from identity.hashing import hash_secret

    rng = random.Random(seed)
    apis = [f"api{n:02d}" for n in range(API_COUNT)]
    scopes = [f"{api}.{access}" for api in apis for access in ("read", "write")]
    clients = []
    for i in range(count):
        client_id = f"bench-client-{i:06d}"
        kind = i % 4
        client: dict[str, Any] = {
            "ClientId": client_id,
            "ClientName": f"Benchmark client {i}",
            "ClientSecrets": [{"Value": hash_secret(f"secret-{client_id}"),
                               "Description": "generated by bench/config_store.py"}],
        }
        if kind in (0, 1):
            client["AllowedGrantTypes"] = ["client_credentials"]
            client["AllowedScopes"] = rng.sample(scopes, 2)
        else:
            client["AllowedGrantTypes"] = (["authorization_code"] if kind == 2
                                           else ["authorization_code", "client_credentials"])
            client["RedirectUris"] = [f"https://app{i}.example.com/signin-oidc"]
            client["AllowedScopes"] = ["openid", rng.choice(scopes)]
        clients.append(client)
    return {"IdentityServer": {
        "ApiScopes": [{"Name": s, "DisplayName": f"Scope {s}"} for s in scopes],
        "ApiResources": [{"Name": api, "Scopes": [f"{api}.read", f"{api}.write"]}
                         for api in apis],
        "Clients": clients,
    }}


def flush_clients() -> None:
    """Empty the client table and its child tables (scopes and resources stay)."""
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from clients_app.mapping import CLIENT_CHILDREN, real_models

    models = real_models()
    tables = [models.Client._meta.db_table] + [
        getattr(models, child.model)._meta.db_table for child in CLIENT_CHILDREN.values()]
    statements = connection.ops.sql_flush(no_style(), tables, allow_cascade=True)
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
    if models.Client.objects.exists():
        raise RuntimeError("the clients table is not empty after the flush")


@contextmanager
def counting_queries() -> Iterator[list[int]]:
    """Count the SQL statements run inside the block, with next to no overhead."""
    from django.db import connection

    counter = [0]

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool,
                context: Any) -> Any:
        counter[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield counter


def timed_import(label: str, data: dict[str, Any], profiler: cProfile.Profile | None = None,
                 ) -> dict[str, Any]:
    """Parse and import `data` as `manage.py import_clients` does; return the timings."""
    from clients_app.importing import import_document
    from clients_app.mapping import real_models
    from identity.config_document import parse_document

    clients = len(data["IdentityServer"]["Clients"])
    gc.collect()  # garbage of earlier steps is not collected on this one's time
    with counting_queries() as queries:
        if profiler:
            profiler.enable()
        cpu = time.process_time()
        start = time.perf_counter()
        document = parse_document(data)
        parsed = time.perf_counter()
        report = import_document(document, real_models())
        done = time.perf_counter()
        cpu = time.process_time() - cpu
        if profiler:
            profiler.disable()
    client_changes = [c.action for c in report.changes if c.kind == "client"]
    return {"label": label, "clients": clients, "parse_s": parsed - start,
            "import_s": done - parsed, "total_s": done - start, "cpu_s": cpu,
            "queries": queries[0],
            "created": client_changes.count("create"), "changed": client_changes.count("change"),
            "unchanged": clients - len(client_changes), "summary": report.summary()}


def _check_import(row: dict[str, Any], created: int, unchanged: int) -> None:
    from clients_app.models import Client

    if row["created"] != created or row["unchanged"] != unchanged or row["changed"]:
        raise RuntimeError(f"{row['label']}: unexpected report: {row['summary']}")
    if Client.objects.count() < created:
        raise RuntimeError(f"{row['label']}: {Client.objects.count()} clients in the table")


def bench_imports(prefix: str, sizes: Sizes, profile: bool, engine: str) -> list[dict[str, Any]]:
    """Import each size into an empty table, then re-import the largest unchanged."""
    rows = []
    data: dict[str, Any] = {}
    for count in sizes.imports:
        data = make_document(count)
        runs = []
        for _ in range(sizes.repeats):
            flush_clients()
            runs.append(timed_import(f"{count:,} new clients", data))
            _check_import(runs[-1], created=count, unchanged=0)
            _log(f"{prefix} import {count:,} new: {runs[-1]['total_s']:.2f} s "
                 f"({runs[-1]['summary']})")
        rows.append(best_run(runs))
    count = sizes.imports[-1]
    runs = []
    for _ in range(sizes.repeats):  # the table still holds the last run's clients
        runs.append(timed_import(f"{count:,} clients again, unchanged", data))
        _check_import(runs[-1], created=0, unchanged=count)
        _log(f"{prefix} re-import {count:,} unchanged: {runs[-1]['total_s']:.2f} s "
             f"({runs[-1]['summary']})")
    rows.append(best_run(runs))
    if profile:
        profile_imports(prefix, engine, data)
    return rows


def best_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Return the fastest run, with every run's total: the others were slowed by something else."""
    return min(runs, key=lambda r: r["total_s"]) | {"runs_s": [r["total_s"] for r in runs]}


def profile_imports(prefix: str, engine: str, data: dict[str, Any]) -> None:
    """Profile a new import and an unchanged re-import of `data`; write the stats."""
    count = len(data["IdentityServer"]["Clients"])
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    for kind in ("new", "unchanged"):
        if kind == "new":
            flush_clients()
        profiler = cProfile.Profile()
        row = timed_import(f"profiled {kind}", data, profiler)
        stem = RESULTS_DIR / f"profile-{engine}-import-{count}-{kind}"
        profiler.dump_stats(f"{stem}.prof")
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        text.write(f"{count:,} clients, {kind}: {row['total_s']:.2f} s under the profiler, "
                   f"{row['queries']:,} queries\n")
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(25)
        Path(f"{stem}.txt").write_text(text.getvalue(), encoding="utf-8")
        _log(f"{prefix} profile written to {stem.relative_to(ROOT)}.txt/.prof")


def load_lookup_clients(prefix: str, sizes: Sizes) -> dict[str, Any]:
    """Empty the table and import the lookup data set with the same bulk path; timed."""
    flush_clients()
    count = sizes.lookup_clients
    row = timed_import(f"{count:,} new clients (lookup data set)", make_document(count))
    _check_import(row, created=count, unchanged=0)
    _log(f"{prefix} loaded {count:,} clients: {row['total_s']:.2f} s")
    settle_database()
    return row


def settle_database() -> None:
    """Update the planner statistics after the bulk load, as autovacuum would, before timing."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def time_lookups(find: Callable[[str], Any], ids: list[str]) -> list[float]:
    """Return the duration of each lookup in microseconds; every id must be found."""
    samples = []
    clock = time.perf_counter_ns
    gc.collect()
    for client_id in ids:
        start = clock()
        client = find(client_id)
        samples.append((clock() - start) / 1000)
        if client is None:
            raise RuntimeError(f"{client_id} was not found")
    return samples


def queries_per_lookup(find: Callable[[str], Any], ids: list[str]) -> float:
    """Count the SQL queries of looking each id up, with CaptureQueriesContext."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    reset_queries()  # the log is a deque of 9,000: a full one would make the count 0
    with CaptureQueriesContext(connection) as context:
        for client_id in ids:
            find(client_id)
    return round(len(context) / len(ids), 2)


def summarize(label: str, samples: list[float], queries: float) -> dict[str, Any]:
    """Median and nearest-rank p99 of per-lookup samples in microseconds."""
    ordered = sorted(samples)
    p99 = ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]
    return {"label": label, "lookups": len(samples), "median_us": statistics.median(ordered),
            "p99_us": p99, "mean_us": statistics.fmean(ordered),
            "queries_per_lookup": queries}


def bench_lookups(prefix: str, sizes: Sizes, redis_url: str, configured_cache: dict[str, Any],
                  result: dict[str, Any]) -> list[dict[str, Any]]:
    """Look random ids up uncached, then through CachingClientStore on each cache."""
    from clients_app.stores import OrmClientStore

    rng = random.Random(SEED)
    population = [f"bench-client-{i:06d}" for i in range(sizes.lookup_clients)]
    chosen = rng.sample(population, sizes.lookups + WARM_UP_LOOKUPS)
    warm_up, ids = chosen[:WARM_UP_LOOKUPS], chosen[WARM_UP_LOOKUPS:]
    counted = ids[:QUERY_COUNT_LOOKUPS]
    store = OrmClientStore()
    time_lookups(store.find_client_by_id, warm_up)  # connection, statement and page caches
    rows = [summarize("OrmClientStore (uncached)", time_lookups(store.find_client_by_id, ids),
                      queries_per_lookup(store.find_client_by_id, counted))]
    _log(f"{prefix} uncached: median {rows[-1]['median_us']:,.0f} µs")
    locmem = {"BACKEND": LOCMEM, "LOCATION": "identity-bench-lookups",
              "OPTIONS": {"MAX_ENTRIES": 4 * len(ids) + 1000}}
    rows += cached_lookups("locmem", locmem, ids, counted)
    _log(f"{prefix} locmem hit: median {rows[-1]['median_us']:,.0f} µs")
    rows.append(configured_locmem_lookups(configured_cache, ids, counted, result))
    redis_version = redis_reachable(redis_url)
    if redis_version is None:
        rows.append({"label": "CachingClientStore, Redis", "skipped": f"{redis_url} unreachable"})
        result["notes"].append(f"Redis at {redis_url} was not reachable; its rows are skipped.")
    else:
        result["versions"]["redis"] = redis_version
        redis = {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                 "LOCATION": redis_url, "KEY_PREFIX": f"identity-bench-{os.getpid()}"}
        rows += cached_lookups("Redis", redis, ids, counted)
        _log(f"{prefix} redis hit: median {rows[-1]['median_us']:,.0f} µs")
    return rows


def configured_locmem_lookups(configured: dict[str, Any], ids: list[str], counted: list[str],
                              result: dict[str, Any]) -> dict[str, Any]:
    """Second lookups on the settings' own cache, when it is local memory (its MAX_ENTRIES)."""
    if configured.get("BACKEND") != LOCMEM:
        return {"label": "CachingClientStore, locmem as configured",
                "skipped": f"the settings' cache is {configured.get('BACKEND')}"}
    limit = int(configured.get("OPTIONS", {}).get("MAX_ENTRIES", 300))
    row = cached_lookups(f"locmem as configured (MAX_ENTRIES {limit:,})",
                         configured | {"LOCATION": "identity-bench-configured"}, ids, counted)[1]
    if row["queries_per_lookup"] > 0:
        result["notes"].append(
            f"The settings' cache (locmem, MAX_ENTRIES {limit:,}) does not hold {len(ids):,} "
            f"clients: {row['queries_per_lookup']:g} queries per second lookup. Raise "
            "MAX_ENTRIES in CACHE_URL or use Redis.")
    return row


def cached_lookups(name: str, cache: dict[str, Any], ids: list[str],
                   counted: list[str]) -> list[dict[str, Any]]:
    """Look every id up twice through CachingClientStore on `cache` (miss, then hit)."""
    from django.test.utils import override_settings

    from clients_app.stores import OrmClientStore
    from identity.conf import identity_settings
    from identity.stores.caching import CachingClientStore, invalidate_client

    def forget() -> None:
        # The public invalidation: drops every entry of a client (and any per-process copy),
        # and only this run's keys: a shared Redis is never cleared.
        for client_id in ids:
            invalidate_client(client_id)

    with override_settings(CACHES={identity_settings.CACHE_ALIAS: cache}):
        forget()
        try:
            store = CachingClientStore(OrmClientStore())
            miss = time_lookups(store.find_client_by_id, ids)
            hit = time_lookups(store.find_client_by_id, ids)
            hit_queries = queries_per_lookup(store.find_client_by_id, counted)
            forget()
            miss_queries = queries_per_lookup(store.find_client_by_id, counted)
        finally:
            forget()
    return [summarize(f"CachingClientStore, {name}, miss (1st lookup)", miss, miss_queries),
            summarize(f"CachingClientStore, {name}, hit (2nd lookup)", hit, hit_queries)]


def redis_reachable(url: str) -> str | None:
    """Return the Redis server's version, or None when it does not answer."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379),
                                      timeout=1):
            pass
        import redis

        return str(redis.Redis.from_url(url, socket_timeout=2).info("server")["redis_version"])
    except Exception:  # any failure means: skip Redis
        return None


def _load_average() -> str:
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "unknown"


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
