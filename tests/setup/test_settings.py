"""The environment contract of the serving project (settings read with django-environ)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRINT = ("import django, json; django.setup(); from django.conf import settings as s; "
         "print(json.dumps({'secure': s.SESSION_COOKIE_SECURE, 'csrf': s.CSRF_COOKIE_SECURE, "
         "'hosts': s.ALLOWED_HOSTS, 'hsts': s.SECURE_HSTS_SECONDS, 'issuer': s.IDENTITY['ISSUER'], "
         "'db': s.DATABASES['default']['ENGINE'], 'cache': s.CACHES['default']['BACKEND'], "
         "'file': s.IDENTITY['CLIENTS_FILE'], "
         "'prefix': s.CACHES['default'].get('KEY_PREFIX'), "
         "'options': s.CACHES['default'].get('OPTIONS', {}), "
         "'db_options': s.DATABASES['default'].get('OPTIONS', {}), "
         "'no_server_cursors': s.DATABASES['default'].get('DISABLE_SERVER_SIDE_CURSORS')}))")


def _settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if k not in {"SECRET_KEY", "DEBUG", "IDENTITY_ISSUER", "DATABASE_URL", "CACHE_URL",
                          "ALLOWED_HOSTS", "IDENTITY_CLIENTS_FILE", "DB_TRANSACTION_POOLING"}}
    clean.update({"DJANGO_SETTINGS_MODULE": "settings.settings", "ENV_FILE": "/nonexistent",
                  **env})
    return subprocess.run([sys.executable, "-c", PRINT], cwd=ROOT, env=clean,
                          capture_output=True, text=True, timeout=60)


def test_refuses_to_start_without_secret_key_when_debug_is_off() -> None:
    result = _settings()
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert "Set the SECRET_KEY environment variable" in result.stderr


def test_debug_runs_without_secret_key() -> None:
    assert _settings(DEBUG="True").returncode == 0


def test_plain_http_issuer_keeps_cookies_usable_over_http() -> None:
    out = json.loads(_settings(SECRET_KEY="k", IDENTITY_ISSUER="http://127.0.0.1:8123/").stdout)
    assert out["secure"] is False and out["csrf"] is False
    assert out["issuer"] == "http://127.0.0.1:8123"
    # HSTS stays configured: SecurityMiddleware sends it on https responses only (tests/headers).
    assert out["hsts"] >= 31536000


def test_https_issuer_marks_cookies_secure_and_allows_its_host() -> None:
    out = json.loads(_settings(SECRET_KEY="k", IDENTITY_ISSUER="https://id.example.com").stdout)
    assert out["secure"] is True and out["csrf"] is True and out["hsts"] > 0
    assert "id.example.com" in out["hosts"]


def test_database_cache_and_clients_file_come_from_the_environment(tmp_path) -> None:
    out = json.loads(_settings(
        SECRET_KEY="k", DATABASE_URL="postgres://postgres@127.0.0.1:5432/test",
        CACHE_URL="redis://127.0.0.1:6379/1?key_prefix=tenant-a",
        IDENTITY_CLIENTS_FILE=str(tmp_path / "c.json"),
    ).stdout)
    assert out["db"] == "django.db.backends.postgresql"
    assert out["cache"] == "identity.redis_cache.RedisCache"  # Django's, reusing its clients
    assert out["file"] == str(tmp_path / "c.json")
    assert out["prefix"] == "tenant-a"
    # Bounded waits on Redis unless CACHE_URL says otherwise (tests/faults: a Redis that hangs).
    assert out["options"] == {"socket_connect_timeout": 1, "socket_timeout": 1}
    custom = json.loads(_settings(
        SECRET_KEY="k", CACHE_URL="redis://127.0.0.1:6379/1?socket_timeout=3").stdout)
    assert custom["options"] == {"socket_connect_timeout": 1, "socket_timeout": 3}
    strict = json.loads(_settings(
        SECRET_KEY="k", CACHE_URL="redis://127.0.0.1:6379/1?local_copy_seconds=0").stdout)
    assert strict["options"] == {"local_copy_seconds": 0, "socket_connect_timeout": 1,
                                 "socket_timeout": 1}


def test_sqlite_transactions_take_the_write_lock_at_once() -> None:
    # Two workers redeeming codes at once must wait for each other, not fail "database is
    # locked" when a deferred transaction tries to upgrade its lock.
    out = json.loads(_settings(SECRET_KEY="k").stdout)
    assert out["db_options"]["transaction_mode"] == "IMMEDIATE"


def test_sqlite_runs_in_write_ahead_log_mode() -> None:
    # A synced rollback journal costs about 1 ms per commit on the hot single-use paths.
    out = json.loads(_settings(SECRET_KEY="k").stdout)
    assert "journal_mode=WAL" in out["db_options"]["init_command"]
    assert "synchronous=NORMAL" in out["db_options"]["init_command"]


@pytest.mark.parametrize("default_key,expected", [("db", "sqlite3"), ("cache", "locmem")])
def test_defaults_are_sqlite_and_local_memory(default_key, expected) -> None:
    assert expected in json.loads(_settings(SECRET_KEY="k").stdout)[default_key]


@pytest.mark.parametrize(("pooling", "expected"), [(None, False), ("False", False),
                                                   ("True", True)])
def test_transaction_pooling_turns_server_side_cursors_off(pooling, expected) -> None:
    # A cursor held across transactions may be looked for on another server connection.
    env = {"SECRET_KEY": "k", "DATABASE_URL": "postgres://u@db.example:6432/identity"}
    if pooling is not None:
        env["DB_TRANSACTION_POOLING"] = pooling
    out = json.loads(_settings(**env).stdout)
    assert bool(out["no_server_cursors"]) is expected
