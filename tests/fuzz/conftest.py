"""The fuzz harness: timed requests, the protocol's answer rules (oracles), and the summary.

Every request goes through `fuzz.send`, which bounds its wall-clock time (a hang or ReDoS
detector, not a speed measurement), refuses any 5xx, and records the duration. The `check_*`
methods hold what each RFC lets an endpoint answer. At the end of the session the per-endpoint
counts and durations are printed and written to bench/results/fuzz-summary.json.
"""

from __future__ import annotations

import gc
import json
import math
import re
import signal
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.fuzz.strategies import SCALE, AuthorizeRequest, JwtContext, header_safe

BOUND_SECONDS = 2.0  # per request; generous: a hang or catastrophic backtracking, not speed
# Past this a request is interrupted, so that a hang fails the test instead of stalling the run.
HANG_SECONDS = 15.0
SERVER_HEADROOM = 950  # frames a gunicorn worker leaves a request under the default limit
SUMMARY = Path(__file__).resolve().parents[2] / "bench" / "results" / "fuzz-summary.json"
ISSUER = "http://testserver"

PATHS = {
    "token": "/connect/token", "authorize": "/connect/authorize",
    "userinfo": "/connect/userinfo", "introspect": "/connect/introspect",
    "revocation": "/connect/revocation", "endsession": "/connect/endsession",
    "consent": "/connect/consent", "login": "/account/login", "grants": "/account/grants",
    "discovery": "/.well-known/openid-configuration",
    "oauth-metadata": "/.well-known/oauth-authorization-server",
    "jwks": "/.well-known/openid-configuration/jwks",
}
CORS_ORIGINS = frozenset({"https://app.example.com"})  # the web client's AllowedCorsOrigins
CORS_ENDPOINTS = frozenset({"token", "userinfo", "revocation", "discovery", "oauth-metadata",
                            "jwks"})

# --- the clients every fuzz test runs against --------------------------------------------------


@dataclass(frozen=True)
class Registered:
    redirect_uris: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    front_channel_logout_uri: str | None = None


REGISTRY: dict[str, Registered] = {
    "service.client": Registered(),
    "interactive": Registered(("http://localhost:21402/signin-oidc",), ("http://localhost:21402/",),
                              "http://localhost:21402/signout-oidc"),
    "web": Registered(("https://app.example.com/signin-oidc", "https://app.example.com/cb?tenant=a"),
                      ("https://app.example.com/signed-out", "https://app.example.com/bye?x=1"),
                      "https://app.example.com/front-channel"),
    "native": Registered(("http://127.0.0.1/callback", "http://[::1]/callback")),
    "mobile": Registered(("com.example.app:/oauth2redirect",)),
}


def fuzz_clients() -> tuple[Any, ...]:
    from tests.factories import make_client, make_interactive_client

    web, native, mobile = REGISTRY["web"], REGISTRY["native"], REGISTRY["mobile"]
    return (
        make_client(),
        make_interactive_client(),
        make_interactive_client(
            "web", redirect_uris=web.redirect_uris,
            post_logout_redirect_uris=web.post_logout_redirect_uris,
            front_channel_logout_uri=web.front_channel_logout_uri, require_consent=True,
            allowed_cors_origins=("https://app.example.com",)),
        make_interactive_client("native", require_client_secret=False, client_secrets=(),
                                redirect_uris=native.redirect_uris, post_logout_redirect_uris=(),
                                front_channel_logout_uri=None),
        make_interactive_client("mobile", require_client_secret=False, client_secrets=(),
                                redirect_uris=mobile.redirect_uris, post_logout_redirect_uris=(),
                                front_channel_logout_uri=None),
    )


@pytest.fixture
def world(db, alice):
    """The fuzz clients, api1/api2 with their ApiSecrets, and alice; returns alice."""
    from tests.authorization_code.flow import seed_with_api_secrets

    seed_with_api_secrets(*fuzz_clients())
    return alice


@pytest.fixture
def jwt_ctx(world, identity_config) -> JwtContext:
    """Two key series (RS256 signs access tokens, ES256 is published too), the JWKS as served,
    and tokens from a real sign-in of alice with the interactive client."""
    from django.test import Client

    from identity.tokens.keys import get_key_ring
    from tests.authorization_code.flow import sign_in_for_tokens

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


# --- recording ----------------------------------------------------------------------------------


class Recorder:
    """Per-endpoint request durations and per-test example counts for the whole session."""

    def __init__(self) -> None:
        self.durations: dict[str, list[float]] = defaultdict(list)
        self.slowest: dict[str, tuple[float, str]] = {}
        self.examples: Counter[str] = Counter()
        self.started = time.monotonic()
        self.gc_pauses: list[float] = []
        self._gc_started = 0.0

    def gc_callback(self, phase: str, info: dict[str, int]) -> None:
        # Collector pauses grow with the test process's heap (hypothesis keeps every
        # example's data), not with the request: recorded apart, to tell them from a hang.
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_pauses.append(time.perf_counter() - self._gc_started)

    def add(self, endpoint: str, seconds: float, label: str) -> None:
        self.durations[endpoint].append(seconds)
        if seconds > self.slowest.get(endpoint, (-1.0, ""))[0]:
            self.slowest[endpoint] = (seconds, label)

    def summary(self) -> dict[str, Any]:
        from django.db import connection

        every = [d for ds in self.durations.values() for d in ds]
        return {
            "generated": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": connection.vendor,
            "scale": SCALE,
            "bound_seconds": BOUND_SECONDS,
            "wall_seconds": round(time.monotonic() - self.started, 1),
            "requests": len(every),
            "max_ms": _ms(max(every, default=0.0)),
            "p99_ms": _ms(_percentile(every, 99)),
            "endpoints": {
                name: {"requests": len(ds), "median_ms": _ms(_percentile(ds, 50)),
                       "p99_ms": _ms(_percentile(ds, 99)), "max_ms": _ms(max(ds)),
                       "slowest": self.slowest[name][1]}
                for name, ds in sorted(self.durations.items())},
            "gc_max_pause_ms": _ms(max(self.gc_pauses, default=0.0)),
            "gc_pauses_over_100_ms": sum(1 for p in self.gc_pauses if p > 0.1),
            "examples_per_test": dict(sorted(self.examples.items())),
        }


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]  # nearest rank


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


RECORD = Recorder()
gc.callbacks.append(RECORD.gc_callback)  # at import: this conftest loads after session start


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not RECORD.durations:
        return
    SUMMARY.parent.mkdir(parents=True, exist_ok=True)
    SUMMARY.write_text(json.dumps(RECORD.summary(), indent=2) + "\n", encoding="utf-8")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RECORD.durations:
        return
    data = RECORD.summary()
    write = terminalreporter.write_line
    terminalreporter.section("fuzz summary")
    write(f"{data['requests']} requests on {data['database']} (scale {data['scale']}), "
          f"max {data['max_ms']} ms, p99 {data['p99_ms']} ms, bound {BOUND_SECONDS * 1000:.0f} ms")
    write(f"{'endpoint':<16}{'requests':>10}{'median ms':>12}{'p99 ms':>10}{'max ms':>10}")
    for name, row in data["endpoints"].items():
        write(f"{name:<16}{row['requests']:>10}{row['median_ms']:>12}{row['p99_ms']:>10}"
              f"{row['max_ms']:>10}")
    write(f"garbage collector: longest pause {data['gc_max_pause_ms']} ms, "
          f"{data['gc_pauses_over_100_ms']} over 100 ms")
    write(f"written to {SUMMARY}")


# --- requests -----------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What an authorize or consent answer did: kind (page, login, consent, authorize, client,
    405, consent-form), the parameters sent to the client, and how they were sent."""

    kind: str
    params: dict[str, str] = field(default_factory=dict)
    mode: str | None = None


def _stack_depth() -> int:
    frame, depth = sys._getframe(), 0
    while frame is not None:
        frame, depth = frame.f_back, depth + 1
    return depth


class RequestHung(BaseException):
    """Raised in the request by the alarm; a BaseException, so `except Exception` lets it by."""


@dataclass
class Sent:
    """What a request carried, for the oracles and for failure messages."""

    endpoint: str
    method: str
    query: str = ""
    body: bytes = b""
    content_type: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def verb(self) -> str:
        """The method as Django sees it (WSGIRequest upper-cases REQUEST_METHOD)."""
        return self.method.upper()

    @property
    def authorization(self) -> str:
        return self.headers.get("Authorization", "")

    @property
    def used_basic(self) -> bool:
        return self.authorization.strip().partition(" ")[0].lower() == "basic"

    @property
    def preflight(self) -> bool:
        return self.verb == "OPTIONS" and "Access-Control-Request-Method" in self.headers

    @property
    def host_refused(self) -> bool:
        from django.conf import settings
        from django.http.request import split_domain_port, validate_host

        host = self.headers.get("Host")
        if host is None:
            return False
        domain, _ = split_domain_port(host)
        return not domain or not validate_host(domain, settings.ALLOWED_HOSTS)

    def __str__(self) -> str:
        body = self.body if len(self.body) <= 300 else self.body[:300] + b"..."
        query = self.query if len(self.query) <= 300 else self.query[:300] + "..."
        headers = {k: (v if len(v) <= 200 else v[:200] + "...") for k, v in self.headers.items()}
        return (f"{self.method} {PATHS[self.endpoint]}?{query!r} content-type="
                f"{self.content_type!r} headers={headers!r} body[{len(self.body)}]={body!r}")


def describe(response: Any) -> str:
    content = getattr(response, "content", b"")
    headers = {k: v[:200] for k, v in response.items()}
    return (f"-> {response.status_code} {headers} {content[:400]!r}\n"
            f"   request: {getattr(response, 'sent', '?')}")


class Fuzz:
    """The harness one test uses; `begin()` starts each hypothesis example."""

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
        RECORD.examples[self.nodeid] += 1

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
        RECORD.add(endpoint, elapsed, str(sent)[:300])
        response.sent = sent
        assert elapsed < BOUND_SECONDS, f"{elapsed:.2f} s for {sent}"
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

    # --- back-channel JSON endpoints (RFC 6749 §5.2, RFC 7009 §2.2.1, RFC 7662 §2.3) ----------

    def check_json_endpoint(self, response: Any, errors_400: set[str]) -> dict[str, Any] | None:
        """Check the rules every JSON endpoint follows; return the body of a 200 (None else)."""
        sent: Sent = response.sent
        status = response.status_code
        if sent.host_refused:
            return None
        if status == 204:
            assert sent.preflight and sent.endpoint in CORS_ENDPOINTS, describe(response)
            return None
        assert _media_type(response) == "application/json", describe(response)
        if sent.verb == "HEAD":  # the test client drops the body, as a server must (RFC 9110)
            assert status == 405, describe(response)
            return None
        body = json.loads(response.content)
        assert isinstance(body, dict), describe(response)
        if status == 200:
            return body
        allowed = {400: errors_400, 401: {"invalid_client"}, 405: {"invalid_request"},
                   429: {"invalid_request"}}
        assert status in allowed, describe(response)
        assert body.get("error") in allowed[status], describe(response)
        assert set(body) <= {"error", "error_description"}, describe(response)
        for text in body.values():
            assert isinstance(text, str) and _rfc6749_text(text), describe(response)
        if status == 401 and sent.used_basic:  # RFC 6749 §5.2: the scheme the client used
            assert response.get("WWW-Authenticate", "").startswith("Basic "), describe(response)
        if status == 405:
            assert sent.verb not in response.get("Allow", "").split(", "), describe(response)
        if status == 429:
            assert response.get("Retry-After", "").isdigit(), describe(response)
        return None

    def check_token(self, response: Any) -> dict[str, Any] | None:
        body = self.check_json_endpoint(response, {
            "invalid_request", "invalid_grant", "unauthorized_client", "unsupported_grant_type",
            "invalid_scope"})
        self._no_store(response)
        if body is not None:
            assert body.get("token_type") == "Bearer" and body.get("access_token"), \
                describe(response)
        return body

    def check_introspection(self, response: Any) -> dict[str, Any] | None:
        body = self.check_json_endpoint(response, {"invalid_request"})
        self._no_store(response)
        if body is not None:
            assert isinstance(body.get("active"), bool), describe(response)
            if not body["active"]:
                assert body == {"active": False}, describe(response)  # RFC 7662 §2.2: nothing else
        return body

    def check_revocation(self, response: Any) -> dict[str, Any] | None:
        body = self.check_json_endpoint(response, {"invalid_request", "unsupported_token_type"})
        self._no_store(response)
        if body is not None:
            assert body == {}, describe(response)
        return body

    def check_userinfo(self, response: Any) -> dict[str, Any] | None:
        """RFC 6750 §3: 401 invalid_token and 403 insufficient_scope with a Bearer challenge."""
        sent: Sent = response.sent
        status = response.status_code
        if sent.host_refused:
            return None
        if status == 204:
            assert sent.preflight, describe(response)
            return None
        assert _media_type(response) == "application/json", describe(response)
        self._no_store(response)
        if sent.verb == "HEAD":
            assert status == 405, describe(response)
            return None
        body = json.loads(response.content)
        assert isinstance(body, dict), describe(response)
        if status == 200:
            assert isinstance(body.get("sub"), str) and body["sub"], describe(response)
            return body
        expected = {400: "invalid_request", 401: "invalid_token", 403: "insufficient_scope",
                    405: "invalid_request"}
        assert status in expected and body.get("error") == expected[status], describe(response)
        assert _rfc6749_text(body.get("error_description", "")), describe(response)
        if status in (401, 403):
            # §3.1: a bare challenge when no credentials came, else one naming the error
            challenge = response.get("WWW-Authenticate", "")
            assert challenge == "Bearer" and status == 401 or challenge.startswith(
                f'Bearer error="{body["error"]}"'), describe(response)
        return None

    def check_metadata(self, response: Any) -> dict[str, Any] | None:
        """Discovery and JWKS: GET/HEAD answer, preflights 204, other methods 405."""
        sent: Sent = response.sent
        status = response.status_code
        if sent.host_refused:
            return None
        if sent.preflight:
            assert status == 204, describe(response)
            return None
        if sent.verb in ("GET", "HEAD"):
            assert status == 200, describe(response)
            assert response.get("Cache-Control", "").startswith("public"), describe(response)
            if sent.verb == "HEAD":
                return None
            body = json.loads(response.content)
            if sent.endpoint == "jwks":
                private = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
                for key in body["keys"]:
                    assert not private & set(key), describe(response)
            else:
                assert body["issuer"] == _issuer_for(sent), describe(response)
            return body
        assert status == 405, describe(response)
        assert response.get("Allow", "") == "GET", describe(response)
        assert json.loads(response.content)["error"] == "invalid_request", describe(response)
        return None

    @staticmethod
    def _no_store(response: Any) -> None:
        if response.status_code != 204 and not response.sent.host_refused:
            assert response.get("Cache-Control", "") == "no-store", describe(response)
            assert response.get("Pragma", "") == "no-cache", describe(response)

    # --- browser endpoints --------------------------------------------------------------------

    def check_authorize(self, response: Any, *, expect_trusted: bool | None = None,
                        redirect_uri: str | None = None) -> Outcome:
        """Check an authorize answer and say what it was.

        Always: a redirect goes to this server's own pages or to a registered redirect URI
        (RFC 6749 §3.1.2.4, §4.1.2.1), never elsewhere, and carries `iss` (RFC 9207). With
        `expect_trusted` known from the request, an untrusted request gets the error page and a
        trusted one never does, and a client redirect goes to exactly the `redirect_uri` sent.
        """
        sent: Sent = response.sent
        status = response.status_code
        if sent.host_refused:
            return Outcome("page")
        if status == 405:
            assert sent.verb not in ("GET", "POST"), describe(response)
            return Outcome("405")
        if status == 400:
            assert not response.has_header("Location"), describe(response)
            page = Page.of(response)
            assert not page.targets and not page.scripts, describe(response)
            assert expect_trusted is not True, describe(response)
            return Outcome("page")
        assert expect_trusted is not False, describe(response)
        if status == 200:  # response_mode=form_post
            return self._form_post(response, redirect_uri)
        assert status == 302, describe(response)
        assert response.get("Cache-Control", "") == "no-store", describe(response)
        location = response.get("Location", "")
        own = own_page(location)
        if own is not None:
            if own == "login":
                back = dict(parse_qsl(urlsplit(location).query))["next"]
                assert back.startswith("/connect/authorize?"), describe(response)
            return Outcome(own)
        split = split_client_redirect(location)
        assert split is not None, f"redirect to something not registered: {describe(response)}"
        base, params = split
        assert redirect_allowed(base), describe(response)
        if redirect_uri is not None:
            assert base == redirect_uri, describe(response)
        assert params.get("iss") == _issuer_for(sent), describe(response)
        return Outcome("client", params, "fragment" if location[len(base)] == "#" else "query")

    def _form_post(self, response: Any, redirect_uri: str | None) -> Outcome:
        """OAuth 2.0 Form Post Response Mode: one self-submitting form to a registered URI."""
        page = Page.of(response)
        assert len(page.forms) == 1 and len(page.targets) == 1, describe(response)
        action = page.forms[0]
        assert redirect_allowed(action), describe(response)
        assert set(page.fields) <= SERVER_PARAMS and "iss" in page.fields, describe(response)
        if redirect_uri is not None:
            assert action == redirect_uri, describe(response)
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(action))
        assert f"form-action {origin};" in response.get("Content-Security-Policy", ""), \
            describe(response)
        assert page.fields["iss"] == _issuer_for(response.sent), describe(response)
        return Outcome("client", page.fields, "form_post")

    def check_consent(self, response: Any) -> Outcome:
        """The consent page: its form posts to itself; redirects only to our authorize
        endpoint, the login page, or (errors, denial) a registered redirect URI."""
        sent: Sent = response.sent
        if sent.host_refused:
            return Outcome("page")
        status = response.status_code
        if status in (400, 403, 405):
            assert not response.has_header("Location"), describe(response)
            if status == 405:
                assert sent.verb not in ("GET", "POST"), describe(response)
            if status == 400:
                page = Page.of(response)
                assert not page.targets and not page.scripts, describe(response)
            return Outcome("page")
        if status == 200 and b'id="form_post"' in response.content:
            return self._form_post(response, None)
        if status == 200:
            page = self.check_page(response, allowed_statuses={200})
            assert page is not None and page.forms == [""], describe(response)
            assert not page.links and not page.refresh and not page.frames, describe(response)
            return Outcome("consent-form")
        assert status == 302, describe(response)
        location = response.get("Location", "")
        own = own_page(location)
        if own is not None:
            assert own in ("authorize", "login"), describe(response)
            return Outcome(own)
        split = split_client_redirect(location)
        assert split is not None and redirect_allowed(split[0]), describe(response)
        return Outcome("client", split[1])

    def check_grants(self, response: Any) -> None:
        """The user's applications: redirects only to itself or the login page (400: Django's
        answer to a body past DATA_UPLOAD_MAX_MEMORY_SIZE or too many fields)."""
        page = self.check_page(response, allowed_statuses={200, 302, 400, 403, 405})
        if response.sent.host_refused:
            return
        if response.status_code == 302:
            location = response.get("Location", "")
            assert location == PATHS["grants"] or own_page(location) == "login", \
                describe(response)
        if page is not None and response.status_code == 200:
            assert set(page.forms) <= {""}, describe(response)
            assert not page.links and not page.refresh and not page.frames, describe(response)

    @staticmethod
    def expects_trust(request: AuthorizeRequest) -> bool:
        """Whether the server may trust the client and redirect URI of an authorize request, by
        the documented rules: no repeated parameter, at most 50, no NUL, values within their
        INPUT_LENGTHS, a query or form body within MAX_REQUEST_BODY, then an enabled client and
        one of its redirect URIs (any port for loopback IPs)."""
        from identity.conf import identity_settings

        names = [name for name, _ in request.params]
        if len(names) != len(set(names)) or len(names) > 50:
            return False
        if len(request.encoded()) > identity_settings.MAX_REQUEST_BODY:
            return False
        lengths, default = identity_settings.INPUT_LENGTHS, identity_settings.DEFAULT_INPUT_LENGTH
        if any("\x00" in v or len(v) > lengths.get(k, default) for k, v in request.params):
            return False
        client_id, redirect_uri = request.value("client_id"), request.value("redirect_uri")
        if client_id not in REGISTRY or redirect_uri is None:
            return False
        return redirect_allowed(redirect_uri, client_id)

    def signed_in(self, user: Any, *, clients: tuple[str, ...] = (),
                  enforce_csrf: bool = False) -> Any:
        """A fresh browser signed in as `user`, having used `clients` in this session."""
        from identity.endpoints.session import CLIENTS

        browser = self.browser(enforce_csrf=enforce_csrf)
        browser.force_login(user)
        if clients:
            session = browser.session
            session[CLIENTS] = list(clients)
            session.save()
        return browser

    def check_page(self, response: Any, *, allowed_statuses: set[int]) -> Page | None:
        """An HTML page of this server: never framed or cached; no script."""
        sent: Sent = response.sent
        if sent.host_refused:
            return None
        assert response.status_code in allowed_statuses, describe(response)
        if response.status_code in (302, 405, 403) or not response.content:
            return None
        page = Page.of(response)
        assert not page.scripts, describe(response)
        if response.status_code == 200 and sent.endpoint != "login":
            assert response.get("X-Frame-Options", "") == "DENY", describe(response)
            assert "no-store" in response.get("Cache-Control", ""), describe(response)
        return page

    def check_end_session(self, response: Any, *, expect: Any = ...,
                          session_clients: tuple[str, ...] = ()) -> str | None:
        """Return where the page sends the browser after signing out, checking that it is a
        registered post_logout_redirect_uri (plus `state`) and that iframes load only the
        front-channel logout URIs of the session's clients.

        `expect`: the exact target, None for none, or ... when the test cannot tell.
        """
        page = self.check_page(response, allowed_statuses={200, 400, 403, 405})
        if response.status_code == 405:
            assert response.sent.verb not in ("GET", "POST"), describe(response)
        target = None
        if page is not None:
            for action in page.forms:
                assert action == PATHS["endsession"], describe(response)
            frames = {REGISTRY[c].front_channel_logout_uri for c in session_clients}
            for src in page.frames:
                assert src.split("?")[0] in frames, describe(response)
            targets = set(page.refresh + page.links)
            assert len(targets) <= 1, describe(response)
            target = targets.pop() if targets else None
            if target is not None:
                assert post_logout_allowed(target), describe(response)
        if expect is not ...:
            assert target == expect, f"expected {expect!r}, got {target!r}: {describe(response)}"
        return target

    def check_login(self, response: Any) -> None:
        """Django's login view: 302 only to this host (no open redirect via `next`)."""
        sent: Sent = response.sent
        if sent.host_refused:
            return
        status = response.status_code
        assert status in (200, 302, 400, 403, 405, 429), describe(response)
        if status == 302:
            assert same_host(response.get("Location", "")), describe(response)
        elif status == 429:  # failed sign-ins are throttled
            assert response.get("Retry-After", "").isdigit(), describe(response)
        elif status == 200 and sent.verb in ("GET", "POST"):
            page = Page.of(response)
            assert not page.scripts, describe(response)
            assert all(a == PATHS["login"] for a in page.forms), describe(response)


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


def _media_type(response: Any) -> str:
    return response.get("Content-Type", "").split(";")[0]


def _issuer_for(sent: Sent) -> str:
    host = sent.headers.get("Host")
    return f"http://{host}" if host else ISSUER


def _rfc6749_text(text: str) -> bool:
    """RFC 6749 §5.2: error and error_description use %x20-21 / %x23-5B / %x5D-7E only."""
    return all(c in " !" or "#" <= c <= "[" or "]" <= c <= "~" for c in text)


# --- redirect targets ---------------------------------------------------------------------------

SERVER_PARAMS = frozenset({"code", "state", "iss", "error", "error_description"})
OWN_PAGES = {"/account/login": "login", "/connect/consent": "consent",
             "/connect/authorize": "authorize"}


def _loopback_pattern(registered: str) -> re.Pattern[str] | None:
    # RFC 8252 §7.3: for http://127.0.0.1 and http://[::1] only the port may differ.
    match = re.fullmatch(r"(http://(?:127\.0\.0\.1|\[::1\]))(/.*)?", registered, re.S)
    if match is None:
        return None
    return re.compile(re.escape(match[1]) + r"(?::(?P<port>[0-9]{0,5}))?"
                      + re.escape(match[2] or ""))


def redirect_allowed(uri: str, client_id: str | None = None) -> bool:
    """Whether `uri` is a registered redirect URI (of `client_id`, or of any client)."""
    clients = [REGISTRY[client_id]] if client_id in REGISTRY else REGISTRY.values()
    for client in clients:
        for registered in client.redirect_uris:
            if uri == registered:
                return True
            pattern = _loopback_pattern(registered)
            match = pattern.fullmatch(uri) if pattern else None
            if match and int(match["port"] or 0) <= 65535:
                return True
    return False


def split_client_redirect(location: str) -> tuple[str, dict[str, str]] | None:
    """Split a redirect into the client's URI and the parameters the server added to it."""
    for i, char in enumerate(location):
        if char not in "?&#":
            continue
        try:
            pairs = parse_qsl(location[i + 1:], strict_parsing=True, errors="strict")
        except (ValueError, UnicodeDecodeError):
            continue
        names = [name for name, _ in pairs]
        if names and set(names) <= SERVER_PARAMS and len(names) == len(set(names)):
            return location[:i], dict(pairs)
    return None


def own_page(location: str) -> str | None:
    """Return which of this server's pages a relative redirect goes to, if it is one."""
    if not location.startswith("/") or location.startswith("//") or "\\" in location:
        return None
    parts = urlsplit(location)
    return OWN_PAGES.get(parts.path) if not parts.scheme and not parts.netloc else None


def post_logout_allowed(target: str) -> bool:
    """Whether a logged-out page's target is a registered post-logout URI, plus `state`."""
    for client in REGISTRY.values():
        for uri in client.post_logout_redirect_uris:
            if target == uri:
                return True
            separator = "&" if urlsplit(uri).query else "?"
            if target.startswith(uri + separator + "state="):
                rest = parse_qsl(target[len(uri) + 1:], keep_blank_values=True)
                if [name for name, _ in rest] == ["state"]:
                    return True
    return False


def same_host(location: str) -> bool:
    """Whether a browser following `location` stays on this server."""
    cleaned = re.sub(r"[\t\n\r]", "", location).replace("\\", "/").lstrip("\x00 ")
    parts = urlsplit(cleaned)
    if parts.scheme not in ("", "http", "https") or cleaned.startswith("//"):
        return False
    return parts.netloc in ("", "testserver")


class Page(HTMLParser):
    """What a page makes a browser do: forms, refreshes, links, frames, scripts."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[str] = []
        self.refresh: list[str] = []
        self.links: list[str] = []
        self.frames: list[str] = []
        self.scripts = 0
        self.fields: dict[str, str] = {}
        self.feed(text)
        self.close()

    @classmethod
    def of(cls, response: Any) -> Page:
        assert response["Content-Type"].startswith("text/html"), describe(response)
        return cls(response.content.decode("utf-8"))

    @property
    def targets(self) -> list[str]:
        return self.forms + self.refresh + self.links + self.frames

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(values.get("action", ""))
        elif tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            content = values.get("content", "")
            self.refresh.append(content.split("url=", 1)[1] if "url=" in content else content)
        elif tag == "a":
            self.links.append(values.get("href", ""))
        elif tag in ("iframe", "frame", "embed", "object"):
            self.frames.append(values.get("src", values.get("data", "")))
        elif tag == "script":
            self.scripts += 1
        elif tag == "input" and values.get("type") == "hidden" and "name" in values:
            if values["name"] != "csrfmiddlewaretoken":
                self.fields[values["name"]] = values.get("value", "")
        elif tag == "base":
            self.links.append(values.get("href", ""))


@pytest.fixture
def fuzz(request: pytest.FixtureRequest) -> Fuzz:
    return Fuzz(request.node.nodeid)
