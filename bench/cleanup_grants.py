#!/usr/bin/env python
"""Time `manage.py cleanup_grants` over 1,000,000 expired grants on PostgreSQL, with peak memory.

    .venv/bin/python bench/cleanup_grants.py [--rows 1000000] [--batch-size 5000]
                                             [--pg-admin-url postgres://postgres@127.0.0.1:5432/postgres]

Creates a database of its own (identity_bench_cleanup), migrates it, fills it with expired
grants in one INSERT ... SELECT, runs the command in a subprocess (its peak RSS is read from
getrusage), checks that nothing is left, and drops the database.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DB = "identity_bench_cleanup"
FILL = """
INSERT INTO identity_persistedgrant
    (key, type, client_id, subject_id, session_id, family, data, created, expires, consumed)
SELECT md5(g::text) || md5((g + 1)::text), 'refresh_token', 'bench.client', (g %% 5000)::text,
       '', '', '{"scopes": ["openid", "api1", "offline_access"]}'::jsonb,
       now() - interval '40 days', now() - interval '1 day', NULL
FROM generate_series(1, %s) AS g
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    base = args.pg_admin_url.rsplit("/", 1)[0]
    with psycopg.connect(args.pg_admin_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {DB}")
        admin.execute(f"CREATE DATABASE {DB}")
    env = {**os.environ, "DATABASE_URL": f"{base}/{DB}", "SECRET_KEY": "bench-cleanup",
           "DEBUG": "False", "ENV_FILE": "/nonexistent", "DJANGO_SETTINGS_MODULE":
           "settings.settings"}
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT,
                       env=env, check=True, capture_output=True)
        with psycopg.connect(f"{base}/{DB}", autocommit=True) as conn:
            started = time.perf_counter()
            conn.execute(FILL, [args.rows])
            conn.execute("ANALYZE identity_persistedgrant")
            fill_s = time.perf_counter() - started
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "manage.py", "cleanup_grants", "--batch-size",
                               str(args.batch_size)], cwd=ROOT, env=env, check=True,
                              capture_output=True, text=True)
        seconds = time.perf_counter() - started
        peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        with psycopg.connect(f"{base}/{DB}") as conn:
            left = conn.execute("SELECT count(*) FROM identity_persistedgrant").fetchone()[0]
        version = psycopg.connect(f"{base}/{DB}").info.server_version
    finally:
        with psycopg.connect(args.pg_admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {DB}")
    print(f"PostgreSQL {version // 10000}.{version % 10000}, {os.cpu_count()} CPUs")
    print(f"filled {args.rows:,} expired grants in {fill_s:.1f} s (not part of the figure)")
    print(f"cleanup_grants --batch-size {args.batch_size}: {done.stdout.strip()}")
    print(f"time {seconds:.1f} s ({args.rows / seconds:,.0f} grants/s), "
          f"peak RSS of the largest child process {peak_mib:.0f} MiB, {left} rows left")
    return 0 if left == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
