"""Requests that the live server is still handling after a test's client has its answer.

The live server sends the response body, then closes it, and closing sends `request_finished`,
whose receivers reach the database. A client that has read the whole body may end its test
before that close, so the close would run during the teardown that follows (the database
blocked, the stores being reset) or during the next test. There it fails, and the server thread
prints a traceback at the same time as the main thread runs other code. On Python 3.11 that
includes `ast.parse`, whose state the two threads share, so the main thread can fail with a
`SystemError`. `wait_for_live_requests` lets each live-server test end only once the server
has finished every request it started.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.core.signals import request_finished, request_started

WAIT = 10.0  # seconds a test's server may take to finish its requests
_handling: set[int] = set()  # idents of the server threads inside a request
_changed = threading.Condition()


def _started(**_: Any) -> None:
    if threading.current_thread() is not threading.main_thread():
        with _changed:
            _handling.add(threading.get_ident())


def _finished(**_: Any) -> None:
    with _changed:
        _handling.discard(threading.get_ident())
        _changed.notify_all()


# Connected after Django's own receivers, so a request counts as finished only once
# close_old_connections, the one that reaches the database, has run.
request_started.connect(_started, dispatch_uid="tests.live_requests.started")
request_finished.connect(_finished, dispatch_uid="tests.live_requests.finished")


def wait_for_live_requests(timeout: float = WAIT) -> list[int]:
    """Wait until no server thread is inside a request; return those still inside at timeout."""
    deadline = time.monotonic() + timeout
    with _changed:
        while True:
            alive = {t.ident for t in threading.enumerate()}
            _handling.intersection_update(alive)
            left = deadline - time.monotonic()
            if not _handling or left <= 0:
                return sorted(_handling)
            _changed.wait(min(left, 0.1))
