"""Run the project as an outside tool does: manage.py commands and gunicorn in subprocesses, and
HTTP requests to what they serve.

Written once for the tests and for bench/ (bench/harness.py builds on it): nothing here imports
Django or pytest.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.helpers.basic_auth import basic

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
READY_TIMEOUT = 60.0


class ServerError(RuntimeError):
    """A server did not come up: it exited, or did not answer within the time allowed."""


# --- processes --------------------------------------------------------------------------------


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listening(port: int, host: str = "127.0.0.1") -> bool:
    """Tell whether something accepts TCP connections on `host`:`port`."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


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


# --- gunicorn ---------------------------------------------------------------------------------


@dataclass
class Server:
    """A running gunicorn master, in a process group of its own, and where it logs."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path | None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def log_tail(path: Path | None, chars: int = 3000) -> str:
    """Return the end of a server's log (empty when there is none)."""
    try:
        return path.read_text(errors="replace")[-chars:] if path else ""
    except OSError:
        return ""


def answers_http(base: str) -> bool:
    """Tell whether a server answers an HTTP request on `base`, whatever the status."""
    try:
        urllib.request.urlopen(base + "/", timeout=2).close()
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def start_gunicorn(env: Mapping[str, str], *, port: int | None = None,
                   app: str = "settings.wsgi:application", cwd: Path = ROOT,
                   python: Path | None = None, workers: int = 2, log: Path | None = None,
                   append_log: bool = False, log_level: str = "info", name: str = "gunicorn",
                   ready: Callable[[Server], bool] | None = None,
                   timeout: float = READY_TIMEOUT) -> Server:
    """Serve `app` with gunicorn (sync workers) on 127.0.0.1; return once it answers HTTP and
    `ready` (when given) holds. Output goes to `log` (nowhere when None). Raises ServerError,
    with the log's end, when the server exits or does not answer within `timeout` seconds."""
    port = port or free_port()
    cmd = [str(python or sys.executable), "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}",
           "--workers", str(workers), "--worker-class", "sync", "--log-level", log_level]
    with (log.open("ab" if append_log else "wb") if log else open(os.devnull, "wb")) as out:
        process = subprocess.Popen(cmd, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(name, process, port, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stop_gunicorn(server)
            raise ServerError(f"gunicorn for {name} exited ({process.returncode}):\n"
                              f"{log_tail(log)}")
        if answers_http(server.base) and (ready is None or ready(server)):
            return server
        time.sleep(0.1)
    stop_gunicorn(server)
    raise ServerError(f"gunicorn for {name} did not answer within {timeout:.0f} s:\n"
                      f"{log_tail(log)}")


def stop_gunicorn(server: Server) -> None:
    """Stop a gunicorn master and its workers: TERM, then KILL, to its process group."""
    process = server.process
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    try:  # workers left behind by a master that died
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


@contextmanager
def gunicorn(env: dict[str, str], port: int, workers: int = 2,
             log: Path | None = None) -> Iterator[str]:
    """Serve `settings.wsgi` with gunicorn on loopback; yield the base URL.

    The output goes to `log`, else to the file TEST_SERVER_LOG names (appended to: it keeps the
    servers' tracebacks for debugging a test), else nowhere."""
    shared = os.environ.get("TEST_SERVER_LOG")
    server = start_gunicorn(env, port=port, workers=workers,
                            log=log or (Path(shared) if shared else None),
                            append_log=log is None)
    try:
        yield server.base
    finally:
        stop_gunicorn(server)


# --- HTTP -------------------------------------------------------------------------------------


def post_form(url: str, form: Mapping[str, str], *, auth: tuple[str, str] | None = None,
              headers: Mapping[str, str] | None = None,
              timeout: float = 30.0) -> tuple[int, bytes]:
    """POST `form` form-urlencoded to `url`, with Basic credentials when `auth` is given (or
    the `headers` given: a Bearer token); return the status and the body, error answers
    included."""
    sent = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    if auth is not None:
        sent["Authorization"] = basic(*auth)
    request = urllib.request.Request(url, data=urlencode(form).encode(), headers=sent,
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def client_credentials(base: str, client_id: str, secret: str = "secret",
                       **params: str) -> tuple[int, dict[str, Any]]:
    """POST a client-credentials request (plus `params`) to the server at `base`; return the
    status and the JSON body ({} when there is none)."""
    status, body = post_form(f"{base}/connect/token",
                             {"grant_type": "client_credentials", **params},
                             auth=(client_id, secret))
    return status, json.loads(body or b"{}")


def token_status(base: str, client_id: str = "local-dev", secret: str = "secret",
                 **params: str) -> int:
    """POST a client-credentials request (plus `params`); return the status."""
    return post_form(f"{base}/connect/token", {"grant_type": "client_credentials", **params},
                     auth=(client_id, secret))[0]
