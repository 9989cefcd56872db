#!/usr/bin/env python
"""Run every race test many times on PostgreSQL and report each race's rounds and outcomes.

    .venv/bin/python bench/races.py [--rounds 100] [--database-url postgres://...] [PYTEST_ARGS]

Runs tests/races and tests/authorization_code/test_concurrency.py in one pytest process with
RACE_ROUNDS set; each race appends a line to a report file (tests/races/harness.py), printed here
as rounds run, rounds passed, what happened in how many rounds, and the time of the rounds
(without the test's set-up). pytest makes its own database, test_<name of the URL's database>,
and drops it afterwards. Extra arguments go to pytest, e.g. `-k import`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ["tests/races", "tests/authorization_code/test_concurrency.py"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/races")
    args, pytest_args = parser.parse_known_args()
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("the races need PostgreSQL: they skip on other databases")
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "races.jsonl"
        env = {**os.environ, "DATABASE_URL": args.database_url, "RACE_ROUNDS": str(args.rounds),
               "RACE_REPORT": str(report), "DEBUG": "False", "ENV_FILE": "/nonexistent"}
        env.setdefault("SECRET_KEY", "bench-races")
        load = os.getloadavg()[0]
        started = time.perf_counter()
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS,
             *pytest_args], cwd=ROOT, env=env, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        lines = report.read_text(encoding="utf-8").splitlines() if report.exists() else []
    races = [json.loads(line) for line in lines]
    print(f"{len(races)} races, {args.rounds} rounds each, PostgreSQL, {seconds:.0f} s in all "
          f"(load average {load:.1f} before, {os.getloadavg()[0]:.1f} after)\n")
    names = [_name(race["test"]) for race in races]
    width = max(map(len, names), default=4)
    print(f"{'race':<{width}} {'rounds':>6} {'passed':>6} {'time':>7}")
    for name, race in zip(names, races, strict=True):
        print(f"{name:<{width}} {race['rounds']:>6} {race['passed']:>6} "
              f"{race['seconds']:>6.1f}s")
        for outcome, count in sorted(race["outcomes"].items(), key=lambda kv: -kv[1]):
            print(f"    {count:>4} x {outcome}")
    print("\npytest: " + (run.stdout.strip().splitlines() or ["(no output)"])[-1])
    if run.returncode != 0:
        print(run.stdout[-5000:], run.stderr[-2000:], sep="\n", file=sys.stderr)
    return run.returncode


def _name(node_id: str) -> str:
    module, _, test = node_id.partition("::")
    return f"{Path(module).stem.removeprefix('test_')}: {test.removeprefix('test_')}"


if __name__ == "__main__":
    sys.exit(main())
