"""The fuzz suite's own checks refuse wrong answers: a suite whose assertions cannot fail would
pass against any server. Each case hands a check a hand-made answer that breaks one rule."""

from __future__ import annotations

import json
import time

import pytest
from django.http import HttpResponse

from tests.fuzz import conftest, recording
from tests.fuzz.conftest import Fuzz
from tests.fuzz.oracles import own_page, redirect_allowed, same_host
from tests.fuzz.recording import Sent
from tests.fuzz.strategies import Mutated, mutate
from tests.helpers.basic_auth import basic


def answer(status: int, body: dict | str | bytes = b"", *, endpoint: str = "token",
           method: str = "POST", sent_headers: dict | None = None, **headers: str):
    if isinstance(body, dict):
        response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    else:
        response = HttpResponse(body, status=status, content_type="text/html; charset=utf-8")
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    response.sent = Sent(endpoint, method, headers=sent_headers or {})
    return response


NO_STORE = {"Cache_Control": "no-store", "Pragma": "no-cache"}
BASIC = {"Authorization": basic("interactive", "wrong")}


@pytest.mark.parametrize("response", [
    answer(400, {"error": "server_error"}, **NO_STORE),
    answer(400, {"error": "invalid_request", "error_description": 'a "quote"'}, **NO_STORE),
    answer(400, {"error": "invalid_request", "extra": "x"}, **NO_STORE),
    answer(401, {"error": "invalid_client"}, sent_headers=BASIC, **NO_STORE),
    answer(401, {"error": "invalid_request"}, **NO_STORE),
    answer(200, {"access_token": "x"}, **NO_STORE),
    answer(200, {"access_token": "x", "token_type": "Bearer"}),
    answer(429, {"error": "invalid_request"}, **NO_STORE),
    answer(405, {"error": "invalid_request"}, Allow="POST", **NO_STORE),
    answer(302, b"", Location="https://evil.example"),
    answer(400, "<html>not json</html>", **NO_STORE),
])
def test_token_check_refuses(response) -> None:
    with pytest.raises(AssertionError):
        Fuzz("self-test").check_token(response)


def test_token_check_accepts_the_rfc_answers() -> None:
    fuzz = Fuzz("self-test")
    fuzz.check_token(answer(401, {"error": "invalid_client"}, sent_headers=BASIC,
                            WWW_Authenticate='Basic realm="x"', **NO_STORE))
    fuzz.check_token(answer(429, {"error": "invalid_request"}, Retry_After="300", **NO_STORE))
    assert fuzz.check_token(answer(200, {"access_token": "x", "token_type": "Bearer"},
                                   **NO_STORE)) is not None


@pytest.mark.parametrize("response", [
    answer(200, {"active": False, "sub": "1"}, endpoint="introspect", **NO_STORE),
    answer(200, {"active": "false"}, endpoint="introspect", **NO_STORE),
    answer(400, {"error": "invalid_grant"}, endpoint="introspect", **NO_STORE),
])
def test_introspection_check_refuses(response) -> None:
    with pytest.raises(AssertionError):
        Fuzz("self-test").check_introspection(response)


@pytest.mark.parametrize("response", [
    answer(401, {"error": "invalid_token"}, endpoint="userinfo", method="GET", **NO_STORE),
    answer(401, {"error": "invalid_token"}, endpoint="userinfo", method="GET",
           WWW_Authenticate="Basic", **NO_STORE),
    answer(401, {"error": "invalid_token"}, endpoint="userinfo", method="GET",
           WWW_Authenticate='Bearer error="insufficient_scope"', **NO_STORE),
    answer(403, {"error": "insufficient_scope"}, endpoint="userinfo", method="GET",
           WWW_Authenticate="Bearer", **NO_STORE),
    answer(200, {"name": "x"}, endpoint="userinfo", method="GET", **NO_STORE),
])
def test_userinfo_check_refuses(response) -> None:
    with pytest.raises(AssertionError):
        Fuzz("self-test").check_userinfo(response)


FORM_POST = ('<form method="post" action="{}"><input type="hidden" name="code" value="c">'
             '<input type="hidden" name="iss" value="http://testserver"></form>')


@pytest.mark.parametrize(("response", "trusted"), [
    (answer(302, Location="https://evil.example/?code=x&iss=http%3A%2F%2Ftestserver",
            endpoint="authorize", method="GET", Cache_Control="no-store"), None),
    (answer(302, Location="http://localhost:21402/signin-oidc?code=x&iss=http%3A%2F%2Ftestserver"
                          "&evil=1", endpoint="authorize", method="GET",
            Cache_Control="no-store"), None),
    (answer(302, Location="http://localhost:21402/signin-oidc#?code=x&iss=http%3A%2F%2Ftestserver",
            endpoint="authorize", method="GET", Cache_Control="no-store"), None),
    (answer(302, Location="//evil.example/account/login", endpoint="authorize", method="GET",
            Cache_Control="no-store"), None),
    (answer(302, Location="http://localhost:21402/signin-oidc?error=x&iss=http%3A%2F%2Ftestserver",
            endpoint="authorize", method="GET", Cache_Control="no-store"), False),
    (answer(400, "<a href='https://evil.example'>back</a>", endpoint="authorize", method="GET",
            ), None),
    (answer(400, "<p>error</p>", endpoint="authorize", method="GET", Location="/x"), None),
    (answer(400, "<p>error</p>", endpoint="authorize", method="GET"), True),
    (answer(200, FORM_POST.format("https://evil.example/cb"), endpoint="authorize",
            method="GET", Content_Security_Policy="form-action https://evil.example;"), None),
])
def test_authorize_check_refuses(response, trusted) -> None:
    with pytest.raises(AssertionError):
        Fuzz("self-test").check_authorize(response, expect_trusted=trusted)


def test_authorize_check_accepts_a_registered_redirect() -> None:
    outcome = Fuzz("self-test").check_authorize(answer(
        302, Location="http://127.0.0.1:5000/callback?code=c&state=s&iss=http%3A%2F%2Ftestserver",
        endpoint="authorize", method="GET", Cache_Control="no-store"), expect_trusted=True)
    assert outcome.kind == "client" and outcome.params["code"] == "c"


@pytest.mark.parametrize(("page", "expect"), [
    ('<meta http-equiv="refresh" content="2;url=https://evil.example/">', ...),
    ('<a href="http://localhost:21402/?state=x&amp;evil=1">back</a>', ...),
    ('<iframe src="https://evil.example/logout"></iframe>', ...),
    ('<script>alert(1)</script>', ...),
    ('<form action="https://evil.example/"></form>', ...),
    ("<p>signed out</p>", "http://localhost:21402/"),
    ('<a href="http://localhost:21402/">back</a>', None),
])
def test_end_session_check_refuses(page, expect) -> None:
    response = answer(200, page, endpoint="endsession", method="GET", X_Frame_Options="DENY",
                      Cache_Control="no-store")
    with pytest.raises(AssertionError):
        Fuzz("self-test").check_end_session(response, expect=expect)


@pytest.mark.parametrize("location", [
    "//evil.example", "/\\evil.example", "\t//evil.example", "https://evil.example/",
    "http://testserver@evil.example/", "javascript:alert(1)", "/\t/evil.example",
])
def test_login_check_refuses_redirects_off_this_host(location) -> None:
    assert not same_host(location)
    with pytest.raises(AssertionError):
        Fuzz("self-test").check_login(answer(302, Location=location, endpoint="login"))


@pytest.mark.parametrize(("uri", "allowed"), [
    ("http://localhost:21402/signin-oidc", True), ("http://127.0.0.1:8080/callback", True),
    ("http://127.0.0.1/callback", True), ("http://[::1]:1/callback", True),
    ("http://127.0.0.1:65536/callback", False), ("http://127.0.0.1:80\t80/callback", False),
    ("http://127.0.0.1/callback\n", False), ("http://127.0.0.1/callback#", False),
    ("http://localhost:21403/signin-oidc", False), ("HTTP://localhost:21402/signin-oidc", False),
    ("http://127.0.0.1:8080@evil.example/callback", False),
])
def test_the_redirect_rule_is_exact_but_for_loopback_ports(uri, allowed) -> None:
    assert redirect_allowed(uri) is allowed
    assert own_page(uri) is None


def test_mutations_change_the_uri() -> None:
    registered = "https://app.example.com/signin-oidc"
    assert Mutated(registered, ()).uri == registered
    assert mutate(registered, "userinfo", 1, 0) == "https://evil.example@app.example.com/signin-oidc"
    assert mutate(registered, "port", 4, 0) == "https://app.example.com:8080/signin-oidc"


class SlowClient:
    def __init__(self, seconds: float, status: int = 200) -> None:
        self.seconds, self.status = seconds, status

    def generic(self, *args, **kwargs):
        time.sleep(self.seconds)
        return HttpResponse(status=self.status)


def test_send_refuses_5xx_slow_answers_and_hangs(monkeypatch) -> None:
    monkeypatch.setattr(recording, "RECORD", recording.Recorder())  # keep the summary honest
    fuzz = Fuzz("self-test")
    with pytest.raises(AssertionError, match="500"):
        fuzz.send("token", client=SlowClient(0, 500))
    monkeypatch.setattr(recording, "BOUND_SECONDS", 0.01)
    with pytest.raises(AssertionError, match=" s for "):
        fuzz.send("token", client=SlowClient(0.05))
    monkeypatch.setattr(conftest, "HANG_SECONDS", 0.05)
    with pytest.raises(conftest.RequestHung):
        fuzz.send("token", client=SlowClient(2))
