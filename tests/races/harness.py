"""Run a race many times: threads with their own database connections, started by a barrier.

RACE_ROUNDS sets the number of rounds (20 by default, so that CI stays short); with RACE_REPORT
naming a file, each race appends one JSON line of rounds, passes, outcomes and time to it, which
bench/races.py reads.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from django.db import connection

ROUNDS = int(os.environ.get("RACE_ROUNDS", "20"))


def race(threads: int, prepare: Callable[[int], Any], act: Callable[[Any], Any]) -> list:
    """Run `prepare(i)` in each of `threads` threads, then `act` on its result, all at once.

    Each thread connects before the barrier, so that the race is between the requests and not
    the connections. Return what each `act` returned; raise the first exception of any thread.
    """
    barrier = threading.Barrier(threads)
    results: list = [None] * threads

    def worker(index: int) -> None:
        try:
            connection.ensure_connection()
            prepared = prepare(index)
            barrier.wait(timeout=30)
            results[index] = act(prepared)
        except BaseException as exc:  # re-raised below, in the test's thread
            barrier.abort()
            results[index] = exc
        finally:
            connection.close()

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in workers), "a thread hung"
    errors = [r for r in results if isinstance(r, BaseException)]
    # A thread that failed broke the barrier for the others: raise its error, not theirs.
    errors.sort(key=lambda exc: isinstance(exc, threading.BrokenBarrierError))
    if errors:
        raise errors[0]
    return results


def repeat(one_round: Callable[[], str], rounds: int = ROUNDS) -> None:
    """Run `one_round` `rounds` times; it returns a label of what happened, or fails.

    Every round runs even after a failure, so that a report tells how often a race is lost;
    the test then fails with the count and the first failure.
    """
    outcomes: Counter[str] = Counter()
    first: tuple[int, BaseException] | None = None
    started = time.monotonic()
    for index in range(rounds):
        try:
            outcomes[one_round()] += 1
        except Exception as exc:
            outcomes["failed: " + (str(exc).splitlines() or [type(exc).__name__])[0][:160]] += 1
            first = first or (index, exc)
    seconds = time.monotonic() - started
    failed = sum(n for label, n in outcomes.items() if label.startswith("failed: "))
    _report(rounds, rounds - failed, outcomes, seconds)
    if first is not None:
        index, exc = first
        raise AssertionError(f"{failed} of {rounds} rounds failed, first round {index}: "
                             f"{exc}") from exc


def _report(rounds: int, passed: int, outcomes: Counter[str], seconds: float) -> None:
    path = os.environ.get("RACE_REPORT")
    if not path:
        return
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").rsplit(" ", 1)[0]
    line = {"test": test, "rounds": rounds, "passed": passed, "outcomes": dict(outcomes),
            "seconds": round(seconds, 2)}
    with open(path, "a", encoding="utf-8") as report:
        report.write(json.dumps(line) + "\n")
