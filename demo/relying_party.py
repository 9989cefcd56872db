"""A sample web application (OpenID Connect relying party) for the demo server.

Signs users in with the authorization code flow (PKCE S256, state, nonce), validates the ID
token against the server's JWKS, shows the claims and the userinfo answer, calls the sample API
(demo/api.py) with the access token, refreshes tokens, and signs out (RP-initiated logout, and
front-channel logout when the server signs the user out).

    .venv/bin/python demo/relying_party.py [--issuer URL] [--port 21402] [--api-url URL]

Standard library plus PyJWT; everything is kept in memory, so a restart signs everyone out.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import os
import secrets
import threading
import time
import urllib.error
import urllib.request
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import jwt

CLIENT_ID, CLIENT_SECRET = "interactive", "secret"
SCOPE = "openid profile email api1 offline_access"
COOKIE = "demo_rp_session"
FRONT_CHANNEL_NOTE = "You were signed out by the identity server (front-channel logout)."


# --- talking to the server ------------------------------------------------------------------


def fetch(url: str, data: dict[str, str] | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """GET `url`, or POST `data` form-encoded; return the status and the JSON (or text) body,
    error answers included: the page shows them."""
    body = urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


class Provider:
    """The identity server as its discovery document describes it, read on first use (the
    server may start after this application)."""

    def __init__(self, issuer: str) -> None:
        self.issuer = issuer.rstrip("/")
        self._doc: dict[str, Any] | None = None
        self._keys: jwt.PyJWKClient | None = None

    @property
    def doc(self) -> dict[str, Any]:
        if self._doc is None:
            status, doc = fetch(f"{self.issuer}/.well-known/openid-configuration")
            if status != 200 or not isinstance(doc, dict) or doc.get("issuer") != self.issuer:
                raise RuntimeError(f"no discovery document for {self.issuer} ({status})")
            self._doc, self._keys = doc, jwt.PyJWKClient(doc["jwks_uri"])
        return self._doc

    def token(self, form: dict[str, str]) -> tuple[int, Any]:
        # RFC 6749 §2.3.1: Basic credentials are form-encoded before base64.
        pair = f"{quote(CLIENT_ID, safe='')}:{quote(CLIENT_SECRET, safe='')}".encode()
        auth = {"Authorization": "Basic " + base64.b64encode(pair).decode()}
        return fetch(self.doc["token_endpoint"], form, auth)

    def validate_id_token(self, id_token: str, nonce: str | None) -> dict[str, Any]:
        """Check signature, iss, aud, exp (and the nonce sent, when there was one)."""
        algorithms = self.doc["id_token_signing_alg_values_supported"]  # loads the keys too
        key = self._keys.get_signing_key_from_jwt(id_token)  # type: ignore[union-attr]
        claims = jwt.decode(id_token, key.key, algorithms=algorithms,
                            audience=CLIENT_ID, issuer=self.issuer,
                            options={"require": ["iss", "aud", "exp", "iat", "sub"]})
        if nonce is not None and not secrets.compare_digest(str(claims.get("nonce")), nonce):
            raise jwt.InvalidTokenError("the nonce does not match the one sent")
        return claims


# --- sessions ---------------------------------------------------------------------------------


class Sessions:
    """Per-browser state, kept server-side: the cookie holds only a random id."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_id: dict[str, dict[str, Any]] = {}
        self.front_channel_log: list[dict[str, Any]] = []

    def get(self, session_id: str | None) -> tuple[str, dict[str, Any]]:
        with self.lock:
            if session_id not in self.by_id:
                session_id = secrets.token_urlsafe(24)
                self.by_id[session_id] = {"pending": {}}
            return session_id, self.by_id[session_id]

    def end_by_sid(self, sid: str) -> int:
        """Sign out every browser session that signed in with the server session `sid`."""
        with self.lock:
            ended = 0
            for session in self.by_id.values():
                if session.get("sid") == sid:
                    session.clear()
                    session.update(pending={}, front_channel_logout=True)
                    ended += 1
            self.front_channel_log.append({"sid": sid, "at": time.time(), "sessions": ended})
            return ended


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# --- pages ------------------------------------------------------------------------------------


STYLE = """body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;
vertical-align:top}code,pre{word-break:break-all;white-space:pre-wrap}form{display:inline}
.note{background:#fff3cd;padding:.5rem}.error{background:#f8d7da;padding:.5rem}"""


def page(title: str, body: str) -> bytes:
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
            f"<body><h1>{html.escape(title)}</h1>{body}</body></html>").encode()


def button(action: str, label: str, ident: str) -> str:
    # POST forms: the cookie is SameSite=Lax, so other sites cannot submit them for the user.
    return (f'<form method=post action="{html.escape(action)}">'
            f'<button type=submit id="{ident}">{html.escape(label)}</button></form> ')


def table(values: dict[str, Any], ident: str) -> str:
    rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(json.dumps(v))}</td></tr>"
                   for k, v in values.items())
    return f'<table id="{ident}">{rows}</table>'


def pretty(value: Any) -> str:
    text = json.dumps(value, indent=2) if not isinstance(value, str) else value
    return html.escape(text)


def home(session: dict[str, Any], issuer: str) -> str:
    parts = []
    if session.get("front_channel_logout"):
        parts.append(f'<p class=note id="front-channel-logout">{FRONT_CHANNEL_NOTE}</p>')
    if session.get("error"):  # shown once
        parts.append(f'<p class=error id="error">{html.escape(session.pop("error"))}</p>')
    if "claims" not in session:
        parts.append(f"<p>You are not signed in. This sample application signs you in with the "
                     f"identity server at <code>{html.escape(issuer)}</code>.</p>"
                     + button("/signin", "Sign in", "sign-in"))
        return "".join(parts)
    claims, tokens, userinfo = session["claims"], session["tokens"], session["userinfo"]
    # Profile claims come in the ID token or, by default, from userinfo only.
    name = claims.get("name") or (userinfo.get("name") if isinstance(userinfo, dict) else "")
    parts += [f"<p>Signed in as <strong id=name>{html.escape(str(name or ''))}"
              f"</strong> (sub <code id=sub>{html.escape(str(claims['sub']))}</code>).</p>",
              button("/call-api", "Call the API", "call-api"),
              button("/refresh", "Refresh", "refresh"),
              button("/signout", "Sign out", "sign-out"),
              "<h2>ID token claims</h2>", table(claims, "id-token-claims"),
              "<h2>Userinfo</h2>", f'<pre id="userinfo">{pretty(userinfo)}</pre>',
              "<h2>Tokens</h2>",
              f'<p>Access token expires at <span id="expires-at">'
              f'{html.escape(time.strftime("%H:%M:%S", time.localtime(tokens["expires_at"])))}'
              f"</span>{' (refreshed)' if tokens.get('refreshed') else ''}; scope "
              f'<code id="scope">{html.escape(tokens.get("scope", ""))}</code>.</p>',
              f'<details><summary>access token</summary><code id="access-token">'
              f'{html.escape(tokens["access_token"])}</code></details>']
    if "api" in session:
        status, answer = session["api"]
        parts += [f"<h2>API answer ({status})</h2>", f'<pre id="api-answer">{pretty(answer)}</pre>']
    return "".join(parts)


# --- the web application ----------------------------------------------------------------------


class App(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, url: str, provider: Provider,
                 api_url: str) -> None:
        self.url, self.provider, self.api_url = url.rstrip("/"), provider, api_url
        self.sessions = Sessions()
        super().__init__((host, port), Handler)


class Handler(BaseHTTPRequestHandler):
    server: App

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        route = {"/": self.home, "/signin-oidc": self.callback,
                 "/signout-oidc": self.front_channel_logout}.get(urlsplit(self.path).path)
        self.dispatch(route)

    def do_POST(self) -> None:  # noqa: N802
        route = {"/signin": self.sign_in, "/call-api": self.call_api, "/refresh": self.refresh,
                 "/signout": self.sign_out}.get(urlsplit(self.path).path)
        self.dispatch(route)

    def dispatch(self, route: Any) -> None:
        if route is None:
            self.respond(404, page("Not found", "<p><a href='/'>Home</a></p>"))
            return
        cookie = SimpleCookie(self.headers.get("Cookie", ""))
        self.session_id, self.session = self.server.sessions.get(
            cookie[COOKIE].value if COOKIE in cookie else None)
        try:
            route()
        except (OSError, RuntimeError, KeyError, jwt.PyJWTError) as err:
            self.session["error"] = f"{type(err).__name__}: {err}"
            self.redirect("/")

    # GET /
    def home(self) -> None:
        self.respond(200, page("Demo relying party",
                                   home(self.session, self.server.provider.issuer)))

    # POST /signin: to the authorize endpoint, remembering state, nonce and PKCE verifier
    def sign_in(self) -> None:
        state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        verifier, challenge = pkce_pair()
        self.session["pending"][state] = {"nonce": nonce, "verifier": verifier}
        self.redirect(self.server.provider.doc["authorization_endpoint"] + "?" + urlencode({
            "client_id": CLIENT_ID, "redirect_uri": f"{self.server.url}/signin-oidc",
            "response_type": "code", "scope": SCOPE, "state": state, "nonce": nonce,
            "code_challenge": challenge, "code_challenge_method": "S256"}))

    # GET /signin-oidc?code&state&iss: check, exchange the code, validate the ID token
    def callback(self) -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        pending = self.session["pending"].pop(query.get("state", ""), None)
        provider = self.server.provider
        if pending is None:
            raise RuntimeError("unknown or reused state: start again with Sign in")
        if "error" in query:
            raise RuntimeError(f"the server answered {query['error']}: "
                               f"{query.get('error_description', '')}")
        # RFC 9207: the answer must come from the server the request went to.
        if query.get("iss", provider.issuer) != provider.issuer:
            raise RuntimeError(f"the answer comes from another issuer: {query['iss']}")
        status, tokens = provider.token({
            "grant_type": "authorization_code", "code": query.get("code", ""),
            "redirect_uri": f"{self.server.url}/signin-oidc",
            "code_verifier": pending["verifier"]})
        if status != 200:
            raise RuntimeError(f"the token endpoint answered {status}: {tokens}")
        claims = provider.validate_id_token(tokens["id_token"], pending["nonce"])
        _, userinfo = fetch(provider.doc["userinfo_endpoint"],
                            headers={"Authorization": "Bearer " + tokens["access_token"]})
        self.session.clear()
        self.session.update(pending={}, claims=claims, sid=claims.get("sid"),
                            id_token=tokens["id_token"], userinfo=userinfo,
                            tokens=self.kept(tokens))
        self.redirect("/")

    # POST /call-api: the API checks the access token itself
    def call_api(self) -> None:
        if "tokens" in self.session:
            self.session["api"] = fetch(
                f"{self.server.api_url}/identity",
                headers={"Authorization": "Bearer " + self.session["tokens"]["access_token"]})
        self.redirect("/")

    # POST /refresh: a new access token (and, with rotation, a new refresh token)
    def refresh(self) -> None:
        tokens = self.session.get("tokens")
        if tokens and not tokens.get("refresh_token"):
            raise RuntimeError("no refresh token: allow offline access when signing in")
        if tokens:
            status, answer = self.server.provider.token(
                {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]})
            if status != 200:
                raise RuntimeError(f"the token endpoint answered {status}: {answer}")
            if "id_token" in answer:  # no nonce on refresh (OpenID Connect Core §12.2)
                self.server.provider.validate_id_token(answer["id_token"], None)
                self.session["id_token"] = answer["id_token"]
            self.session["tokens"] = {**self.kept(answer, tokens), "refreshed": True}
        self.redirect("/")

    # POST /signout: forget the tokens, then RP-initiated logout at the server
    def sign_out(self) -> None:
        id_token = self.session.get("id_token")
        if id_token is None:
            self.redirect("/")
            return
        # Keep the sid: the server's front-channel logout names it, and the home page then says
        # that the server's sign-out reached this application.
        sid = self.session.get("sid")
        self.session.clear()
        self.session.update(pending={}, sid=sid)
        self.redirect(self.server.provider.doc["end_session_endpoint"] + "?" + urlencode({
            "id_token_hint": id_token, "post_logout_redirect_uri": f"{self.server.url}/"}))

    # GET /signout-oidc?iss&sid: loaded in an iframe by the server's signed-out page. The
    # iframe is cross-site, so no cookie comes with it: the sid finds the sessions to end.
    def front_channel_logout(self) -> None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        if query.get("iss") == self.server.provider.issuer and query.get("sid"):
            self.server.sessions.end_by_sid(query["sid"])
        self.respond(200, page("Signed out", "<p>Signed out of the demo relying party.</p>"),
                     set_cookie=False)

    # --- helpers

    @staticmethod
    def kept(answer: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"access_token": answer["access_token"],
                "expires_at": time.time() + int(answer.get("expires_in", 0)),
                "scope": answer.get("scope", ""),
                # Without rotation the server sends no new refresh token: keep the old one.
                "refresh_token": answer.get("refresh_token")
                or (previous or {}).get("refresh_token")}

    def redirect(self, location: str) -> None:
        self.send_response(303)
        self.send_header("Location", location)
        self.finish_headers(b"")

    def respond(self, status: int, body: bytes, set_cookie: bool = True) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.finish_headers(body, set_cookie)

    def finish_headers(self, body: bytes, set_cookie: bool = True) -> None:
        if set_cookie:
            self.send_header("Set-Cookie",
                             f"{COOKIE}={self.session_id}; Path=/; HttpOnly; SameSite=Lax")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The path only: the query carries codes and tokens.
        print(f"relying party: {self.command} {urlsplit(self.path).path} {code}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issuer", default=os.environ.get("IDENTITY_ISSUER",
                                                          "http://127.0.0.1:8000"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_RP_PORT", 21402)))
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    parser.add_argument("--url", help="this application's URL (http://localhost:PORT); the "
                                      "client's redirect URIs are registered under it")
    parser.add_argument("--api-url", default=os.environ.get("DEMO_API_URL",
                                                           "http://localhost:5002"))
    args = parser.parse_args()
    url = args.url or f"http://localhost:{args.port}"
    app = App(args.host, args.port, url, Provider(args.issuer), args.api_url.rstrip("/"))
    print(f"relying party: {url}/ (issuer {args.issuer}, API {args.api_url})", flush=True)
    try:
        app.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
