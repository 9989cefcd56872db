"""What the bench scripts share: gunicorn started and stopped (the code of
tests/helpers/servers.py, written once for the tests and the benchmarks), commands run with their
output kept, HTTP Basic and PKCE for the requests, and the CPU and memory accounting read from
/proc.

The scripts put the checkout on sys.path before importing this module (they run as
`.venv/bin/python bench/NAME.py`), so that `bench` and `tests.helpers` import.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import NoReturn

from tests.helpers.basic_auth import basic
from tests.helpers.pkce import Pkce
from tests.helpers.servers import (
    Server,
    ServerError,
    free_port,
    log_tail,
    post_form,
    start_gunicorn,
    stop_gunicorn,
)
from tests.helpers.user_agent import Answer, Browser

__all__ = ["Answer", "BenchError", "Browser", "Pkce", "Server", "basic", "free_port", "log_tail",
           "post_form"]

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
WORKERS = 2  # gunicorn sync workers of every measured server
# Variables of settings.settings that would change what is measured; the scripts set their own.
SETTINGS_ENV = ("IDENTITY_ISSUER", "ALLOWED_HOSTS", "BEHIND_HTTPS_PROXY", "LOG_LEVEL",
                "DATABASE_URL", "CACHE_URL", "ENV_FILE", "IDENTITY_CLIENTS_FILE", "DEBUG",
                "SECRET_KEY", "DJANGO_SETTINGS_MODULE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(RuntimeError):
    """The benchmark cannot go on (a server failed to start or answered wrongly)."""


def run_main(main: Callable[[], int], interrupted: str) -> NoReturn:
    """Exit with `main()`'s status; a failed benchmark or a Ctrl-C says so in one line, with
    `interrupted` telling what was cleaned up, rather than in a traceback."""
    try:
        sys.exit(main())
    except (BenchError, subprocess.CalledProcessError) as exc:
        print(f"\nbenchmark failed: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        print(f"\ninterrupted; {interrupted}", file=sys.stderr)
        sys.exit(130)


def write_report(name: str, text: str, started: datetime, *, quick: bool = False) -> Path:
    """Print a Markdown report and write it to bench/results/NAME-STARTED[-quick].md."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}-{started:%Y%m%d-%H%M%S}{'-quick' if quick else ''}.md"
    path.write_text(text)
    print()
    print(text)
    print(f"written to {path.relative_to(ROOT)}")
    return path


def exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    """A SIGTERM handler that exits through the `finally` blocks, stopping the servers."""
    raise SystemExit(128 + signum)


def environment_without(names: Iterable[str]) -> dict[str, str]:
    """Return this process's environment without the variables `names`."""
    dropped = set(names)
    return {k: v for k, v in os.environ.items() if k not in dropped}


# --- processes ---------------------------------------------------------------------------------


def run(cmd: list[str], *, cwd: Path, env: Mapping[str, str] | None = None, what: str) -> str:
    """Run a command to completion; raise BenchError with its output when it fails."""
    done = subprocess.run(cmd, cwd=cwd, env=None if env is None else dict(env),
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"{what} failed (exit {done.returncode}): {' '.join(cmd)}\n"
                         f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def manage(env: Mapping[str, str], *args: str) -> str:
    """Run a manage.py command of the checkout with this Python; return its output."""
    return run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
               what=f"manage.py {' '.join(args)}")


def start_server(name: str, env: Mapping[str, str], log: Path, *,
                 app: str = "settings.wsgi:application", cwd: Path = ROOT,
                 python: Path | None = None, port: int | None = None,
                 ready: Callable[[Server], bool] | None = None) -> Server:
    """Start gunicorn with WORKERS sync workers on a free loopback port (or `port`), logging
    warnings to `log`; return once it answers (and `ready` holds)."""
    try:
        return start_gunicorn(env, port=port, app=app, cwd=cwd, python=python, workers=WORKERS,
                              log=log, log_level="warning", name=name, ready=ready)
    except ServerError as exc:
        raise BenchError(str(exc)) from exc


def stop_server(server: Server) -> None:
    """Stop a server started by start_server, its workers included."""
    stop_gunicorn(server)


# --- /proc ------------------------------------------------------------------------------------


def read_proc(path: str, key: str) -> str:
    """Return the value of the first `key: value` line of a /proc file ("unknown" if none)."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def cpu_model() -> str:
    return read_proc("/proc/cpuinfo", "model name")


def machine_ticks() -> tuple[int, int]:
    """Return (busy, total) CPU ticks of the whole machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return total - idle, total


def _stat_fields(stat: Path) -> list[str] | None:
    """The fields of a /proc/PID/stat after "(comm)": state ppid pgrp ... (None: gone)."""
    try:
        return stat.read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _ticks(fields: list[str]) -> int:
    return int(fields[11]) + int(fields[12])  # utime, stime


def cpu_seconds(pids: Iterable[int]) -> float:
    """Return the user + system CPU seconds the live processes `pids` have used."""
    fields = (_stat_fields(Path(f"/proc/{pid}/stat")) for pid in pids)
    return sum(_ticks(f) for f in fields if f) / CLOCK_TICKS


def group_cpu_seconds(pgid: int) -> float:
    """Return the user + system CPU seconds of every live process in a process group."""
    fields = (_stat_fields(stat) for stat in Path("/proc").glob("[0-9]*/stat"))
    return sum(_ticks(f) for f in fields if f and int(f[2]) == pgid) / CLOCK_TICKS


def worker_pids(master: int) -> list[int]:
    """Return the pids whose parent is the gunicorn master: its workers."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _stat_fields(stat)
        if fields and int(fields[1]) == master:
            pids.append(int(stat.parent.name))
    return sorted(pids)


def rss_kib(pid: int) -> int | None:
    """Return the resident memory (VmRSS) of a process in KiB (None: gone)."""
    value = read_proc(f"/proc/{pid}/status", "VmRSS:")
    return int(value.split()[0]) if value != "unknown" else None
