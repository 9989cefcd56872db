"""Reach each worker of a gunicorn server, not whichever the kernel picks.

A sync worker serves one connection at a time, and which idle worker accepts the next connection
is the kernel's choice: twenty requests sent one after another may all reach the same worker, so
repeating a request proves nothing about the other. Here one worker is kept busy reading a
request that never finishes arriving, so that the other answers; then the other way round.
"""

from __future__ import annotations

import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")
WORKERS = 2  # what on_each_worker reaches: the default deployment's worker count


class WorkerError(RuntimeError):
    """The server's workers could not be told apart (a set-up problem, not a finding)."""


def _owner(host: str, port: int, local_port: int, netns: str | None) -> int | None:
    """The pid of the server process that accepted our connection from `local_port`, if one has
    (`ss` lists an accepted connection with the process holding it)."""
    command = ["ss", "-Htnp", "state", "established",
               f"( src {host}:{port} and dport = :{local_port} )"]
    if netns:
        command = ["ip", "netns", "exec", netns, *command]
    listing = subprocess.run(command, capture_output=True, text=True, timeout=10).stdout
    found = re.search(r"pid=(\d+)", listing)
    return int(found.group(1)) if found else None


@contextmanager
def held_worker(host: str, port: int, *, netns: str | None = None,
                source: str | None = None, host_header: str = "localhost") -> Iterator[int]:
    """Keep one worker of the server at `host`:`port` busy on an unfinished request (sent from
    `source`; inside network namespace `netns` when the server runs in one); yield its pid."""
    held = socket.create_connection((host, port), timeout=10,
                                    source_address=(source, 0) if source else None)
    try:
        held.sendall(f"GET / HTTP/1.1\r\nHost: {host_header}\r\n".encode())  # no blank line
        local_port = held.getsockname()[1]
        deadline = time.monotonic() + 10
        while (pid := _owner(host, port, local_port, netns)) is None:
            if time.monotonic() > deadline:
                raise WorkerError(f"no worker of {host}:{port} took the held connection")
            time.sleep(0.01)
        yield pid
    finally:
        held.close()  # the worker reads the end of the stream and drops the request


def on_each_worker(host: str, port: int, ask: Callable[[], T], *, netns: str | None = None,
                   source: str | None = None, host_header: str = "localhost",
                   first_do: Callable[[], object] | None = None) -> list[T]:
    """Ask each of the server's two workers once: one held busy while the other answers, then
    the other way round; return the two answers. `first_do` runs once a worker is held, just
    before the first ask, so that the first answer is the other worker's very next request
    after it."""
    options = {"netns": netns, "source": source, "host_header": host_header}
    with ExitStack() as first:
        busy = first.enter_context(held_worker(host, port, **options))
        if first_do is not None:
            first_do()
        answers = [ask()]  # the idle worker's
        with held_worker(host, port, **options) as other:  # the only idle one
            first.close()
            answers.append(ask())  # the first worker's, released
    if busy == other:
        raise WorkerError(f"{host}:{port}: both held connections went to worker {busy}")
    return answers


def each_worker_at(base: str, ask: Callable[[], T]) -> list[T]:
    """on_each_worker for a server on loopback at `base` (http://127.0.0.1:PORT)."""
    address = urlsplit(base)
    assert address.hostname and address.port, base
    return on_each_worker(address.hostname, address.port, ask)


def refused_then_locked(base: str, status: Callable[[], int], limit: int = 10) -> None:
    """Assert that each worker refuses the request (401), then that repeating it is refused
    `limit` times in all (two are spent above) before 429 starts within `2 * limit` more.

    Requests after the first two may go to either worker, so this does not tell a shared
    limit from one per worker; test_failure_limits_hold_across_workers_on_the_default_cache
    and tests/throttling/test_across_processes.py prove the limit is shared."""
    assert each_worker_at(base, status) == [401, 401]
    later = [status() for _ in range(2 * limit)]
    assert later[:limit - 2] == [401] * (limit - 2) and set(later) == {401, 429}, later
