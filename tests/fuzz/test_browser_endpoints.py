"""Random and malicious requests to the browser-facing endpoints: authorize, consent, login,
the user's applications, end session.

Spec: RFC 6749 §3.1.2.4, §4.1.1-4.1.2.1, §10.12; RFC 7636 §4.2-4.4; RFC 9207; OpenID Connect
Core §3.1.2.1, §3.1.2.6; OAuth 2.0 Form Post Response Mode; RP-Initiated Logout 1.0 §2-3.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.db import connection
from hypothesis import event, example, given, reject
from hypothesis import strategies as st

from tests.fuzz.strategies import (
    AUTHORIZE_OPTIONAL,
    CONTENT_TYPES,
    HTTP_METHODS,
    NEAR_CHALLENGES,
    PKCE_CHALLENGE,
    PKCE_VERIFIER,
    AuthorizeRequest,
    authorize_requests,
    authorize_values,
    bodies,
    content_types,
    extra_headers,
    form,
    fuzz_settings,
    values,
)
from tests.fuzz.world import REGISTRY
from tests.helpers.basic_auth import basic

pytestmark = pytest.mark.django_db

REDIRECTS = {client_id: c.redirect_uris for client_id, c in REGISTRY.items()}
REDIRECT_URIS = tuple(u for c in REGISTRY.values() for u in c.redirect_uris)
CLIENT_IDS = ("interactive", "native", "mobile") * 4 + (*REGISTRY, "unknown", "INTERACTIVE",
                                                      "interactive ", "web\x00", "")
AUTHORIZE_ERRORS = {"invalid_request", "unauthorized_client", "access_denied",
                    "unsupported_response_type", "invalid_scope", "server_error",
                    "temporarily_unavailable", "login_required", "consent_required",
                    "interaction_required", "account_selection_required"}
CHALLENGE_GRAMMAR = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 §4.2
RESPONSE_MODES = ("query", "fragment", "form_post")


def _browser(fuzz, user, signed_in: bool):
    return fuzz.signed_in(user) if signed_in else fuzz.browser()


@fuzz_settings(250)
@given(request=bodies(("client_id", "redirect_uri", *AUTHORIZE_OPTIONAL),
                      {"client_id": st.sampled_from(CLIENT_IDS),
                       "redirect_uri": st.sampled_from(REDIRECT_URIS), **authorize_values}),
       method=st.sampled_from(("GET",) * 4 + ("POST",) * 3 + HTTP_METHODS),
       content_type=st.one_of(st.sampled_from(CONTENT_TYPES[:3]), content_types),
       headers=extra_headers, signed_in=st.booleans())
def test_authorize_with_garbage(fuzz, world, request, method, content_type, headers,
                                signed_in) -> None:
    """Anything at all: an error page, or a redirect to our pages or a registered URI."""
    fuzz.begin()
    _, raw = request
    in_query = method not in ("POST", "PUT", "PATCH")
    response = fuzz.send("authorize", method, query=raw if in_query else b"",
                         body=b"" if in_query else raw, content_type=content_type,
                         headers=headers, client=_browser(fuzz, world, signed_in))
    fuzz.check_authorize(response)


@fuzz_settings(500)
@given(request=authorize_requests(REDIRECTS, CLIENT_IDS))
# Each value within its length, the query as a whole over MAX_REQUEST_BODY: the error page.
@example(request=AuthorizeRequest(params=(
    ("client_id", "interactive"), ("redirect_uri", "http://localhost:21402/signin-oidc"),
    ("response_type", "code"), ("scope", "openid"), ("code_challenge", PKCE_CHALLENGE),
    ("code_challenge_method", "\U0001F600" * 1999))))
def test_authorize_model(fuzz, world, request) -> None:
    """Mostly valid requests: trusted exactly when the documented rules say so, and then the
    answer follows RFC 6749 §4.1.2 / §4.1.2.1 and RFC 7636 to the letter."""
    fuzz.begin()
    browser = _browser(fuzz, world, request.signed_in)
    encoded = request.encoded()
    if request.method == "GET":
        response = fuzz.send("authorize", query=encoded, client=browser)
    else:
        response = fuzz.send("authorize", "POST", body=encoded, client=browser,
                             content_type="application/x-www-form-urlencoded")
    # A `request` object or a `request_uri` is resolved before the client is trusted, and no
    # client of this world has JWK keys or pushed requests: either gives the error page
    # (invalid_request_object, request_uri_not_supported or invalid_request_uri).
    by_reference = request.value("request") is not None or request.value("request_uri") is not None
    trusted = fuzz.expects_trust(request) and not by_reference
    redirect_uri = request.value("redirect_uri") if trusted else None
    outcome = fuzz.check_authorize(response, expect_trusted=trusted, redirect_uri=redirect_uri)
    event(f"{outcome.kind}{' code' if 'code' in outcome.params else ''}")
    if outcome.kind != "client":
        return
    params = outcome.params
    mode = request.value("response_mode")
    assert outcome.mode == (mode if mode in RESPONSE_MODES else "query"), params
    assert params.get("state") == request.value("state"), params  # §4.1.2: exactly as sent
    if "code" in params:
        assert request.signed_in and request.value("response_type") == "code", params
        assert request.value("client_id") != "web", params  # web requires consent first
        assert CHALLENGE_GRAMMAR.fullmatch(request.value("code_challenge") or ""), params
        assert request.value("code_challenge_method") == "S256", params
        assert set(params) <= {"code", "state", "iss"}, params
    else:
        assert params.get("error") in AUTHORIZE_ERRORS, params
        assert "code" not in params, params


# Values for the consent page's `return`: our authorize URL, then ways to make it point elsewhere.
RETURN_PREFIXES = ("/connect/authorize?", "/connect/authorize?", "/connect/authorize?",
                   "http://testserver/connect/authorize?", "//evil.example/connect/authorize?",
                   "https://evil.example/connect/authorize?", "/connect/authorize/?",
                   "/connect/authorizex?", "/connect/./authorize?", "/connect/authorize#",
                   "\\connect/authorize?", "/%63onnect/authorize?", "", "javascript:alert(1)//",
                   " /connect/authorize?", "/connect/authorize\n?", "/\\evil.example/?",
                   "/account/login?", "/connect/consent?")


@fuzz_settings(200)
@given(request=authorize_requests(REDIRECTS, ("web", "web", "interactive", "x")),
       prefix=st.sampled_from(RETURN_PREFIXES),
       decision=st.sampled_from(("allow", "allow", "deny", "", "ALLOW", "allow\x00")),
       remember=st.sampled_from(("", "1", "on")),
       method=st.sampled_from(("GET", "POST", "POST", "PUT")), signed_in=st.integers(0, 4))
def test_consent_page(fuzz, world, request, prefix, decision, remember, method,
                      signed_in) -> None:
    """The consent page acts only on our own authorize URL, and sends the browser only there,
    to the login page, or to a registered redirect URI."""
    fuzz.begin()
    back = prefix + request.encoded().decode("ascii")
    browser = _browser(fuzz, world, signed_in > 0)
    fields = {"return": back, "decision": decision, "remember": remember}
    if method == "GET":
        response = fuzz.send("consent", query=form({"return": back}), client=browser)
    else:
        response = fuzz.send("consent", method, body=form(fields), client=browser,
                             content_type="application/x-www-form-urlencoded")
    outcome = fuzz.check_consent(response)
    parts = urlsplit(back)
    foreign = parts.scheme or parts.netloc or parts.path != "/connect/authorize"
    if signed_in and method in ("GET", "POST") and foreign:
        assert outcome.kind == "page", response.content[:300]


NEXT_VALUES = ("/connect/authorize?client_id=interactive", "http://evil.example/",
               "//evil.example", "/\\evil.example", "\\\\evil.example", "https:evil.example",
               "http://testserver/account/grants", "/%2F%2Fevil.example", " //evil.example",
               "\t//evil.example", "javascript:alert(1)", "http:///evil.example",
               "http://testserver@evil.example", "http://evil.example\\@testserver",
               "/\t/evil.example", "http:\\\\evil.example", "data:text/html,x", "",
               "http://testserver:80@evil.example/", "https://testserver.evil.example/")


@fuzz_settings(200)
@given(next_url=st.one_of(st.sampled_from(NEXT_VALUES), values),
       username=st.one_of(st.just("alice"), values),
       password=st.one_of(st.just("pw-alice-123"), values),
       method=st.sampled_from(("GET", "POST", "POST", "POST", "PUT", "OPTIONS")),
       enforce_csrf=st.booleans(), next_in_query=st.booleans(),
       extra=bodies(("next", "username", "password", "csrfmiddlewaretoken")),
       headers=extra_headers)
def test_login_page(fuzz, world, next_url, username, password, method, enforce_csrf,
                    next_in_query, extra, headers) -> None:
    """Django's login view with hostile `next` values: it only ever redirects to this host."""
    fuzz.begin()
    browser = fuzz.browser(enforce_csrf=enforce_csrf)
    fields = {"username": username, "password": password}
    query = form({"next": next_url}) if next_in_query else b""
    if not next_in_query:
        fields["next"] = next_url
    body = form(fields) + b"&" + extra[1] if extra[0] and method != "GET" else form(fields)
    response = fuzz.send("login", method, query=query, body=b"" if method == "GET" else body,
                         content_type="application/x-www-form-urlencoded", headers=headers,
                         client=browser)
    fuzz.check_login(response)


@fuzz_settings(150)
@given(client_id=values, method=st.sampled_from(("GET", "POST", "POST", "DELETE", "HEAD")),
       signed_in=st.booleans(), headers=extra_headers)
def test_grants_page(fuzz, world, client_id, method, signed_in, headers) -> None:
    if "\x00" in client_id and connection.vendor == "postgresql":
        reject()  # a known bug, reproduced by the next test: do not fail at random on it
    fuzz.begin()
    response = fuzz.send("grants", method, body=form({"client_id": client_id}),
                         content_type="application/x-www-form-urlencoded", headers=headers,
                         client=_browser(fuzz, world, signed_in))
    fuzz.check_grants(response)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL refuses NUL in text")
def test_revoking_an_application_named_with_a_nul_is_not_an_outage(fuzz, world) -> None:
    """POST /account/grants client_id=a%00b answers 503 temporarily_unavailable on PostgreSQL
    (DataError from the consent store); a bad request should be a 4xx or a no-op redirect."""
    fuzz.begin()
    response = fuzz.send("grants", "POST", body=form({"client_id": "a\x00b"}),
                         content_type="application/x-www-form-urlencoded",
                         client=fuzz.signed_in(world))
    fuzz.check_grants(response)


@fuzz_settings(250)
@given(request=bodies(("id_token_hint", "post_logout_redirect_uri", "client_id", "state",
                       "ui_locales", "logout_hint", "confirm_logout"),
                      {"post_logout_redirect_uri": st.sampled_from(tuple(
                          u for c in REGISTRY.values() for u in c.post_logout_redirect_uris)),
                       "client_id": st.sampled_from(CLIENT_IDS)}),
       method=st.sampled_from(("GET", "GET", "POST", "POST", "PUT", "HEAD")),
       signed_in=st.booleans(), enforce_csrf=st.booleans(), headers=extra_headers)
def test_end_session_without_a_valid_hint_never_redirects(fuzz, world, request, method,
                                                          signed_in, enforce_csrf,
                                                          headers) -> None:
    """Without an id_token_hint signed by the server there is no post-logout redirect at all;
    the front-channel iframes are exactly the session's clients' logout URIs."""
    fuzz.begin()
    clients = ("interactive", "web") if signed_in else ()
    browser = (fuzz.signed_in(world, clients=clients, enforce_csrf=enforce_csrf) if signed_in
               else fuzz.browser(enforce_csrf=enforce_csrf))
    _, raw = request
    in_query = method != "POST"
    response = fuzz.send("endsession", method, query=raw if in_query else b"",
                         body=b"" if in_query else raw, headers=headers, client=browser,
                         content_type="application/x-www-form-urlencoded")
    fuzz.check_end_session(response, expect=None, session_clients=clients)


UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
challenges = st.one_of(
    st.sampled_from((PKCE_CHALLENGE, *NEAR_CHALLENGES)),
    st.text(alphabet=UNRESERVED, min_size=40, max_size=131),
    st.text(alphabet=UNRESERVED, min_size=43, max_size=128).flatmap(
        lambda text: st.sampled_from(("\n", "\r\n", " ", "\t", "=", "%", "é", "+", "/")).map(
            lambda tail: text + tail)),
    st.text(alphabet=UNRESERVED + "\n =+/é", min_size=40, max_size=131),
)


@fuzz_settings(200)
@example(challenge=PKCE_CHALLENGE + "\n", method="S256", mode="query")
@given(challenge=challenges, method=st.sampled_from(("S256", "S256", "plain", None)),
       mode=st.sampled_from(("query", "fragment", "form_post")))
def test_code_challenge_is_accepted_exactly_when_rfc7636_allows_it(fuzz, world, challenge,
                                                                   method, mode) -> None:
    """RFC 7636 §4.2: code_challenge = 43*128unreserved; S256 only, plain not allowed here."""
    fuzz.begin()
    params = {"client_id": "interactive", "redirect_uri": REGISTRY["interactive"].redirect_uris[0],
              "response_type": "code", "scope": "openid", "code_challenge": challenge,
              "state": "s", "response_mode": mode}
    if method is not None:
        params["code_challenge_method"] = method
    response = fuzz.send("authorize", query=form(params), client=fuzz.signed_in(world))
    outcome = fuzz.check_authorize(response, expect_trusted=True,
                                   redirect_uri=params["redirect_uri"])
    valid = CHALLENGE_GRAMMAR.fullmatch(challenge) is not None and method == "S256"
    event("valid" if valid else "invalid")
    if valid:
        assert "code" in outcome.params, outcome.params
    else:
        assert outcome.params.get("error") == "invalid_request", (challenge, outcome.params)


@fuzz_settings(60)
@given(verifier=st.one_of(st.just(PKCE_VERIFIER), st.sampled_from(NEAR_CHALLENGES),
                          st.just(PKCE_VERIFIER).map(lambda v: v + "\n"),
                          st.just(PKCE_VERIFIER).map(lambda v: v.upper()),
                          st.just(PKCE_CHALLENGE), st.text(max_size=130), st.none()))
def test_code_verifier_must_match_exactly(fuzz, world, verifier) -> None:
    """RFC 7636 §4.6: the code is redeemed only with the verifier behind its challenge."""
    fuzz.begin()
    redirect_uri = REGISTRY["interactive"].redirect_uris[0]
    params = {"client_id": "interactive", "redirect_uri": redirect_uri, "response_type": "code",
              "scope": "openid", "code_challenge": PKCE_CHALLENGE,
              "code_challenge_method": "S256"}
    response = fuzz.send("authorize", query=form(params), client=fuzz.signed_in(world))
    code = fuzz.check_authorize(response, expect_trusted=True).params["code"]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier is not None:
        data["code_verifier"] = verifier
    response = fuzz.send("token", "POST", body=form(data),
                         headers={"Authorization": basic("interactive", "secret")},
                         content_type="application/x-www-form-urlencoded")
    issued = fuzz.check_token(response)
    assert (issued is not None) == (verifier == PKCE_VERIFIER), response.content
