#!/usr/bin/env python
"""The persisted-grants table at 1, 10 and 100 million rows on PostgreSQL: sizes, index builds,
hot-query latency, cleanup throughput, VACUUM, and range partitioning by `expires`.

    .venv/bin/python bench/grants_table.py [--sizes 1e6,1e7,1e8] [--quick] [--keep]
                                           [--pg-admin-url postgres://postgres@127.0.0.1:5432/postgres]

Creates a database of its own (identity_bench_grants), migrates it with `call_command("migrate")`
in a subprocess, and grows `identity_persistedgrant` to each size with server-side
`INSERT ... SELECT ... FROM generate_series` in batches (indexes dropped during the fill and built
again afterwards, each build timed). The rows look like the server's: 70% refresh tokens, 20%
reference tokens, 10% authorization codes in families of ten (one code, the tokens issued from
it), `data` built from templates made by the server's own record functions
(`identity.grants.records`), 10,000 clients, 10,000,000 subjects, `created` over 30 days, and 10%
of the rows already expired. At each size it measures, through the server's own code in a Django
subprocess, the hot queries (a few hundred random lookups each, median and p99, EXPLAIN ANALYZE),
and at the sizes in `--cleanup-at` the real cleanup path (`manage.py cleanup_grants`) and a VACUUM.
At the partitioning size (10M) a copy partitioned by range of `expires` is built, and dropping its
expired partitions is timed against the DELETE. A size whose estimated footprint (from the last
size measured, times two) exceeds the free disk is skipped, and said so. The database is dropped
at the end, also on failure or Ctrl-C, unless `--keep`. The report is printed and written to
bench/results/grants_table-DATE[-quick].md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
DB = "identity_bench_grants"
TABLE = "identity_persistedgrant"
PART = "bench_grant_by_expires"
DEFAULT_PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
SEED = 20240601
BATCH_ROWS = 2_000_000
CLIENTS = 10_000
SUBJECTS = 10_000_000
EXPIRED_FRACTION = 0.10
FAMILY_SIZE = 10  # row g % 10 == 0 is a code; 1-2 reference tokens; 3-9 refresh tokens
# Lifetimes of the server's defaults: a code 5 minutes, an access token an hour, a refresh token
# 30 days (absolute).
LIFETIME_S = {"authorization_code": 300, "reference_token": 3600, "refresh_token": 30 * 86400}
CONSUMED_REFRESH_FRACTION = 0.3  # rotated refresh tokens, kept until they expire
LIVE_MARGIN = "1 day"  # live rows expire at least this long after the fill

# ---- what the server writes ------------------------------------------------------------------


def real_records(now: datetime) -> dict[str, dict[str, Any]]:
    """Build one code, one refresh token and one reference token with the server's own record
    functions (the inputs a typical sign-in gives them) and return their `data`."""
    from identity.domain.grants import CodeData, ReferenceTokenData, RefreshTokenData
    from identity.domain.requests import UserSession
    from identity.grants import records
    from identity.grants.handles import handle_key, new_handle

    epoch = int(now.timestamp())
    session = UserSession(subject_id="4821337", auth_time=epoch - 60,
                          session_id="Zq0cG2w8Xk1yq5m3Hk4sVw", amr=("pwd",))
    client = "client-04217"
    scopes = ("openid", "profile", "email", "api1", "offline_access")
    code = records.code_grant(
        handle_key(new_handle()), client, session, now, now + timedelta(seconds=300),
        CodeData(redirect_uri="https://app-04217.example.com/signin-oidc", scopes=scopes,
                 auth_time=session.auth_time, amr=session.amr, nonce=new_handle()[:22],
                 code_challenge=new_handle(), code_challenge_method="S256"))
    api_claims = {"name": "Alice Example", "email": "alice.example@example.com", "role": "user"}
    refresh = records.refresh_grant(
        handle_key(new_handle()), client, session, code.key, now, now + timedelta(days=30),
        RefreshTokenData(scopes=scopes, auth_time=session.auth_time, amr=session.amr,
                         absolute_expires=(now + timedelta(days=30)).timestamp(),
                         api_claims=api_claims))
    # The claims of identity.tokens.claims.access_token_claims for the same request.
    claims: dict[str, Any] = {
        "iss": "https://id.example.com", "exp": epoch + 3600, "iat": epoch, "nbf": epoch,
        "aud": "api1", "sub": session.subject_id, "client_id": client,
        "scope": " ".join(scopes), "auth_time": session.auth_time, "amr": list(session.amr),
        "sid": session.session_id, "jti": "5f0c6d3e9a8b4c1d2e3f405162738495", **api_claims}
    reference = records.reference_grant(
        handle_key(new_handle()), client, session.subject_id, session.session_id, code.key, now,
        now + timedelta(seconds=3600), ReferenceTokenData(claims=claims))
    return {"authorization_code": code.data, "refresh_token": refresh.data,
            "reference_token": reference.data}


def _lit(value: Any) -> str:
    """A jsonb literal for the SQL text (the JSON of our own templates: no user input)."""
    return "'" + json.dumps(value).replace("'", "''") + "'::jsonb"


def fill_sql(templates: dict[str, dict[str, Any]]) -> str:
    """INSERT ... SELECT of rows g in [%(start)s, %(stop)s): the real templates with the
    per-row values (times, subject, session, nonce, jti...) put in."""
    code, refresh, ref = (templates["authorization_code"], templates["refresh_token"],
                          templates["reference_token"])
    ref_claims = ref["claims"]
    lt = LIFETIME_S
    return f"""
INSERT INTO {TABLE}
    (key, type, client_id, subject_id, session_id, family, data, created, expires, consumed)
SELECT encode(sha256(convert_to('k' || g, 'UTF8')), 'hex'), t.type, i.client, i.subject,
       i.session, CASE WHEN t.type = 'authorization_code' THEN ''
                       ELSE encode(sha256(convert_to('k' || (g - g %% {FAMILY_SIZE}), 'UTF8')),
                                   'hex') END,
       CASE t.type
         WHEN 'refresh_token' THEN {_lit(refresh)} || jsonb_build_object(
             'auth_time', extract(epoch FROM c.created)::bigint - 60,
             'absolute_expires', extract(epoch FROM c.created) + {lt['refresh_token']})
         WHEN 'reference_token' THEN jsonb_build_object('claims', {_lit(ref_claims)}
             || jsonb_build_object(
                 'iat', extract(epoch FROM c.created)::bigint,
                 'nbf', extract(epoch FROM c.created)::bigint,
                 'exp', extract(epoch FROM c.created)::bigint + {lt['reference_token']},
                 'auth_time', extract(epoch FROM c.created)::bigint - 60,
                 'sub', i.subject, 'client_id', i.client, 'sid', i.session,
                 'jti', md5('j' || g)))
         ELSE {_lit(code)} || jsonb_build_object(
             'redirect_uri', 'https://app-' || right(i.client, 5) || '.example.com/signin-oidc',
             'auth_time', extract(epoch FROM c.created)::bigint - 60,
             'nonce', left(md5('n' || g), 22),
             'code_challenge', rtrim(translate(encode(sha256(convert_to('c' || g, 'UTF8')),
                                                      'base64'), '+/', '-_'), '='))
       END,
       c.created, e.expires,
       CASE WHEN t.type = 'authorization_code' AND e.expired
                 THEN c.created + interval '2 seconds'
            WHEN t.type = 'refresh_token' AND r.u3 < {CONSUMED_REFRESH_FRACTION}
                 THEN c.created + interval '1 day' * r.u3 END
FROM generate_series(%(start)s::bigint, %(stop)s::bigint - 1) AS g
CROSS JOIN LATERAL (SELECT u[1] AS u1, u[2] AS u2, u[3] AS u3, u[4] AS u4 FROM (SELECT
    ARRAY(SELECT (hashint8(g * 8 + k) & 2147483647) / 2147483648.0
          FROM generate_series(1, 4) AS k) AS u) a) r
CROSS JOIN LATERAL (SELECT CASE WHEN g %% {FAMILY_SIZE} = 0 THEN 'authorization_code'
                                WHEN g %% {FAMILY_SIZE} < 3 THEN 'reference_token'
                                ELSE 'refresh_token' END AS type) t
CROSS JOIN LATERAL (SELECT
    'client-' || lpad(((hashint8(g / {FAMILY_SIZE}) & 2147483647) %% {CLIENTS})::text, 5, '0')
        AS client,
    ((hashint8(g / {FAMILY_SIZE} * 7 + 3) & 2147483647) %% {SUBJECTS})::text AS subject,
    left(rtrim(translate(encode(sha256(convert_to('s' || g / {FAMILY_SIZE}, 'UTF8')),
                                'base64'), '+/', '-_'), '='), 22) AS session) i
CROSS JOIN LATERAL (SELECT %(now)s::timestamptz - interval '30 days' * r.u1 AS created) c
CROSS JOIN LATERAL (SELECT r.u4 < {EXPIRED_FRACTION} AS expired) x
CROSS JOIN LATERAL (SELECT x.expired, CASE
    WHEN x.expired THEN c.created + (%(now)s::timestamptz - c.created) * r.u2
    ELSE %(now)s::timestamptz + interval '{LIVE_MARGIN}' + interval '1 second' * (CASE t.type
        WHEN 'refresh_token' THEN {lt['refresh_token']} WHEN 'reference_token'
        THEN {lt['reference_token']} ELSE {lt['authorization_code']} END) * r.u2
    END AS expires) e
"""


def grant_key(g: int) -> str:
    """The key of generated row g (as the fill computes it)."""
    import hashlib
    return hashlib.sha256(f"k{g}".encode()).hexdigest()


# ---- parent ---------------------------------------------------------------------------------


def _parse_size(text: str) -> int:
    return int(float(text))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sizes", default="1e6,1e7,1e8",
                        help="row counts the table grows to (default 1e6,1e7,1e8)")
    parser.add_argument("--quick", action="store_true",
                        help="100k and 1M rows, fewer lookups (a smoke run)")
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    parser.add_argument("--cleanup-at", default=None,
                        help="sizes at which cleanup_grants runs (default: 1e7,1e8; --quick: "
                             "the last size)")
    parser.add_argument("--partition-at", default=None,
                        help="size at which the partitioned copy is measured (default 1e7; "
                             "--quick: the last size)")
    parser.add_argument("--lookups", type=int, default=300, help="random lookups per query")
    parser.add_argument("--cleanup-timeout", type=float, default=2400.0,
                        help="seconds after which cleanup_grants is stopped and its rate so far "
                             "reported (default 2400)")
    parser.add_argument("--jobs", type=int, default=2,
                        help="connections filling batches at once (default 2)")
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    parser.add_argument("--child-queries", type=int, default=None, help=argparse.SUPPRESS)
    return parser


class Interrupted(Exception):
    pass


def _on_term(signum: int, frame: Any) -> None:
    raise Interrupted(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if str(ROOT) not in sys.path:  # run as a script: the project's packages
        sys.path.insert(0, str(ROOT))
    if args.child_queries is not None:
        return child_queries(args.child_queries, args.lookups)
    import psycopg

    sizes = [100_000, 1_000_000] if args.quick else [_parse_size(s) for s in
                                                     args.sizes.split(",")]
    sizes = sorted(set(sizes))
    if args.quick:
        args.lookups = min(args.lookups, 100)
    cleanup_at = ({_parse_size(s) for s in args.cleanup_at.split(",")} if args.cleanup_at
                  else {sizes[-1]} if args.quick else {10_000_000, 100_000_000})
    partition_at = (_parse_size(args.partition_at) if args.partition_at
                    else sizes[-1] if args.quick else 10_000_000)
    base = args.pg_admin_url.rsplit("/", 1)[0]
    url = f"{base}/{DB}"
    signal.signal(signal.SIGTERM, _on_term)
    report: dict[str, Any] = {"started": datetime.now(UTC).isoformat(timespec="seconds"),
                              "argv": sys.argv[1:], "load_before": os.getloadavg(),
                              "stages": [], "skipped": [], "notes": []}
    with psycopg.connect(args.pg_admin_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {DB}")
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": os.environ.get("SECRET_KEY")
           or "bench-grants", "DEBUG": "False", "ENV_FILE": "/nonexistent",
           "DJANGO_SETTINGS_MODULE": "settings.settings"}
    try:
        subprocess.run([sys.executable, "-c", "import django; django.setup(); "
                        "from django.core.management import call_command; "
                        "call_command('migrate', verbosity=0)"],
                       cwd=ROOT, env=env, check=True)
        with psycopg.connect(url, autocommit=True) as conn:
            report["server"] = _server_info(conn)
            now0 = _one(conn, "SELECT date_trunc('second', now())")
            report["fill_now"] = now0.isoformat()
            templates = real_records(now0)
            report["real_sizes"] = {t: len(json.dumps(d)) for t, d in templates.items()}
            sql = fill_sql(templates)
            indexes = _index_definitions(conn)
            report["index_definitions"] = indexes
            rows = 0
            last_total = 0
            for size in sizes:
                if rows and last_total:
                    need = last_total / rows * (size - rows) * 2
                    free = _free_disk()
                    if need > free:
                        report["skipped"].append(
                            {"size": size, "need": need, "free": free,
                             "per_row": last_total / rows})
                        _log(f"skip {size:,}: needs ~{need / 2**30:.0f} GiB "
                             f"(2x the {rows:,}-row footprint per row), {free / 2**30:.0f} GiB "
                             "free")
                        continue
                stage = _grow(conn, url, args.jobs, sql, rows, size, now0, indexes)
                rows = size
                stage["sizes"] = _sizes(conn, TABLE)
                last_total = stage["sizes"]["total"]
                stage["data_sizes"] = _data_sizes(conn)
                stage["load"] = os.getloadavg()
                _log(f"{size:,} rows: total {_gib(last_total)}; lookups")
                stage["queries"] = _run_child(env, size, args.lookups)
                if size == partition_at:
                    stage["partition"] = _partition(conn, now0, args.lookups)
                if size in cleanup_at:
                    stage["cleanup"] = _cleanup(conn, env, args.cleanup_timeout)
                    last_total = _sizes(conn, TABLE)["total"]
                report["stages"].append(stage)
                _write(report, args.quick, partial=True)
    except (KeyboardInterrupt, Interrupted) as exc:
        report["notes"].append(f"interrupted ({exc.__class__.__name__}); figures are partial")
        _log("interrupted")
    finally:
        if args.keep:
            _log(f"database {DB} kept")
        else:
            with psycopg.connect(args.pg_admin_url, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
            _log(f"database {DB} dropped")
    report["load_after"] = os.getloadavg()
    path = _write(report, args.quick, partial=False)
    print(_markdown(report))
    print(f"\nwritten to {path}")
    return 0


def _log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"


def _one(conn: Any, sql: str, params: Any = None) -> Any:
    """The first column of the first row of a query."""
    row = conn.execute(sql, params).fetchone()
    assert row is not None
    return row[0]


def _free_disk() -> int:
    for path in ("/var/lib/postgresql", "/"):
        try:
            return shutil.disk_usage(path).free
        except OSError:
            continue
    return 0


def _server_info(conn: Any) -> dict[str, Any]:
    info = {"version": conn.execute("SHOW server_version").fetchone()[0]}
    for name in ("shared_buffers", "work_mem", "maintenance_work_mem", "max_wal_size",
                 "autovacuum", "max_parallel_maintenance_workers", "max_parallel_workers",
                 "random_page_cost", "effective_cache_size"):
        info[name] = conn.execute(f"SHOW {name}").fetchone()[0]
    return info


def _index_definitions(conn: Any) -> list[dict[str, str]]:
    rows = conn.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid), c.conname, c.contype FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid LEFT JOIN pg_constraint c "
        "ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid "
        "WHERE x.indrelid = %s::regclass ORDER BY i.relname", [TABLE]).fetchall()
    return [{"name": r[0], "definition": r[1], "constraint": r[2] or "",
             "kind": r[3] or ""} for r in rows]


def _drop_indexes(conn: Any, indexes: list[dict[str, str]]) -> None:
    for index in indexes:
        if index["constraint"]:
            conn.execute(f'ALTER TABLE {TABLE} DROP CONSTRAINT "{index["constraint"]}"')
        else:
            conn.execute(f'DROP INDEX "{index["name"]}"')


def _build_indexes(conn: Any, indexes: list[dict[str, str]]) -> dict[str, float]:
    times = {}
    for index in sorted(indexes, key=lambda i: i["kind"] != "p"):  # the primary key first
        started = time.perf_counter()
        if index["kind"] == "p":  # the constraint names its index
            conn.execute(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{index["constraint"]}" '
                         f'PRIMARY KEY (key)')
        else:
            conn.execute(index["definition"])
        times[index["name"]] = time.perf_counter() - started
        _log(f"  index {index['name']}: {times[index['name']]:.1f} s")
    return times


def _session(conn: Any) -> None:
    # Session settings only: the server's configuration is left as it is.
    conn.execute("SET synchronous_commit = off")
    conn.execute("SET maintenance_work_mem = '1GB'")


def _grow(conn: Any, url: str, jobs: int, sql: str, start: int, stop: int, now0: datetime,
          indexes: list[dict[str, str]]) -> dict[str, Any]:
    _session(conn)
    _log(f"grow {start:,} -> {stop:,}: dropping indexes")
    _drop_indexes(conn, indexes)
    started = time.perf_counter()
    batches = [(lo, min(stop, lo + BATCH_ROWS)) for lo in range(start, stop, BATCH_ROWS)]

    def fill(jobs: list[tuple[int, int]]) -> None:
        import psycopg

        with psycopg.connect(url, autocommit=True) as own:
            _session(own)
            for lo, hi in jobs:
                t = time.perf_counter()
                own.execute(sql, {"start": lo, "stop": hi, "now": now0})
                _log(f"  rows {lo:,}-{hi:,}: {time.perf_counter() - t:.1f} s, load "
                     f"{os.getloadavg()[0]:.2f}")

    with ThreadPoolExecutor(jobs) as pool:  # one connection, one backend, per job
        for done in [pool.submit(fill, batches[i::jobs]) for i in range(jobs)]:
            done.result()
    fill_s = time.perf_counter() - started
    index_s = _build_indexes(conn, indexes)
    t = time.perf_counter()
    conn.execute(f"VACUUM ANALYZE {TABLE}")
    vacuum_s = time.perf_counter() - t
    counts = dict(conn.execute(f"SELECT type, count(*) FROM {TABLE} GROUP BY type").fetchall())
    expired = conn.execute(f"SELECT count(*) FROM {TABLE} WHERE expires < now()").fetchone()[0]
    return {"rows": stop, "added": stop - start, "fill_s": fill_s, "index_s": index_s,
            "vacuum_analyze_s": vacuum_s, "types": counts, "expired": expired,
            "total_rows": sum(counts.values())}


def _sizes(conn: Any, table: str) -> dict[str, Any]:
    heap, tbl, idx, total = conn.execute(
        "SELECT pg_relation_size(%s), pg_table_size(%s), pg_indexes_size(%s), "
        "pg_total_relation_size(%s)", [table] * 4).fetchone()
    per_index = dict(conn.execute(
        "SELECT i.relname, pg_relation_size(i.oid) FROM pg_index x JOIN pg_class i "
        "ON i.oid = x.indexrelid WHERE x.indrelid = %s::regclass ORDER BY i.relname",
        [table]).fetchall())
    return {"heap": heap, "table": tbl, "indexes": idx, "total": total, "per_index": per_index}


def _data_sizes(conn: Any) -> dict[str, float]:
    return {t: float(s) for t, s in conn.execute(
        f"SELECT type, avg(pg_column_size(data)) FROM "
        f"(SELECT type, data FROM {TABLE} TABLESAMPLE SYSTEM (1)) s GROUP BY type").fetchall()}


def _run_child(env: dict[str, str], size: int, lookups: int) -> dict[str, Any]:
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child-queries",
                           str(size), "--lookups", str(lookups)], cwd=ROOT, env=env,
                          check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _dead(conn: Any, table: str) -> int:
    row = conn.execute("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = %s",
                       [table]).fetchone()
    return int(row[0]) if row else -1


def _cleanup(conn: Any, env: dict[str, str], timeout: float) -> dict[str, Any]:
    """Run `manage.py cleanup_grants -v 2` (the real path), time each reported batch, then
    VACUUM."""
    before = _sizes(conn, TABLE)
    stale = conn.execute(
        f"SELECT count(*) FROM {TABLE} WHERE expires < now() OR (consumed < now() - "
        "interval '300 seconds' AND type <> 'refresh_token')").fetchone()[0]
    _log(f"cleanup_grants: {stale:,} stale rows")
    proc = subprocess.Popen([sys.executable, "manage.py", "cleanup_grants", "-v", "2"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    started = time.perf_counter()
    marks: list[tuple[float, int]] = []
    timed_out = False
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            now = time.perf_counter() - started
            if line.strip().endswith(" deleted") and line.startswith("  "):
                marks.append((now, int(line.split()[0])))
                if len(marks) % 20 == 0:
                    _log(f"  {marks[-1][1]:,} deleted in {now:.0f} s")
            if now > timeout:
                timed_out = True
                proc.terminate()
                break
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    seconds = time.perf_counter() - started
    deleted = marks[-1][1] if marks else 0
    elapsed = marks[-1][0] if marks else seconds
    batches = [marks[0][0]] + [b[0] - a[0] for a, b in zip(marks, marks[1:], strict=False)] \
        if marks else []
    tenth = max(1, len(batches) // 10)
    after = _sizes(conn, TABLE)
    dead = _dead(conn, TABLE)
    # The next run, with nothing left to delete (before VACUUM, the statistics still count the
    # deleted rows): what every periodic run pays however little has expired. After a stopped
    # run it deletes the rest first, and the report says so.
    t = time.perf_counter()
    subprocess.run([sys.executable, "manage.py", "cleanup_grants"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    idle_s = time.perf_counter() - t
    _log(f"cleanup: {deleted:,} in {elapsed:.0f} s; the next run "
         f"({'deleting the rest' if timed_out else 'nothing stale'}) {idle_s:.1f} s; VACUUM")
    t = time.perf_counter()
    conn.execute(f"VACUUM {TABLE}")
    vacuum_s = time.perf_counter() - t
    vacuumed = _sizes(conn, TABLE)
    return {"stale": stale, "deleted": deleted, "seconds": elapsed, "wall_s": seconds,
            "timed_out": timed_out, "rate": deleted / elapsed if elapsed else 0.0,
            "batches": len(batches),
            "first_batches_s": statistics.mean(batches[:tenth]) if batches else 0.0,
            "last_batches_s": statistics.mean(batches[-tenth:]) if batches else 0.0,
            "sizes_before": before, "sizes_after": after, "dead_after": dead,
            "idle_run_s": idle_s, "vacuum_s": vacuum_s, "sizes_vacuumed": vacuumed,
            "dead_vacuumed": _dead(conn, TABLE)}


def _partition(conn: Any, now0: datetime, lookups: int) -> dict[str, Any]:
    """A copy of the table partitioned by day of `expires`: build it, look up keys, then drop
    the expired partitions (and DELETE the expired rows of today's) and time that."""
    _session(conn)
    _log("partitioned copy")
    conn.execute(f"DROP TABLE IF EXISTS {PART}")
    conn.execute(f"CREATE TABLE {PART} (LIKE {TABLE} INCLUDING DEFAULTS) "
                 "PARTITION BY RANGE (expires)")
    lo, hi = conn.execute(f"SELECT min(expires), max(expires) FROM {TABLE}").fetchone()
    day = datetime(lo.year, lo.month, lo.day, tzinfo=lo.tzinfo)
    names = []
    while day <= hi:
        name = f"{PART}_{day:%Y%m%d}"
        conn.execute(f"CREATE TABLE {name} PARTITION OF {PART} FOR VALUES FROM "
                     f"('{day.isoformat()}') TO ('{(day + timedelta(days=1)).isoformat()}')")
        names.append((name, day))
        day += timedelta(days=1)
    conn.execute(f"CREATE TABLE {PART}_default PARTITION OF {PART} DEFAULT")
    started = time.perf_counter()
    conn.execute(f"INSERT INTO {PART} SELECT * FROM {TABLE}")
    fill_s = time.perf_counter() - started
    started = time.perf_counter()
    # The primary key must hold the partition key: (key, expires), no longer unique by key.
    conn.execute(f"ALTER TABLE {PART} ADD PRIMARY KEY (key, expires)")
    conn.execute(f"CREATE INDEX {PART}_subject ON {PART} (subject_id, client_id, type)")
    conn.execute(f"CREATE INDEX {PART}_family ON {PART} (family)")
    index_s = time.perf_counter() - started
    conn.execute(f"VACUUM ANALYZE {PART}")
    size = conn.execute(
        "SELECT sum(pg_table_size(relid)), sum(pg_indexes_size(relid)), "
        "sum(pg_total_relation_size(relid)) FROM pg_partition_tree(%s) WHERE isleaf",
        [PART]).fetchone()
    # Lookups by key, the store's SELECT: the same statement on both tables.
    n = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
    rng = random.Random(SEED + 1)
    keys = [grant_key(rng.randrange(n)) for _ in range(lookups)]
    latency = {}
    for table in (TABLE, PART):
        times = []
        for key in keys[:20] + keys:  # 20 to warm up
            t = time.perf_counter()
            conn.execute(f"SELECT key, type, client_id, subject_id, session_id, family, data, "
                         f"created, expires, consumed FROM {table} WHERE key = %s",
                         [key], prepare=True).fetchall()
            times.append(time.perf_counter() - t)
        latency[table] = _stats(times[20:])
    full = [r[0] for r in conn.execute(
        f"EXPLAIN (ANALYZE, COSTS OFF, SUMMARY ON) SELECT * FROM {PART} WHERE key = %s",
        [keys[0]]).fetchall()]
    scans = sum(1 for line in full if line.lstrip().startswith("->"))
    plan = "\n".join(full[:5] + [f"  ... {scans} partitions scanned in all"] + [
        line for line in full if line.startswith(("Planning", "Execution"))])
    # Dropping what expired: whole partitions below today's, then today's expired rows.
    now = conn.execute("SELECT now()").fetchone()[0]
    expired = conn.execute(f"SELECT count(*) FROM {PART} WHERE expires < %s",
                           [now]).fetchone()[0]
    whole = [name for name, d in names if d + timedelta(days=1) <= now]
    started = time.perf_counter()
    dropped_rows = 0
    for name in whole:
        dropped_rows += conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    count_s = time.perf_counter() - started
    started = time.perf_counter()
    for name in whole:
        conn.execute(f"ALTER TABLE {PART} DETACH PARTITION {name}")
        conn.execute(f"DROP TABLE {name}")
    drop_s = time.perf_counter() - started
    started = time.perf_counter()
    rest = conn.execute(f"DELETE FROM {PART} WHERE expires < %s", [now]).rowcount
    rest_s = time.perf_counter() - started
    conn.execute(f"DROP TABLE {PART}")
    return {"partitions": len(names) + 1, "fill_s": fill_s, "index_s": index_s,
            "table": size[0], "indexes": size[1], "total": size[2], "expired": expired,
            "dropped_partitions": len(whole), "dropped_rows": dropped_rows,
            "count_s": count_s, "drop_s": drop_s, "rest_rows": rest, "rest_s": rest_s,
            "lookup": latency, "lookup_plan": plan}


def _stats(seconds: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in seconds)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return {"n": len(ms), "median_ms": statistics.median(ms), "p99_ms": p99, "max_ms": ms[-1]}


# ---- child: the server's queries through its own code ------------------------------------------


def child_queries(size: int, lookups: int) -> int:
    """Time the server's hot queries on the table (run with DATABASE_URL set)."""
    import django

    django.setup()
    from django.db import connection, transaction

    from identity import clock
    from identity.management.commands.cleanup_grants import stale_grants
    from identity.models import PersistedGrant
    from identity.stores.orm_grants import OrmPersistedGrantStore

    store = OrmPersistedGrantStore()
    rng = random.Random(SEED)
    wanted = [grant_key(rng.randrange(size)) for _ in range(lookups * 2)]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, subject_id, client_id, family FROM {TABLE} "
                       "WHERE key = ANY(%s)", [wanted])
        found = {r[0]: r for r in cursor.fetchall()}
    rows = [found[k] for k in wanted if k in found][:lookups]
    result: dict[str, Any] = {"lookups": len(rows), "timings": {}, "plans": {}}

    def timed(name: str, call: Any, items: list[Any], warm: int = 10) -> None:
        times, counts = [], []
        for i, item in enumerate(items[:warm] + items):
            t = time.perf_counter()
            count = call(item)
            if i >= warm:
                times.append(time.perf_counter() - t)
                counts.append(count)
        result["timings"][name] = {**_stats(times), "rows": statistics.mean(counts)}

    def page(qs: Any) -> int:  # the management API's list: a count, then a page of 50
        total: int = qs.count()
        list(qs[:50])
        return total

    def rolled_back(call: Any) -> int:
        with transaction.atomic():
            n: int = call()
            transaction.set_rollback(True)
        return n

    timed("get by key (store.get)", lambda r: 1 if store.get(r[0]) else 0, rows)
    timed("list by subject (API page)", lambda r: page(PersistedGrant.objects.filter(
        subject_id=r[1]).order_by("-created", "key")), rows)
    timed("remove_all(subject, client) (consent revoked)", lambda r: rolled_back(
        lambda: store.remove_all(r[1], r[2])), rows)
    timed("remove_family (replay, revocation)", lambda r: rolled_back(
        lambda: store.remove_family(r[3] or r[0])), rows)
    few = rows[:5]
    timed("list by client (API page)", lambda r: page(PersistedGrant.objects.filter(
        client_id=r[2]).order_by("-created", "key")), few, warm=1)
    r = rows[0]
    plans: dict[str, Any] = {
        "get by key": PersistedGrant.objects.filter(key=r[0]),
        "list by subject": PersistedGrant.objects.filter(subject_id=r[1]).order_by(
            "-created", "key")[:50],
        "remove_all": PersistedGrant.objects.filter(subject_id=r[1], client_id=r[2]),
        "remove_family": PersistedGrant.objects.filter(family=r[3] or r[0]),
        "list by client": PersistedGrant.objects.filter(client_id=r[2]).order_by(
            "-created", "key")[:50],
    }
    # The two batch queries of manage.py cleanup_grants, as the command builds them.
    expired, consumed = stale_grants(clock.now(), timedelta(seconds=300))
    plans["cleanup_grants batch, expired"] = expired[:5000]
    plans["cleanup_grants batch, consumed"] = consumed[:5000]
    for name, qs in plans.items():
        result["plans"][name] = qs.explain(analyze=True, buffers=True, costs=False)
    print(json.dumps(result))
    return 0


# ---- report ------------------------------------------------------------------------------------


def _write(report: dict[str, Any], quick: bool, *, partial: bool) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = f"grants_table-{report['started'][:10]}{'-quick' if quick else ''}"
    (RESULTS_DIR / f"{stem}.json").write_text(json.dumps(report, indent=1, default=str))
    path = RESULTS_DIR / f"{stem}.md"
    if not partial:
        path.write_text(_markdown(report))
    return path


def _m(n: int) -> str:
    return f"{n / 1e6:g}M" if n >= 1_000_000 else f"{n / 1e3:g}k"


def _markdown(report: dict[str, Any]) -> str:
    server = report.get("server", {})
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    lines = [
        "# The persisted-grants table at scale", "",
        f"- started {report['started']}, `bench/grants_table.py {' '.join(report['argv'])}`",
        f"- machine: {platform.node()}, {os.cpu_count()} CPUs, {mem / 2**30:.0f} GiB memory, "
        f"Python {platform.python_version()}",
        f"- PostgreSQL {server.get('version', '?')}: " + ", ".join(
            f"{k} {v}" for k, v in server.items() if k != "version"),
        f"- load average before {_load(report['load_before'])}, after "
        f"{_load(report.get('load_after', report['load_before']))}",
        f"- the server's own records: `data` of a code {report.get('real_sizes', {}).get('authorization_code')} B, "  # noqa: E501
        f"a refresh token {report.get('real_sizes', {}).get('refresh_token')} B, a reference "
        f"token {report.get('real_sizes', {}).get('reference_token')} B (JSON text)", ""]
    for note in report["notes"]:
        lines.append(f"**{note}**\n")
    stages = report["stages"]
    if stages:
        names = sorted(stages[-1]["sizes"]["per_index"])
        lines += ["## Sizes and build times", "",
                  "| rows | heap | table | " + " | ".join(f"`{n}`" for n in names)
                  + " | indexes | total | bytes/row | fill | index builds | VACUUM ANALYZE "
                  "| load |",
                  "|" + " ---: |" * (len(names) + 10)]
        for s in stages:
            sz = s["sizes"]
            lines.append(
                f"| {_m(s['rows'])} | {_gib(sz['heap'])} | {_gib(sz['table'])} | "
                + " | ".join(_gib(sz["per_index"].get(n, 0)) for n in names)
                + f" | {_gib(sz['indexes'])} | {_gib(sz['total'])} | "
                f"{sz['total'] / s['total_rows']:.0f} | {s['fill_s']:.0f} s "
                f"({s['added'] / s['fill_s']:,.0f} rows/s) | {sum(s['index_s'].values()):.0f} s "
                f"| {s['vacuum_analyze_s']:.0f} s | {s['load'][0]:.2f} |")
        lines += ["", "Index builds, seconds: " + "; ".join(
            f"{_m(s['rows'])}: " + ", ".join(f"`{k}` {v:.1f}" for k, v in s["index_s"].items())
            for s in stages), "",
            "Rows per type and average `pg_column_size(data)` (1% sample): " + "; ".join(
                f"{_m(s['rows'])}: " + ", ".join(
                    f"{t} {c:,} ({s['data_sizes'].get(t, 0):.0f} B)"
                    for t, c in sorted(s["types"].items()))
                + f", expired {s['expired']:,}" for s in stages), ""]
        lines += ["## Hot queries (the server's code, Django ORM, one connection)", "",
                  "| rows | query | lookups | rows each | median ms | p99 ms | max ms |",
                  "| ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
        for s in stages:
            for name, t in s["queries"]["timings"].items():
                lines.append(f"| {_m(s['rows'])} | {name} | {t['n']} | {t['rows']:.1f} | "
                             f"{t['median_ms']:.2f} | {t['p99_ms']:.2f} | {t['max_ms']:.2f} |")
        last = stages[-1]
        lines += ["", f"### Plans at {_m(last['rows'])} (EXPLAIN ANALYZE, BUFFERS)", ""]
        for name, plan in last["queries"]["plans"].items():
            lines += [f"{name}:", "", "```", plan, "```", ""]
        cleanups = [s for s in stages if "cleanup" in s]
        if cleanups:
            lines += ["## Cleanup (`manage.py cleanup_grants`, batches of 5,000)", "",
                      "| rows | stale | deleted | time | rows/s | batches | first 10% s/batch "
                      "| last 10% s/batch | next run | total before | after | "
                      "dead tuples | VACUUM | after VACUUM | dead after |",
                      "|" + " ---: |" * 15]
            for s in cleanups:
                c = s["cleanup"]
                lines.append(
                    f"| {_m(s['rows'])} | {c['stale']:,} | {c['deleted']:,}"
                    f"{' (stopped)' if c['timed_out'] else ''} | {c['seconds']:.0f} s | "
                    f"{c['rate']:,.0f} | {c['batches']} | {c['first_batches_s']:.2f} | "
                    f"{c['last_batches_s']:.2f} | {c.get('idle_run_s', float('nan')):.1f} s "
                    f"({'deleting the rest' if c['timed_out'] else 'nothing stale'}) | "
                    f"{_gib(c['sizes_before']['total'])} | "
                    f"{_gib(c['sizes_after']['total'])} | {c['dead_after']:,} | "
                    f"{c['vacuum_s']:.0f} s | {_gib(c['sizes_vacuumed']['total'])} | "
                    f"{c['dead_vacuumed']:,} |")
            lines.append("")
        parts = [s for s in stages if "partition" in s]
        for s in parts:
            p = s["partition"]
            c = s.get("cleanup")
            lines += [f"## Partitioned by day of `expires`, at {_m(s['rows'])} rows", "",
                      f"{p['partitions']} partitions (one a day and a default), primary key "
                      f"(key, expires); copy {p['fill_s']:.0f} s, indexes "
                      f"{p['index_s']:.0f} s; table {_gib(p['table'])}, indexes "
                      f"{_gib(p['indexes'])}, total {_gib(p['total'])}.", "",
                      "| removing the expired rows | rows | time | rows/s |",
                      "| --- | ---: | ---: | ---: |",
                      f"| DETACH + DROP of {p['dropped_partitions']} whole partitions | "
                      f"{p['dropped_rows']:,} | {p['drop_s']:.2f} s | "
                      f"{p['dropped_rows'] / max(p['drop_s'], 1e-9):,.0f} |",
                      f"| DELETE of the rest (today's partition) | {p['rest_rows']:,} | "
                      f"{p['rest_s']:.2f} s | {p['rest_rows'] / max(p['rest_s'], 1e-9):,.0f} |"]
            if c:
                lines.append(f"| `cleanup_grants` on the unpartitioned table | "
                             f"{c['deleted']:,} | {c['seconds']:.0f} s | {c['rate']:,.0f} |")
            lines += ["", "| lookup by key (same SELECT, psycopg, prepared) | median ms | "
                      "p99 ms |", "| --- | ---: | ---: |"]
            for table, t in p["lookup"].items():
                lines.append(f"| `{table}` | {t['median_ms']:.3f} | {t['p99_ms']:.3f} |")
            lines += ["", "```", p["lookup_plan"], "```", ""]
    for skip in report["skipped"]:
        lines.append(f"Skipped {_m(skip['size'])} rows: about {_gib(skip['need'])} needed "
                     f"(twice {skip['per_row']:.0f} bytes a row of the last size measured, "
                     f"for the rows to add), {_gib(skip['free'])} free.")
    return "\n".join(lines) + "\n"


def _load(load: Any) -> str:
    return " ".join(f"{x:.2f}" for x in load)


if __name__ == "__main__":
    sys.exit(main())
