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
    # TEST_SERVER_LOG=FILE keeps the servers' output (tracebacks) for debugging a test.
    log = open(os.environ["TEST_SERVER_LOG"], "a") if os.environ.get("TEST_SERVER_LOG") else None
    proc = subprocess.Popen([str(BIN / "gunicorn"), "settings.wsgi:application", "-b",
                             f"127.0.0.1:{port}", "-w", str(workers)], cwd=ROOT, env=env,
                            stdout=log or subprocess.DEVNULL, stderr=log or subprocess.DEVNULL)
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
        if log:
            log.close()


def shared_cache_project(work: Path, document: str) -> dict[str, str]:
    """Set up a project in `work` on Redis, under a key prefix of its own, with `document`'s
    clients imported; return its environment."""
    import uuid

    env = project_env(work, CACHE_URL=f"redis://127.0.0.1:6379/0?KEY_PREFIX={uuid.uuid4().hex}",
                      IDENTITY_ISSUER="http://127.0.0.1")
    (work / "clients.json").write_text(document)
    manage(env, "migrate", "--noinput")
    manage(env, "import_clients", str(work / "clients.json"))
    return env


def token_status(base: str, client_id: str = "local-dev", secret: str = "secret") -> int:
    """POST a client-credentials request; return the status."""
    import base64
    import urllib.error

    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    request = urllib.request.Request(f"{base}/connect/token", data=b"grant_type=client_credentials",
                                     headers={"Authorization": f"Basic {basic}"})
    try:
        return urllib.request.urlopen(request).status
    except urllib.error.HTTPError as err:
        return err.code
