"""The wait that keeps a live-server test open until its server has finished every request."""

from __future__ import annotations

import threading

from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from tests.helpers.live_requests import wait_for_live_requests


def _server_thread(release: threading.Event, done: threading.Event,
                   leave: threading.Event | None = None) -> threading.Thread:
    """A thread that starts a request and finishes it once `release` is set; then, if given
    `leave`, stays alive until it is set, as a server thread on a kept-alive connection does."""
    inside = threading.Event()

    def handle() -> None:
        request_started.send(sender=None)
        inside.set()
        release.wait(10)
        done.set()
        request_finished.send(sender=None)
        if leave is not None:
            leave.wait(10)

    thread = threading.Thread(target=handle, daemon=True)
    thread.start()
    assert inside.wait(5)
    return thread


def test_the_wait_ends_only_when_the_request_has_finished() -> None:
    release, done, leave = threading.Event(), threading.Event(), threading.Event()
    thread = _server_thread(release, done, leave)
    try:
        threading.Timer(0.2, release.set).start()
        assert wait_for_live_requests(timeout=5) == []
        assert done.is_set()
    finally:
        release.set()
        leave.set()
        thread.join(5)


def test_a_request_that_never_finishes_is_reported() -> None:
    release, done = threading.Event(), threading.Event()
    thread = _server_thread(release, done)
    try:
        assert wait_for_live_requests(timeout=0.3) == [thread.ident]
    finally:
        release.set()
        thread.join(5)
    assert wait_for_live_requests(timeout=1) == []


def test_requests_of_the_main_thread_are_not_counted() -> None:
    # As Django's test client does, whose requests run in the main thread: without
    # close_old_connections, which would reach this thread's database connection.
    request_started.disconnect(close_old_connections)
    try:
        request_started.send(sender=None)
    finally:
        request_started.connect(close_old_connections)
    assert wait_for_live_requests(timeout=0) == []
