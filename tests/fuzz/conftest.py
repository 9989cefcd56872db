"""The fuzz harness: fixtures, and `fuzz.send`, through which every request goes.

`send` bounds a request's wall-clock time (a hang or ReDoS detector, not a speed measurement),
refuses any 5xx, and records the duration (tests/fuzz/recording.py). The `check_*` methods the
harness carries hold what each RFC lets an endpoint answer (tests/fuzz/oracles.py); pages are
read by tests/fuzz/pages.py. At the end of the session the per-endpoint counts and durations are
printed and written to bench/results/fuzz-summary.json.
"""

from __future__ import annotations

import gc
import signal
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any

import pytest

from tests.fuzz import recording
from tests.fuzz.oracles import Oracles
from tests.fuzz.recording import Sent, describe
from tests.fuzz.strategies import JwtContext, header_safe
from tests.fuzz.world import CORS_ENDPOINTS, CORS_ORIGINS, ISSUER, PATHS, fuzz_clients

# Past this a request is interrupted, so that a hang fails the test instead of stalling the run.
HANG_SECONDS = 15.0
SERVER_HEADROOM = 950  # frames a gunicorn worker leaves a request under the default limit


@pytest.fixture
def world(db, alice):
    """The fuzz clients, api1/api2 with their ApiSecrets, and alice; returns alice."""
    from tests.helpers.seeding import seed_with_api_secrets

    seed_with_api_secrets(*fuzz_clients())
    return alice


@pytest.fixture
def jwt_ctx(world, identity_config) -> JwtContext:
    """Two key series (RS256 signs access tokens, ES256 is published too), the JWKS as served,
    and tokens from a real sign-in of alice with the interactive client."""
    from django.test import Client

    from identity.stores.registry import get_key_ring
    from tests.helpers.flow import sign_in_for_tokens

    identity_config(SIGNING_ALGORITHMS=["RS256", "ES256"])
    browser = Client()
    tokens = sign_in_for_tokens(browser)
    jwks = browser.get(PATHS["jwks"]).json()["keys"]
    ring = get_key_ring()
    ours = {key.kid: (key.algorithm, key.private)
            for key in (ring.signing_key("RS256"), ring.signing_key("ES256"))}
    genuine = {k: tokens[k] for k in ("access_token", "refresh_token", "id_token")}
    return JwtContext(issuer=ISSUER, jwks=tuple(jwks), ours=ours, subject=str(world.pk),
                      genuine=genuine)


def pytest_sessionfinish(session: pytest.Session) -> None:
    recording.write_summary()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    recording.print_summary(terminalreporter)


# --- requests -----------------------------------------------------------------------------------


def _stack_depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


class RequestHung(BaseException):
    """Raised in the request by the alarm; a BaseException, so `except Exception` lets it by."""


class Fuzz(Oracles):
    """The harness one test uses; `begin()` starts each hypothesis example. The answer rules
    (`check_*`) come from tests/fuzz/oracles.py."""

    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid
        self._clients: dict[bool, Any] = {}

    def browser(self, *, enforce_csrf: bool = False) -> Any:
        """A test client without cookies. Clients are kept and only their cookies dropped: a new
        one loads every middleware again (WhiteNoise scans the static files), ~20 ms."""
        from http.cookies import SimpleCookie

        from django.test import Client

        client = self._clients.get(enforce_csrf)
        if client is None:
            client = self._clients[enforce_csrf] = Client(enforce_csrf_checks=enforce_csrf)
        client.cookies = SimpleCookie()
        return client

    def begin(self) -> None:
        from django.core.cache import caches

        from identity.models import FailureCount

        # Throttling counts failed authentications in the cache, or in the database when the
        # cache is not shared: start every example afresh.
        caches["default"].clear()
        FailureCount.objects.all().delete()
        recording.RECORD.examples[self.nodeid] += 1

    def send(self, endpoint: str, method: str = "GET", *, query: bytes | str = b"",
             body: bytes = b"", content_type: str | None = None,
             headers: Mapping[str, str] | None = None, client: Any = None,
             content_length: str | None = None, remote_addr: str | None = None) -> Any:
        client = client or self.browser()
        headers = {k: header_safe(v) for k, v in (headers or {}).items()}
        query_text = query.decode("latin-1") if isinstance(query, bytes) else query
        sent = Sent(endpoint, method, query_text, body, content_type, headers)
        if trips_django_field_limit(sent):
            from hypothesis import reject

            reject()  # a known Django bug, reproduced in test_every_endpoint.py
        extra: dict[str, str] = {"QUERY_STRING": query_text}
        if content_type is not None:
            extra["CONTENT_TYPE"] = content_type
        if content_length is not None:
            extra["CONTENT_LENGTH"] = content_length
        if remote_addr is not None:
            extra["REMOTE_ADDR"] = remote_addr
        for name, value in headers.items():
            extra["HTTP_" + name.upper().replace("-", "_")] = value
        started = time.perf_counter()
        response = self._timed(lambda: client.generic(method, PATHS[endpoint], data=body,
                                                      content_type=content_type or "", **extra),
                               sent)
        elapsed = time.perf_counter() - started
        recording.RECORD.add(endpoint, elapsed, str(sent)[:300])
        response.sent = sent
        assert elapsed < recording.BOUND_SECONDS, f"{elapsed:.2f} s for {sent}"
        assert response.status_code < 500, describe(response)
        if sent.host_refused:  # Django's own answer (DisallowedHost) precedes every view
            assert response.status_code == 400, describe(response)
        allowed_origin = response.get("Access-Control-Allow-Origin")
        if allowed_origin is not None:  # only an origin a client lists, echoed, never "*"
            assert endpoint in CORS_ENDPOINTS and allowed_origin in CORS_ORIGINS, \
                describe(response)
            assert allowed_origin == headers.get("Origin"), describe(response)
        return response

    @staticmethod
    def _timed(call: Any, sent: Sent) -> Any:
        # Hypothesis raises the recursion limit by 2000 while a test runs; a server process has
        # Python's default (1000) with a shallow stack below the view. Give the request that
        # headroom, or deep-recursion failures (nested JSON...) would pass here only.
        # The cyclic collector waits until the request is over: its pauses grow with this test
        # process's heap, not with the request, and are reported apart in the summary.
        limit, collecting = sys.getrecursionlimit(), gc.isenabled()
        sys.setrecursionlimit(_stack_depth() + SERVER_HEADROOM)
        gc.disable()
        try:
            return Fuzz._alarmed(call, sent)
        finally:
            sys.setrecursionlimit(limit)
            if collecting:
                gc.enable()

    @staticmethod
    def _alarmed(call: Any, sent: Sent) -> Any:
        if threading.current_thread() is not threading.main_thread():
            return call()

        def hung(signum: int, frame: Any) -> None:
            raise RequestHung(f"no answer after {HANG_SECONDS} s: {sent}")

        previous = signal.signal(signal.SIGALRM, hung)
        signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
        try:
            return call()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)

    def signed_in(self, user: Any, *, clients: tuple[str, ...] = (),
                  enforce_csrf: bool = False) -> Any:
        """A fresh browser signed in as `user`, having used `clients` in this session."""
        from identity.http.session import CLIENTS

        browser = self.browser(enforce_csrf=enforce_csrf)
        browser.force_login(user)
        if clients:
            session = browser.session
            session[CLIENTS] = list(clients)
            session.save()
        return browser


def trips_django_field_limit(sent: Sent) -> bool:
    """Whether Django 5.2 fails on this request before any middleware or view: WSGIRequest sets
    the encoding named by a Content-Type charset, and that setter parses the query string
    (hasattr(self, "GET")); past DATA_UPLOAD_MAX_NUMBER_FIELDS it raises TooManyFieldsSent out
    of the WSGI handler, which the server answers with a 500, for any URL."""
    import codecs

    from django.conf import settings
    from django.utils.http import parse_header_parameters

    charset = parse_header_parameters(sent.content_type or "")[1].get("charset")
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    if charset is None or limit is None or sent.query.count("&") + 1 <= limit:
        return False
    try:
        codecs.lookup(charset)
    except LookupError:
        return False
    return True


@pytest.fixture
def fuzz(request: pytest.FixtureRequest) -> Fuzz:
    return Fuzz(request.node.nodeid)
