"""Run the project as an outside tool does: manage.py commands and gunicorn in subprocesses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    """Return a free TCP port on loopback."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def project_env(work: Path, **extra: str) -> dict[str, str]:
    """Return an environment for a project of its own: SQLite file in `work`, DEBUG off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "IDENTITY_"))}
    env.update({"DATABASE_URL": f"sqlite:///{work}/db.sqlite3",
                "SECRET_KEY": "subprocess-test-key", "DEBUG": "False",
                "ALLOWED_HOSTS": "127.0.0.1,localhost", "ENV_FILE": "/nonexistent",
                "CACHE_URL": "locmemcache://", **extra})
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run a manage.py command and fail loudly with its output."""
    result = subprocess.run([str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    return result


@contextmanager
def gunicorn(env: dict[str, str], port: int, workers: int = 2) -> Iterator[str]:
    """Serve `settings.wsgi` with gunicorn on loopback; yield the base URL."""
    proc = subprocess.Popen([str(BIN / "gunicorn"), "settings.wsgi:application", "-b",
                             f"127.0.0.1:{port}", "-w", str(workers)], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(base + "/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)
