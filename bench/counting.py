"""Per-request costs counted inside the gunicorn workers, for bench/production.py.

`CountingMiddleware` (first in bench.production_settings' MIDDLEWARE) counts, for every request
a worker serves:

- the SQL statements sent through Django's connection (`connection.execute_wrapper`), and among
  them the writes (INSERT, UPDATE, DELETE);
- transaction commits (`connection.commit`, as `transaction.atomic` ends) and connection health
  checks (`is_usable`, the `SELECT 1` of CONN_HEALTH_CHECKS), which bypass execute_wrapper;
- Redis round trips and commands: every `redis.Redis.execute_command` (one command, one round
  trip), every pipeline `execute` (one round trip, its commands), and every read the project's
  cache backend sends on its own connection (`ReusingRedisCacheClient._round_trip`).

The totals live in a small file per worker, `BENCH_COUNTS_DIR/<pid>.counts`, memory-mapped: an
update is a few stores into memory, no system call, and the benchmark reads the files whenever it
likes (before and after a run) without asking the workers. Nothing here runs unless the settings
put the middleware in.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

FIELDS = ("requests", "queries", "writes", "selects", "commits", "health_checks",
          "redis_round_trips", "redis_commands")
_INDEX = {name: i for i, name in enumerate(FIELDS)}
_SIZE = 8 * len(FIELDS)
_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE")

_slots: memoryview | None = None  # this worker's counters (int64 each)
_opened_in: int | None = None  # the pid that mapped them (gunicorn forks after imports)


def _counters() -> memoryview:
    """Map this process's counter file (once per process) and return its int64 view."""
    global _slots, _opened_in
    if _slots is None or _opened_in != os.getpid():
        directory = Path(os.environ["BENCH_COUNTS_DIR"])
        path = directory / f"{os.getpid()}.counts"
        with path.open("w+b") as file:
            file.truncate(_SIZE)
            mapped = mmap.mmap(file.fileno(), _SIZE)
        _slots = memoryview(mapped).cast("q")
        _opened_in = os.getpid()
    return _slots


def _add(name: str, amount: int = 1) -> None:
    slots = _counters()
    slots[_INDEX[name]] += amount


_trace: Any = None  # BENCH_SQL_LOG: a file each statement is appended to (diagnosis only)


def _count_sql(execute: Callable[..., Any], sql: str, params: Any, many: bool,
               context: Mapping[str, Any]) -> Any:
    verb = sql.lstrip()[:6].upper()
    if _trace is not None:
        _trace.write(f"{os.getpid()} {' '.join(sql.split())[:300]}\n")
    _add("queries")
    if verb == "SELECT":
        _add("selects")
    elif verb in _WRITE_VERBS:
        _add("writes")
    return execute(sql, params, many, context)


def _patch_once() -> None:
    """Wrap commits, health checks and the Redis client's calls (once per process)."""
    from django.db.backends.base.base import BaseDatabaseWrapper

    if getattr(BaseDatabaseWrapper, "_bench_counted", False):
        return
    commit = BaseDatabaseWrapper.commit
    is_usable = BaseDatabaseWrapper.is_usable

    def counted_commit(self: BaseDatabaseWrapper) -> None:
        _add("commits")
        commit(self)

    def counted_is_usable(self: BaseDatabaseWrapper) -> bool:
        _add("health_checks")
        return bool(is_usable(self))

    BaseDatabaseWrapper.commit = counted_commit  # type: ignore[method-assign]
    BaseDatabaseWrapper.is_usable = counted_is_usable  # type: ignore[method-assign]
    # The backends override is_usable: wrap theirs too.
    from django.db import connections

    for alias in connections:
        backend = type(connections[alias])
        if backend.is_usable is not counted_is_usable and "is_usable" in vars(backend):
            own = backend.is_usable

            def backend_is_usable(self: Any, _own: Any = own) -> bool:
                _add("health_checks")
                return bool(_own(self))

            backend.is_usable = backend_is_usable  # type: ignore[method-assign]
    BaseDatabaseWrapper._bench_counted = True  # type: ignore[attr-defined]

    try:
        import redis
        from redis.client import Pipeline
    except ImportError:  # no Redis client installed: nothing to count
        return
    execute_command = redis.Redis.execute_command
    pipeline_execute = Pipeline.execute

    def counted_execute_command(self: Any, *args: Any, **options: Any) -> Any:
        _add("redis_round_trips")
        _add("redis_commands")
        if _trace is not None:
            _trace.write(f"{os.getpid()} redis {args[0] if args else ''}\n")
        return execute_command(self, *args, **options)

    def counted_pipeline_execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        commands = len(self.command_stack)
        if commands:
            _add("redis_round_trips")
            _add("redis_commands", commands)
            if _trace is not None:
                names = " ".join(str(c[0][0]) for c in self.command_stack)
                _trace.write(f"{os.getpid()} redis pipeline {names}\n")
        return pipeline_execute(self, *args, **kwargs)

    redis.Redis.execute_command = counted_execute_command  # type: ignore[method-assign]
    Pipeline.execute = counted_pipeline_execute  # type: ignore[method-assign]

    from identity.redis_cache import ReusingRedisCacheClient

    round_trip = ReusingRedisCacheClient._round_trip

    def counted_round_trip(connection: Any, command: tuple[Any, ...]) -> Any:
        _add("redis_round_trips")
        _add("redis_commands")
        if _trace is not None:
            _trace.write(f"{os.getpid()} redis {command[0]}\n")
        return round_trip(connection, command)

    ReusingRedisCacheClient._round_trip = staticmethod(counted_round_trip)  # type: ignore[method-assign]


class CountingMiddleware:
    """Count each request's statements and Redis calls into this worker's counter file."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        global _trace
        self.get_response = get_response
        _patch_once()
        if os.environ.get("BENCH_SQL_LOG"):
            _trace = open(os.environ["BENCH_SQL_LOG"], "a", buffering=1)  # noqa: SIM115

    def __call__(self, request: Any) -> Any:
        from django.db import connection

        _add("requests")
        if _trace is not None:
            _trace.write(f"{os.getpid()} --- {request.method} {request.path}\n")
        with connection.execute_wrapper(_count_sql):
            return self.get_response(request)


# --- read by the benchmark ---------------------------------------------------------------------

def read_all(directory: Path) -> dict[int, dict[str, int]]:
    """Return every worker's totals in `directory`, by pid."""
    totals: dict[int, dict[str, int]] = {}
    for path in directory.glob("*.counts"):
        data = path.read_bytes()
        if len(data) != _SIZE:
            continue
        values = memoryview(data).cast("q")
        totals[int(path.stem)] = {name: int(values[i]) for i, name in enumerate(FIELDS)}
    return totals


def difference(after: dict[int, dict[str, int]], before: dict[int, dict[str, int]]
               ) -> dict[str, int]:
    """Sum over the workers of what they counted between `before` and `after`."""
    total = dict.fromkeys(FIELDS, 0)
    for pid, values in after.items():
        earlier = before.get(pid, {})
        for name in FIELDS:
            total[name] += values[name] - earlier.get(name, 0)
    return total
