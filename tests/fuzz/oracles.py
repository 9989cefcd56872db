"""The answer rules (oracles) of the fuzz suite: what each RFC lets an endpoint answer, and
where a redirect may go. Every check reads the request from `response.sent` (recording.Sent)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fuzz.pages import Page
from tests.fuzz.recording import Sent, describe
from tests.fuzz.strategies import AuthorizeRequest
from tests.fuzz.world import CORS_ENDPOINTS, ISSUER, PATHS, REGISTRY


@dataclass
class Outcome:
    """What an authorize or consent answer did: kind (page, login, consent, authorize, client,
    405, consent-form), the parameters sent to the client, and how they were sent."""

    kind: str
    params: dict[str, str] = field(default_factory=dict)
    mode: str | None = None


class Oracles:
    """What each RFC lets an endpoint answer: the `check_*` methods take a response
    carrying `.sent` (what the request held) and fail the test on an answer the rules
    forbid. Mixed into the harness, Fuzz."""

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
