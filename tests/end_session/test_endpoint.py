"""The end-session endpoint through the test client.

Spec: OpenID Connect RP-Initiated Logout 1.0 §2-3 (id_token_hint, post_logout_redirect_uri,
state, client_id; confirmation without a valid hint), Front-Channel Logout 1.0 §2-4 (one iframe
per client of the session, `iss` and `sid` when the client requires them).
"""

from __future__ import annotations

import html
import subprocess
import sys
import time
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client as BrowserClient

from tests.factories import make_client, make_interactive_client
from tests.helpers.flow import is_signed_in, login, sign_in_to
from tests.helpers.servers import ROOT

pytestmark = pytest.mark.django_db

ENDPOINT = "/connect/endsession"
ISSUER = "http://testserver"
SIGNED_OUT = "http://localhost:21402/signed-out"
FRONT_CHANNEL = "http://localhost:21402/signout-oidc"
STATE = "logout state/1 & more"


class Page(HTMLParser):
    """What matters on an HTML page: iframes, refresh targets, links, forms and their inputs."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.iframes: list[dict[str, str]] = []
        self.refresh: list[str] = []
        self.links: list[str] = []
        self.forms: list[dict[str, str]] = []
        self.inputs: list[dict[str, str]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "iframe":
            self.iframes.append(values)
        elif tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            content = values.get("content", "")
            self.refresh.append(content.split("=", 1)[1] if "=" in content else content)
        elif tag == "a":
            self.links.append(values.get("href", ""))
        elif tag == "form":
            self.forms.append(values)
        elif tag == "input":
            self.inputs.append(values)

    @property
    def frame_urls(self) -> list[str]:
        return [f["src"] for f in self.iframes]

    @property
    def fields(self) -> dict[str, str]:
        return {i["name"]: i.get("value", "") for i in self.inputs if "name" in i}


def page_of(response) -> Page:
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("text/html")
    return Page(response.content.decode())


def end_session(client, **params: str):
    return client.get(ENDPOINT + ("?" + urlencode(params) if params else ""))


def post_form(client, fields: dict[str, str]):
    return client.post(ENDPOINT, urlencode(fields),
                       content_type="application/x-www-form-urlencoded")


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def assert_signed_out_page(response, *, target: str | None) -> Page:
    page = page_of(response)
    assert "You are signed out" in response.content.decode()
    assert page.refresh == ([target] if target else [])
    # Off this server, the page links to the registered target only (no open redirect); on it,
    # to the user's own pages.
    assert external(page.links) == ([target] if target else [])
    return page


def external(links: list[str]) -> list[str]:
    return [link for link in links if not (link.startswith("/") and not link.startswith("//"))]


def stylesheet() -> str:
    from django.contrib.staticfiles import finders

    return Path(finders.find("identity/identity.css")).read_text()


def assert_confirmation_page(response) -> Page:
    page = page_of(response)
    assert len(page.forms) == 1
    form = page.forms[0]
    assert form.get("method", "").lower() == "post" and form.get("action") == ENDPOINT
    assert page.fields.get("csrfmiddlewaretoken")
    assert page.fields.get("confirm_logout") == "1"
    assert page.refresh == [] and external(page.links) == [] and page.iframes == []
    return page


def seed_logout_client(seeded, **overrides) -> None:
    values = {"post_logout_redirect_uris": (SIGNED_OUT,)}
    values.update(overrides)
    seeded(make_client(), make_interactive_client(**values))


@pytest.fixture
def signed_in(client, seeded, alice):
    """A signed-in browser that signed in to the client `interactive`: the token response."""
    seed_logout_client(seeded)
    login(client)
    return sign_in_to(client)


# --- a valid id_token_hint ---------------------------------------------------------------------

def test_valid_hint_signs_out_at_once_and_returns_to_registered_uri_with_state(
        client, signed_in) -> None:
    response = end_session(client, id_token_hint=signed_in["id_token"],
                           post_logout_redirect_uri=SIGNED_OUT, state=STATE)
    target = f"{SIGNED_OUT}?{urlencode({'state': STATE})}"
    page = assert_signed_out_page(response, target=target)
    assert [query_of(u) for u in page.frame_urls] == [
        {"iss": [ISSUER], "sid": [claims_of(signed_in["id_token"])["sid"]]}]
    assert not is_signed_in(client)


def test_state_is_appended_to_a_registered_uri_that_has_a_query(client, seeded, alice) -> None:
    registered = "http://localhost:21402/signed-out?from=idp"
    seed_logout_client(seeded, post_logout_redirect_uris=(registered,))
    login(client)
    hint = sign_in_to(client)["id_token"]
    response = end_session(client, id_token_hint=hint, post_logout_redirect_uri=registered,
                           state="s1")
    assert_signed_out_page(response, target=registered + "&state=s1")


def test_registered_uri_without_state_is_returned_to_as_registered(client, signed_in) -> None:
    response = end_session(client, id_token_hint=signed_in["id_token"],
                           post_logout_redirect_uri=SIGNED_OUT)
    assert_signed_out_page(response, target=SIGNED_OUT)


def test_valid_hint_without_redirect_uri_signs_out_and_stays(client, signed_in) -> None:
    response = end_session(client, id_token_hint=signed_in["id_token"], state=STATE)
    assert_signed_out_page(response, target=None)
    assert not is_signed_in(client)


def test_hint_posted_as_a_form_signs_out_too(client, signed_in) -> None:
    response = post_form(client, {"id_token_hint": signed_in["id_token"],
                                  "post_logout_redirect_uri": SIGNED_OUT, "state": "s2"})
    assert_signed_out_page(response, target=SIGNED_OUT + "?state=s2")
    assert not is_signed_in(client)


def test_client_id_matching_the_hint_audience_keeps_the_redirect(client, signed_in) -> None:
    response = end_session(client, id_token_hint=signed_in["id_token"], client_id="interactive",
                           post_logout_redirect_uri=SIGNED_OUT, state="s3")
    assert_signed_out_page(response, target=SIGNED_OUT + "?state=s3")


# --- front-channel logout ----------------------------------------------------------------------

def test_one_iframe_per_client_of_the_session_with_iss_and_sid_when_required(
        client, seeded, alice) -> None:
    seeded(
        make_interactive_client(post_logout_redirect_uris=(SIGNED_OUT,)),
        make_interactive_client(
            "no-sid", redirect_uris=("http://localhost:21403/signin-oidc",),
            front_channel_logout_uri="http://localhost:21403/signout-oidc",
            front_channel_logout_session_required=False),
        make_interactive_client(
            "with-query", redirect_uris=("http://localhost:21404/signin-oidc",),
            front_channel_logout_uri="http://localhost:21404/signout-oidc?tenant=a"),
        make_interactive_client(
            "no-front-channel", redirect_uris=("http://localhost:21405/signin-oidc",),
            front_channel_logout_uri=None),
        make_interactive_client(  # the user never signs in to this one
            "unused", redirect_uris=("http://localhost:21406/signin-oidc",),
            front_channel_logout_uri="http://localhost:21406/signout-oidc"),
    )
    login(client)
    hint = sign_in_to(client)["id_token"]
    sign_in_to(client)  # a second sign-in to the same client: still one iframe
    sign_in_to(client, "no-sid", "http://localhost:21403/signin-oidc")
    sign_in_to(client, "with-query", "http://localhost:21404/signin-oidc")
    sign_in_to(client, "no-front-channel", "http://localhost:21405/signin-oidc")
    sid = claims_of(hint)["sid"]

    response = end_session(client, id_token_hint=hint, post_logout_redirect_uri=SIGNED_OUT,
                           state="s")

    page = assert_signed_out_page(response, target=SIGNED_OUT + "?state=s")
    frames = {urlsplit(u).netloc: u for u in page.frame_urls}
    assert len(page.frame_urls) == 3 and set(frames) == {
        "localhost:21402", "localhost:21403", "localhost:21404"}
    assert all(f.get("class") == "frontchannel-logout" for f in page.iframes)
    assert "/static/identity/identity.css" in response.content.decode()
    assert ".frontchannel-logout { display: none; }" in stylesheet()
    required = frames["localhost:21402"]
    assert required.split("?")[0] == FRONT_CHANNEL
    assert query_of(required) == {"iss": [ISSUER], "sid": [sid]}
    assert frames["localhost:21403"] == "http://localhost:21403/signout-oidc"
    with_query = frames["localhost:21404"]
    assert with_query.split("?")[0] == "http://localhost:21404/signout-oidc"
    assert query_of(with_query) == {"tenant": ["a"], "iss": [ISSUER], "sid": [sid]}
    csp = response["Content-Security-Policy"]
    frame_src = next(d for d in csp.split(";") if d.strip().startswith("frame-src"))
    assert frame_src.split()[1:] == ["http://localhost:21402", "http://localhost:21403",
                                     "http://localhost:21404"]
    assert not is_signed_in(client)


def test_signing_out_without_a_session_frames_no_client(client, seeded, alice) -> None:
    seed_logout_client(seeded)
    login(client)
    hint = sign_in_to(client)["id_token"]
    client.logout()
    response = end_session(client, id_token_hint=hint)
    assert assert_signed_out_page(response, target=None).iframes == []
    assert "frame-src" not in response["Content-Security-Policy"]


# --- post_logout_redirect_uri that is not registered -------------------------------------------

@pytest.mark.parametrize("uri", [
    "http://localhost:21402/signed-out/other",  # different path
    "http://localhost:21402/signed-out/",  # trailing slash
    "http://localhost:21402/signed-out?next=x",  # extra query
    "http://localhost:21402/signed-out#frag",  # fragment
    "http://evil.example/signed-out",  # other host
    "http://localhost:21403/signed-out",  # other port
    "https://localhost:21402/signed-out",  # other scheme
    "http://localhost:21402/Signed-Out",  # case change
])
def test_unregistered_redirect_uri_is_never_redirected_to(client, signed_in, uri) -> None:
    response = end_session(client, id_token_hint=signed_in["id_token"],
                           post_logout_redirect_uri=uri, state="s")
    assert_signed_out_page(response, target=None)
    text = response.content.decode()
    assert uri not in text and html.escape(uri) not in text
    assert not is_signed_in(client)


def test_redirect_uri_of_another_client_is_not_followed(client, seeded, alice) -> None:
    other = "http://localhost:21403/signed-out"
    seeded(make_interactive_client(post_logout_redirect_uris=(SIGNED_OUT,)),
           make_interactive_client("other", redirect_uris=("http://localhost:21403/signin-oidc",),
                                   post_logout_redirect_uris=(other,)))
    login(client)
    hint = sign_in_to(client)["id_token"]
    response = end_session(client, id_token_hint=hint, post_logout_redirect_uri=other)
    assert_signed_out_page(response, target=None)
    assert other not in response.content.decode()


def test_without_hint_redirect_uri_is_never_followed(client, signed_in) -> None:
    params = {"post_logout_redirect_uri": SIGNED_OUT, "state": "s", "client_id": "interactive"}
    confirm = assert_confirmation_page(end_session(client, **params))
    assert is_signed_in(client)
    response = post_form(client, confirm.fields)
    assert_signed_out_page(response, target=None)
    assert not is_signed_in(client)
    anonymous = end_session(BrowserClient(), **params)
    assert_signed_out_page(anonymous, target=None)
    assert SIGNED_OUT not in anonymous.content.decode()


# --- an invalid id_token_hint ------------------------------------------------------------------

def _garbage(token: str) -> str:
    return "not-a-jwt"


def _tampered(token: str) -> str:
    head, body, signature = token.split(".")
    claims = {**claims_of(token), "sub": "someone-else"}
    forged = jwt.encode(claims, "x" * 32, algorithm="HS256").split(".")[1]
    return f"{head}.{forged}.{signature}"


def _other_key(token: str) -> str:
    header = jwt.get_unverified_header(token)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims_of(token), key, algorithm=header["alg"],
                      headers={"kid": header["kid"], "typ": header.get("typ", "JWT")})


def _unsigned(token: str) -> str:
    header = jwt.get_unverified_header(token)
    return jwt.encode(claims_of(token), None, algorithm="none", headers={"kid": header["kid"]})


def _other_issuer(token: str) -> str:
    from identity.stores.registry import get_key_ring
    from identity.tokens.jwt import sign

    header = jwt.get_unverified_header(token)
    claims = {**claims_of(token), "iss": "https://other-issuer.example.com"}
    return sign(claims, get_key_ring().signing_key(), header.get("typ", "JWT"))


INVALID_HINTS: list[Callable[[str], str]] = [_garbage, _tampered, _other_key, _unsigned,
                                             _other_issuer]


@pytest.mark.parametrize("spoil", INVALID_HINTS, ids=lambda f: f.__name__.strip("_"))
def test_invalid_hint_asks_for_confirmation_and_signs_out_only_on_post(
        client, signed_in, spoil) -> None:
    hint = spoil(signed_in["id_token"])
    sid = claims_of(signed_in["id_token"])["sid"]
    response = end_session(client, id_token_hint=hint, post_logout_redirect_uri=SIGNED_OUT,
                           state="s")
    confirm = assert_confirmation_page(response)
    assert is_signed_in(client)

    done = post_form(client, confirm.fields)
    page = assert_signed_out_page(done, target=None)
    assert [query_of(u).get("sid") for u in page.frame_urls] == [[sid]]
    assert not is_signed_in(client)


@pytest.mark.parametrize("spoil", INVALID_HINTS, ids=lambda f: f.__name__.strip("_"))
def test_invalid_hint_without_a_session_gives_no_redirect(client, signed_in, spoil) -> None:
    hint = spoil(signed_in["id_token"])
    response = end_session(BrowserClient(), id_token_hint=hint,
                           post_logout_redirect_uri=SIGNED_OUT, state="s")
    assert_signed_out_page(response, target=None)


def test_get_with_confirm_logout_does_not_sign_out(client, signed_in) -> None:
    response = end_session(client, confirm_logout="1")
    assert_confirmation_page(response)
    assert is_signed_in(client)
    response = end_session(client, id_token_hint="garbage", confirm_logout="1")
    assert_confirmation_page(response)
    assert is_signed_in(client)


def test_confirmation_page_shown_for_a_get_with_confirm_logout_still_signs_out(
        client, signed_in) -> None:
    confirm = end_session(client, confirm_logout="1")
    assert_confirmation_page(confirm)
    pairs = [(i["name"], i.get("value", "")) for i in Page(confirm.content.decode()).inputs
             if "name" in i]  # every field the browser would post, repeated ones included
    response = client.post(ENDPOINT, urlencode(pairs),
                           content_type="application/x-www-form-urlencoded")
    assert_signed_out_page(response, target=None)
    assert not is_signed_in(client)


def test_confirming_post_without_csrf_token_is_refused(seeded, alice) -> None:
    browser = BrowserClient(enforce_csrf_checks=True)
    seed_logout_client(seeded)
    login(browser)
    sign_in_to(browser)
    confirm = assert_confirmation_page(end_session(browser))
    fields = dict(confirm.fields)
    del fields["csrfmiddlewaretoken"]
    assert post_form(browser, fields).status_code == 403
    forged = {**fields, "csrfmiddlewaretoken": "x" * 64}
    assert post_form(browser, forged).status_code == 403
    assert is_signed_in(browser)
    done = post_form(browser, confirm.fields)
    assert_signed_out_page(done, target=None)
    assert not is_signed_in(browser)


def test_csrf_token_of_one_browser_does_not_sign_out_another(seeded, alice) -> None:
    seed_logout_client(seeded)
    mine, theirs = BrowserClient(enforce_csrf_checks=True), BrowserClient(enforce_csrf_checks=True)
    login(mine)
    login(theirs)
    fields = assert_confirmation_page(end_session(mine)).fields
    assert_confirmation_page(end_session(theirs))
    assert post_form(theirs, fields).status_code == 403
    assert is_signed_in(theirs)


# --- expired hint, no session, client_id --------------------------------------------------------

def test_expired_hint_is_still_accepted(client, seeded, alice) -> None:
    seed_logout_client(seeded, identity_token_lifetime=1)
    login(client)
    hint = sign_in_to(client)["id_token"]
    time.sleep(2.1)
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(hint, options={"verify_signature": False, "verify_exp": True})
    response = end_session(client, id_token_hint=hint, post_logout_redirect_uri=SIGNED_OUT,
                           state="late")
    page = assert_signed_out_page(response, target=SIGNED_OUT + "?state=late")
    assert len(page.iframes) == 1
    assert not is_signed_in(client)


def test_not_signed_in_shows_signed_out_page(seeded) -> None:
    seed_logout_client(seeded)
    response = end_session(BrowserClient())
    assert_signed_out_page(response, target=None)
    assert_signed_out_page(post_form(BrowserClient(), {"state": "s"}), target=None)


def test_not_signed_in_with_valid_hint_still_returns_to_registered_uri(client, signed_in) -> None:
    hint = signed_in["id_token"]
    client.logout()
    for browser in (client, BrowserClient()):
        response = end_session(browser, id_token_hint=hint, post_logout_redirect_uri=SIGNED_OUT,
                               state="again")
        page = assert_signed_out_page(response, target=SIGNED_OUT + "?state=again")
        assert page.iframes == []


@pytest.mark.parametrize("other", ["service.client", "unknown", "Interactive"])
def test_client_id_disagreeing_with_hint_audience_gives_no_redirect(
        client, signed_in, other) -> None:
    params = {"id_token_hint": signed_in["id_token"], "client_id": other,
              "post_logout_redirect_uri": SIGNED_OUT, "state": "s"}
    anonymous = end_session(BrowserClient(), **params)
    assert_signed_out_page(anonymous, target=None)
    confirm = assert_confirmation_page(end_session(client, **params))
    assert is_signed_in(client)
    assert_signed_out_page(post_form(client, confirm.fields), target=None)
    assert not is_signed_in(client)


def test_hint_of_another_user_asks_for_confirmation(client, seeded, alice) -> None:
    from django.contrib.auth import get_user_model

    seed_logout_client(seeded)
    get_user_model().objects.create_user("bob", "bob@example.com", "pw-bob-123")
    other = BrowserClient()
    login(other, "bob", "pw-bob-123")
    bobs_hint = sign_in_to(other)["id_token"]
    login(client)
    sign_in_to(client)
    assert_confirmation_page(end_session(client, id_token_hint=bobs_hint))
    assert is_signed_in(client) and is_signed_in(other)


# --- headers and discovery ---------------------------------------------------------------------

def _assert_html_headers(response) -> str:
    assert response["X-Frame-Options"] == "DENY"
    assert "no-store" in response["Cache-Control"]
    csp = response["Content-Security-Policy"]
    directives = {d.strip().split()[0]: d.strip().split()[1:] for d in csp.split(";") if d.strip()}
    assert directives["frame-ancestors"] == ["'none'"]
    return csp


def test_pages_are_never_framed_nor_cached(client, signed_in) -> None:
    confirm = end_session(client, id_token_hint="garbage")
    assert_confirmation_page(confirm)
    _assert_html_headers(confirm)
    done = end_session(client, id_token_hint=signed_in["id_token"])
    csp = _assert_html_headers(done)
    assert "frame-src http://localhost:21402" in csp
    anonymous = end_session(BrowserClient())
    assert "frame-src" not in _assert_html_headers(anonymous)


def test_discovery_advertises_end_session_and_front_channel_logout(client, seeded) -> None:
    seeded()
    doc = client.get("/.well-known/openid-configuration").json()
    assert doc["end_session_endpoint"] == ISSUER + ENDPOINT
    assert doc["frontchannel_logout_supported"] is True
    assert doc["frontchannel_logout_session_supported"] is True


# --- the sign-in session the endpoint relies on ------------------------------------------------

def test_login_receiver_is_connected_when_apps_are_ready() -> None:
    # A fresh process: a login before the first URL resolution (test client login(), a
    # middleware such as RemoteUserMiddleware) must start the session like any other.
    script = """
import django
django.setup()
from django.contrib.auth.signals import user_logged_in
from identity.stores import orm_sessions

started = []
orm_sessions.start = lambda *args, **kwargs: started.append(args)  # no database here

class User:
    pk = 1
    def save(self, **kwargs): pass

class Request:
    session = {}
    META = {}
    def build_absolute_uri(path): return "http://testserver/"

user_logged_in.send(sender=User, request=Request, user=User())
print(" ".join(sorted(Request.session)), len(started))
"""
    env = {"DJANGO_SETTINGS_MODULE": "settings.test", "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    words = result.stdout.split()
    assert "identity.sid" in words and "identity.server_side" in words
    assert words[-1] == "1"  # and its server-side row
