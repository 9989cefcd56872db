"""The authorize endpoint: trust before redirecting, exact redirect URIs, errors, PKCE, prompts.

Spec: RFC 6749 §3.1.2, §4.1.1-4.1.2.1; RFC 7636 §4.2-4.4; OpenID Connect Core §3.1.2.1-3.1.2.6;
RFC 9207 (`iss`); OAuth 2.0 Form Post Response Mode; RFC 8252 §7.3 (loopback redirect ports).
"""

from __future__ import annotations

import re
import time
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest

from identity.domain.client import Client
from identity.errors import InvalidRequest
from identity.validation import pkce as pkce_rules
from tests.factories import make_client, make_interactive_client
from tests.helpers.flow import (
    REDIRECT,
    age_session,
    assert_never_framed_or_cached,
    authorize,
    authorize_params,
    authorize_post,
    exchange,
    login,
    login_with_form,
    query_of,
    redirect_params,
)
from tests.helpers.pkce import Pkce

pytestmark = pytest.mark.django_db

ISSUER = "http://testserver"  # Django's test client host; no ISSUER is configured in tests
WEB_REDIRECT = "https://app.example.com/signin-oidc"
NATIVE_REDIRECT = "http://127.0.0.1/cb"
NATIVE_V6_REDIRECT = "http://[::1]/cb"
SERVICE_REDIRECT = "https://service.example.com/cb"


def interactive(**overrides) -> Client:
    """The default code client, also registered with an https redirect URI on a real host."""
    overrides.setdefault("redirect_uris", (REDIRECT, WEB_REDIRECT))
    return make_interactive_client(**overrides)


def native_client() -> Client:
    return make_interactive_client("native", require_client_secret=False, client_secrets=(),
                                   redirect_uris=(NATIVE_REDIRECT,))


@pytest.fixture
def clients(seeded):
    """Seed the usual clients: interactive (web), native (public, loopback), service.client."""
    seeded(interactive(), native_client(),
           make_interactive_client("native6", require_client_secret=False, client_secrets=(),
                                   redirect_uris=(NATIVE_V6_REDIRECT,)),
           make_client(allowed_grant_types=("client_credentials",),
                       redirect_uris=(SERVICE_REDIRECT,)))


@pytest.fixture
def signed_in(client, clients, alice):
    """A browser signed in as alice."""
    login(client)
    return client


def send(client, method: str, **params: str):
    return authorize(client, **params) if method == "GET" else authorize_post(client, **params)


def assert_code_redirect(response, redirect_uri: str = REDIRECT, state: str | None = "st-123"):
    """Assert a redirect to `redirect_uri` carrying a code, the state and the issuer."""
    assert response.status_code == 302, response.content[:500]
    location = response["Location"]
    assert location.split("?")[0] == redirect_uri, location
    params = redirect_params(response)
    assert params["code"]
    assert params["iss"] == ISSUER
    assert params.get("state") == state
    return params


def assert_error_redirect(response, error: str, redirect_uri: str = REDIRECT,
                          state: str | None = "st-123") -> dict[str, str]:
    """Assert a redirect to the client with error, a description, the state and the issuer."""
    assert response.status_code == 302, response.content[:500]
    location = response["Location"]
    assert location.split("?")[0] == redirect_uri, location
    params = redirect_params(response)
    assert params["error"] == error, params
    assert params["error_description"]
    assert params["iss"] == ISSUER
    assert params.get("state") == state
    assert "code" not in params
    return params


def assert_error_page(response, *mentions: str) -> None:
    """Assert an HTML error page that sends the browser nowhere."""
    assert response.status_code == 400, response.status_code
    assert not response.has_header("Location")
    assert response["Content-Type"].startswith("text/html")
    assert_never_framed_or_cached(response)
    body = unescape(response.content.decode())
    assert 'id="error"' in body
    for mention in mentions:
        assert mention in body, mention


def login_redirect_next(response) -> str:
    """Return the `next` of a redirect to the login page, asserting it is one."""
    assert response.status_code == 302, response.content[:500]
    parts = urlsplit(response["Location"])
    assert not parts.scheme and not parts.netloc
    assert parts.path == "/account/login", response["Location"]
    query = parse_qs(parts.query)
    assert list(query) == ["next"]
    return query["next"][0]


# --- success: GET and POST, state, iss, response modes ---------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_signed_in_user_is_redirected_with_code_state_and_iss(signed_in, method) -> None:
    response = send(signed_in, method, **authorize_params(Pkce.new()))
    params = assert_code_redirect(response)
    assert set(params) == {"code", "state", "iss"}
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_code_from_get_or_post_request_redeems_at_token_endpoint(signed_in, method) -> None:
    pkce = Pkce.new()
    code = assert_code_redirect(send(signed_in, method, **authorize_params(pkce)))["code"]
    response = exchange(signed_in, code, pkce)
    assert response.status_code == 200, response.content
    claims = jwt.decode(response.json()["id_token"], options={"verify_signature": False})
    assert claims["iss"] == ISSUER and claims["nonce"] == "n-456"


@pytest.mark.parametrize("state", [
    "st-123",
    "a b&c=d?e#f/é+%20~",
    "eyJhbGciOiJIUzI1NiJ9.eyJyZXR1cm4iOiIvIn0.c2lnbmF0dXJl",
    "x" * 500,
])
def test_state_is_returned_exactly_as_sent(signed_in, state) -> None:
    assert_code_redirect(authorize(signed_in, **authorize_params(Pkce.new(), state=state)),
                         state=state)


def test_no_state_in_request_means_no_state_in_response(signed_in) -> None:
    response = authorize(signed_in, **authorize_params(Pkce.new(), state=None))
    assert "state" not in assert_code_redirect(response, state=None)


def test_code_redirect_keeps_query_of_a_registered_redirect_uri(client, seeded, alice) -> None:
    registered = "https://app.example.com/cb?tenant=a"
    seeded(make_interactive_client(redirect_uris=(registered,)))
    login(client)
    response = authorize(client, **authorize_params(Pkce.new(), redirect_uri=registered))
    assert response.status_code == 302
    assert response["Location"].startswith(registered + "&code=")
    assert redirect_params(response)["tenant"] == "a"


def test_response_mode_query_puts_parameters_in_the_query(signed_in) -> None:
    response = authorize(signed_in, **authorize_params(Pkce.new(), response_mode="query"))
    parts = urlsplit(response["Location"])
    assert not parts.fragment
    assert {"code", "state", "iss"} == set(parse_qs(parts.query))


def test_response_mode_fragment_puts_parameters_after_the_hash(signed_in) -> None:
    response = authorize(signed_in, **authorize_params(Pkce.new(), response_mode="fragment"))
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(REDIRECT + "#")
    parts = urlsplit(location)
    assert not parts.query
    fragment = {k: v[0] for k, v in parse_qs(parts.fragment).items()}
    assert set(fragment) == {"code", "state", "iss"}
    assert fragment["state"] == "st-123" and fragment["iss"] == ISSUER


def form_post_fields(response) -> tuple[str, dict[str, str]]:
    """Return the action and hidden fields of a form_post page."""
    body = response.content.decode()
    action = re.search(r'<form method="post" action="([^"]*)"', body)
    assert action, body
    fields = {unescape(n): unescape(v) for n, v in
              re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', body)}
    return unescape(action.group(1)), fields


def test_response_mode_form_post_renders_a_self_submitting_form(signed_in) -> None:
    state = 'st"<&>'
    response = authorize(signed_in,
                         **authorize_params(Pkce.new(), response_mode="form_post", state=state))
    assert response.status_code == 200
    assert not response.has_header("Location")
    assert response["Content-Type"].startswith("text/html")
    action, fields = form_post_fields(response)
    assert action == REDIRECT
    assert set(fields) == {"code", "state", "iss"}
    assert fields["state"] == state and fields["iss"] == ISSUER and fields["code"]
    csp = response["Content-Security-Policy"]
    nonce = re.search(r"script-src 'nonce-([^']+)'", csp)
    assert nonce, csp
    assert f'<script nonce="{nonce.group(1)}">' in response.content.decode()
    assert "form-action http://localhost:21402" in csp
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "no-store" in response["Cache-Control"] and response["X-Frame-Options"] == "DENY"


def test_form_post_nonce_changes_on_every_response(signed_in) -> None:
    def nonce() -> str:
        response = authorize(signed_in, **authorize_params(Pkce.new(), response_mode="form_post"))
        return re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)

    assert nonce() != nonce()


def test_form_post_form_action_is_the_origin_of_the_redirect_uri(signed_in) -> None:
    response = authorize(signed_in, **authorize_params(
        Pkce.new(), response_mode="form_post", redirect_uri=WEB_REDIRECT))
    assert form_post_fields(response)[0] == WEB_REDIRECT
    assert "form-action https://app.example.com;" in response["Content-Security-Policy"]


@pytest.mark.parametrize("mode", ["query", "fragment"])
def test_errors_after_trust_use_the_requested_response_mode(signed_in, mode) -> None:
    response = authorize(signed_in, **authorize_params(Pkce.new(), scope=None,
                                                       response_mode=mode))
    assert response.status_code == 302
    parts = urlsplit(response["Location"])
    raw = parts.fragment if mode == "fragment" else parts.query
    assert not (parts.query if mode == "fragment" else parts.fragment)
    params = {k: v[0] for k, v in parse_qs(raw).items()}
    assert params["error"] == "invalid_scope"
    assert params["state"] == "st-123" and params["iss"] == ISSUER


def test_errors_after_trust_are_form_posted_in_form_post_mode(signed_in) -> None:
    response = authorize(signed_in, **authorize_params(Pkce.new(), scope=None,
                                                       response_mode="form_post"))
    assert response.status_code == 200 and not response.has_header("Location")
    action, fields = form_post_fields(response)
    assert action == REDIRECT
    assert fields["error"] == "invalid_scope" and fields["error_description"]
    assert fields["state"] == "st-123" and fields["iss"] == ISSUER


def test_unknown_response_mode_is_an_invalid_request_sent_in_the_query(signed_in) -> None:
    response = authorize(signed_in, **authorize_params(Pkce.new(), response_mode="web_message"))
    assert_error_redirect(response, "invalid_request")
    assert not urlsplit(response["Location"]).fragment


# --- untrusted client or redirect URI: an error page, never a redirect -----------------------


@pytest.mark.parametrize(("overrides", "mention"), [
    ({"client_id": "nobody"}, "client"),
    ({"client_id": None}, "client_id"),
    ({"client_id": ""}, "client_id"),
    ({"redirect_uri": None}, "redirect_uri"),
    ({"redirect_uri": ""}, "redirect_uri"),
    ({"redirect_uri": "https://evil.example.com/signin-oidc"}, "redirect_uri"),
    ({"client_id": "native"}, "redirect_uri"),  # another client's redirect URI
], ids=["unknown-client", "missing-client-id", "empty-client-id", "missing-redirect-uri",
        "empty-redirect-uri", "unregistered-redirect-uri", "redirect-uri-of-another-client"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_untrusted_client_or_redirect_uri_shows_error_page_and_never_redirects(
        signed_in, overrides, mention, method) -> None:
    response = send(signed_in, method, **authorize_params(Pkce.new(), **overrides))
    assert_error_page(response, "invalid_request", mention)


def test_unregistered_redirect_uri_shows_error_page_even_when_other_parameters_are_bad(
        client, clients) -> None:
    response = authorize(client, client_id="interactive", redirect_uri="https://evil.example.com/",
                         response_type="token", scope="nope", prompt="none", state="s")
    assert_error_page(response, "redirect_uri")
    assert "evil.example.com" not in response.get("Location", "")


def test_disabled_client_shows_error_page_and_never_redirects(client, seeded, alice) -> None:
    seeded(make_interactive_client(enabled=False))
    login(client)
    response = authorize(client, **authorize_params(Pkce.new()))
    assert_error_page(response, "invalid_request")


@pytest.mark.parametrize("redirect_uri", [
    "http://LOCALHOST:21402/signin-oidc",
    "http://localhost:21402/SIGNIN-OIDC",
    "HTTP://localhost:21402/signin-oidc",
    "https://localhost:21402/signin-oidc",
    "http://localhost:21402/signin-oidc/",
    "http://localhost:21402/signin-oidc?x=1",
    "http://localhost:21402/signin-oidc?",
    "http://localhost:21402/signin",
    "http://localhost:21402/signin-oidc-2",
    "http://localhost:21402/other",
    "http://localhost:21403/signin-oidc",
    "http://localhost/signin-oidc",
    "http://localhost.:21402/signin-oidc",
    "https://app.example.com:8443/signin-oidc",
    "https://app.example.com:443/signin-oidc",
    "https://APP.example.com/signin-oidc",
    "https://app.example.com.evil.example.com/signin-oidc",
    "http://localhost:21402/signin-oidc#frag",
    "http://localhost:21402/signin-oidc#",
    "http://user@localhost:21402/signin-oidc",
    "http://user:pw@localhost:21402/signin-oidc",
    "http://localhost:21402@evil.example.com/signin-oidc",
    "http://localhost:21402/signin-oidc/../x",
    "http://localhost:21402/x/../signin-oidc",
    "http://localhost:21402/./signin-oidc",
    "http://localhost:21402//signin-oidc",
    "http://localhost:21402/signin%2Doidc",
    "http://localhost:21402/%73ignin-oidc",
    "http://localhost%3A21402/signin-oidc",
    " http://localhost:21402/signin-oidc",
    "http://localhost:21402/signin-oidc ",
    "http://localhost:21402/signin-oidc\\",
])
def test_redirect_uri_must_match_a_registered_one_exactly(signed_in, redirect_uri) -> None:
    response = authorize(signed_in, **authorize_params(Pkce.new(), redirect_uri=redirect_uri))
    assert_error_page(response, "redirect_uri")


@pytest.mark.parametrize("redirect_uri", [REDIRECT, WEB_REDIRECT])
def test_registered_redirect_uris_each_receive_the_code(signed_in, redirect_uri) -> None:
    response = authorize(signed_in, **authorize_params(Pkce.new(), redirect_uri=redirect_uri))
    assert_code_redirect(response, redirect_uri)


def native_params(redirect_uri: str, **overrides: str) -> dict[str, str]:
    overrides.setdefault("client_id", "native")
    return authorize_params(Pkce.new(), redirect_uri=redirect_uri, scope="openid profile",
                            **overrides)


@pytest.mark.parametrize("redirect_uri", [
    "http://127.0.0.1/cb",
    "http://127.0.0.1:51234/cb",
    "http://127.0.0.1:1/cb",
    "http://127.0.0.1:65535/cb",
])
def test_loopback_redirect_uri_matches_with_any_port(signed_in, redirect_uri) -> None:
    response = authorize(signed_in, **native_params(redirect_uri))
    assert_code_redirect(response, redirect_uri)


@pytest.mark.parametrize("redirect_uri", [
    "http://127.0.0.1:51234/cb2",
    "http://127.0.0.1:51234/c",
    "http://127.0.0.1:51234/CB",
    "http://127.0.0.1:51234/cb/",
    "http://127.0.0.1:51234/cb?x=1",
    "http://127.0.0.1:51234/cb#x",
    "http://127.0.0.1:51234/%63b",
    "http://127.0.0.1:51234/x/../cb",
    "http://localhost:51234/cb",
    "http://localhost/cb",
    "http://[::1]:51234/cb",
    "http://127.0.0.2:51234/cb",
    "https://127.0.0.1:51234/cb",
    "http://127.0.0.1.evil.example.com/cb",
    "http://127.0.0.1:51234.evil.example.com/cb",
    "http://127.0.0.1:51234@evil.example.com/cb",
    "http://user@127.0.0.1:51234/cb",
    "http://127.0.0.1@127.0.0.1:51234/cb",
    "http://127.0.0.1:51234@127.0.0.1/cb",
    "http://127.0.0.1:99999/cb",
    "http://127.0.0.1:port/cb",
    "http://127.0.0.1:+80/cb",
])
def test_loopback_redirect_uri_may_differ_only_in_port(signed_in, redirect_uri) -> None:
    response = authorize(signed_in, **native_params(redirect_uri))
    assert_error_page(response, "redirect_uri")


@pytest.mark.parametrize(("redirect_uri", "matches"), [
    ("http://[::1]/cb", True),
    ("http://[::1]:51234/cb", True),
    ("http://[::1]:51234/cb2", False),
    ("http://[::2]:51234/cb", False),
    ("http://127.0.0.1:51234/cb", False),
    ("http://[0:0:0:0:0:0:0:1]:51234/cb", False),
])
def test_ipv6_loopback_redirect_uri_may_differ_only_in_port(signed_in, redirect_uri,
                                                            matches) -> None:
    response = authorize(signed_in, **native_params(redirect_uri, client_id="native6"))
    if matches:
        assert_code_redirect(response, redirect_uri)
    else:
        assert_error_page(response, "redirect_uri")


# --- errors redirected to a trusted redirect URI ----------------------------------------------


@pytest.mark.parametrize(("overrides", "error"), [
    ({"response_type": None}, "invalid_request"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"response_type": "id_token"}, "unsupported_response_type"),
    ({"response_type": "code id_token"}, "unsupported_response_type"),
    ({"response_type": "CODE"}, "unsupported_response_type"),
    ({"scope": None}, "invalid_scope"),
    ({"scope": "openid phone"}, "invalid_scope"),  # a known scope the client may not have
    ({"scope": "openid api3"}, "invalid_scope"),  # an unknown scope
    ({"scope": "profile email"}, "invalid_scope"),  # identity scopes without openid
    ({"scope": "api1 profile"}, "invalid_scope"),
    ({"prompt": "bogus"}, "invalid_request"),
    ({"prompt": "login bogus"}, "invalid_request"),
    ({"prompt": "none login"}, "invalid_request"),
    ({"prompt": "none consent"}, "invalid_request"),
    ({"max_age": "-1"}, "invalid_request"),
    ({"max_age": "abc"}, "invalid_request"),
    ({"max_age": "1.5"}, "invalid_request"),
    ({"max_age": " 60"}, "invalid_request"),
    ({"max_age": "1" * 12}, "invalid_request"),
])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_bad_request_from_trusted_client_redirects_error_with_state_and_iss(
        signed_in, overrides, error, method) -> None:
    response = send(signed_in, method, **authorize_params(Pkce.new(), **overrides))
    assert_error_redirect(response, error)


@pytest.mark.parametrize(("overrides", "error"), [
    ({"request": "eyJhbGciOiJub25lIn0.e30."}, "invalid_request_object"),  # unsigned (alg none)
    ({"request": "not-a-jwt"}, "invalid_request_object"),
    ({"request_uri": "urn:ietf:params:oauth:request_uri:abc"}, "invalid_request_uri"),  # unknown
    ({"request_uri": "https://app.example.com/request.jwt"}, "request_uri_not_supported"),
])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_bad_request_object_or_request_uri_shows_error_page_and_never_redirects(
        signed_in, overrides, error, method) -> None:
    # The parameters come from these, so they are checked before the client is trusted
    # (RFC 9101 §6.2, RFC 9126 §4): nothing is sent to the redirect URI.
    response = send(signed_in, method, **authorize_params(Pkce.new(), **overrides))
    assert_error_page(response, error)


@pytest.mark.parametrize("max_age", ["²", "١٢", "１２"])
def test_max_age_of_non_ascii_digits_is_an_invalid_request(signed_in, max_age) -> None:
    response = authorize(signed_in, **authorize_params(Pkce.new(), max_age=max_age))
    assert_error_redirect(response, "invalid_request")


@pytest.mark.parametrize(("overrides", "error"), [
    ({"scope": None}, "invalid_scope"),
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"prompt": "bogus"}, "invalid_request"),
])
def test_bad_request_is_redirected_before_asking_the_user_to_sign_in(
        client, clients, overrides, error) -> None:
    assert_error_redirect(authorize(client, **authorize_params(Pkce.new(), **overrides)), error)


def test_offline_access_is_refused_for_client_without_allow_offline_access(
        client, seeded, alice) -> None:
    seeded(make_interactive_client(allow_offline_access=False))
    login(client)
    response = authorize(client, **authorize_params(Pkce.new(), scope="openid offline_access"))
    params = assert_error_redirect(response, "invalid_scope")
    assert "offline_access" in params["error_description"]
    granted = authorize(client, **authorize_params(Pkce.new(), scope="openid api1"))
    assert_code_redirect(granted)


def test_client_without_authorization_code_grant_is_unauthorized_client(signed_in) -> None:
    response = authorize(signed_in, **authorize_params(
        Pkce.new(), client_id="service.client", redirect_uri=SERVICE_REDIRECT, scope="api1"))
    assert_error_redirect(response, "unauthorized_client", SERVICE_REDIRECT)


@pytest.mark.parametrize("name", ["client_id", "redirect_uri", "state", "scope"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_repeated_parameter_shows_error_page_naming_it(signed_in, name, method) -> None:
    pairs = list(authorize_params(Pkce.new()).items())
    pairs.append((name, dict(pairs)[name]))
    body = urlencode(pairs)
    if method == "GET":
        response = signed_in.get("/connect/authorize?" + body)
    else:
        response = signed_in.post("/connect/authorize", body,
                                  content_type="application/x-www-form-urlencoded")
    assert_error_page(response, "invalid_request", "repeated", name)


def test_post_that_is_not_a_form_shows_error_page(signed_in) -> None:
    response = signed_in.post("/connect/authorize", authorize_params(Pkce.new()),
                              content_type="application/json")
    assert_error_page(response, "invalid_request")


@pytest.mark.parametrize("path", ["/connect/authorize", "/connect/endsession"])
def test_a_post_larger_than_django_reads_into_memory_is_an_error_page(signed_in, path) -> None:
    # Beyond DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) request.body raises; the endpoint reads its
    # own bounded body instead.
    body = urlencode(authorize_params(Pkce.new())) + "&padding=" + "x" * 3_000_000
    response = signed_in.post(path, body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert b"too large" in response.content


@pytest.mark.parametrize("method", ["put", "delete", "patch"])
def test_other_methods_are_not_allowed(signed_in, method) -> None:
    response = getattr(signed_in, method)("/connect/authorize?" +
                                          urlencode(authorize_params(Pkce.new())))
    assert response.status_code == 405
    assert not response.has_header("Location")


# --- PKCE --------------------------------------------------------------------------------------


def test_pkce_s256_is_required_by_default(signed_in) -> None:
    response = authorize(signed_in, **authorize_params(None))
    params = assert_error_redirect(response, "invalid_request")
    assert "code_challenge" in params["error_description"]


def test_code_challenge_method_without_challenge_is_refused(signed_in) -> None:
    response = authorize(signed_in, **authorize_params(None, code_challenge_method="S256"))
    assert_error_redirect(response, "invalid_request")


@pytest.mark.parametrize("method", ["plain", None, "S512", "s256"])
def test_challenge_method_other_than_s256_is_refused_by_default(signed_in, method) -> None:
    pkce = Pkce.new()
    response = authorize(signed_in, **authorize_params(
        None, code_challenge=pkce.verifier, code_challenge_method=method))
    params = assert_error_redirect(response, "invalid_request")
    assert "code_challenge_method" in params["error_description"]


@pytest.mark.parametrize("method", ["plain", None])
def test_plain_pkce_is_accepted_when_the_client_allows_it(client, seeded, alice, method) -> None:
    seeded(make_interactive_client(allow_plain_text_pkce=True))
    login(client)
    pkce = Pkce.new()
    plain = Pkce(pkce.verifier, pkce.verifier)
    response = authorize(client, **authorize_params(
        None, code_challenge=plain.challenge, code_challenge_method=method))
    code = assert_code_redirect(response)["code"]
    assert exchange(client, code, plain).status_code == 200


@pytest.mark.parametrize("challenge", [
    "a" * 42,
    "a" * 129,
    "a" * 42 + "+",
    "a" * 42 + "/",
    "a" * 42 + "=",
    "a" * 42 + " ",
    "a" * 42 + "é",
    "a" * 42 + "%",
])
def test_code_challenge_length_and_characters_are_checked(signed_in, challenge) -> None:
    response = authorize(signed_in, **authorize_params(
        None, code_challenge=challenge, code_challenge_method="S256"))
    params = assert_error_redirect(response, "invalid_request")
    assert "code_challenge" in params["error_description"]


@pytest.mark.parametrize("challenge", ["a" * 43, "a" * 128, "AZaz09-._~" * 5])
def test_code_challenge_of_43_to_128_unreserved_characters_is_accepted(
        signed_in, challenge) -> None:
    response = authorize(signed_in, **authorize_params(
        None, code_challenge=challenge, code_challenge_method="S256"))
    assert_code_redirect(response)


def test_confidential_client_with_require_pkce_false_may_omit_the_challenge(
        client, seeded, alice) -> None:
    seeded(make_interactive_client(require_pkce=False))
    login(client)
    code = assert_code_redirect(authorize(client, **authorize_params(None)))["code"]
    assert exchange(client, code, None).status_code == 200


def test_public_client_must_send_a_code_challenge(signed_in) -> None:
    params = native_params("http://127.0.0.1:5000/cb")
    del params["code_challenge"], params["code_challenge_method"]
    assert_error_redirect(authorize(signed_in, **params), "invalid_request",
                          "http://127.0.0.1:5000/cb")


def test_public_client_needs_pkce_even_if_configured_not_to_require_it() -> None:
    # The configuration rules refuse this client; the protocol refuses it too if one gets in.
    public = make_interactive_client(require_client_secret=False, client_secrets=(),
                                     require_pkce=False)
    with pytest.raises(InvalidRequest):
        pkce_rules.validate_challenge(public, None, None)


# --- sign-in: prompt, max_age, SSO lifetime ---------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_without_session_the_user_is_sent_to_login_with_the_authorize_url_as_next(
        client, clients, method) -> None:
    params = authorize_params(Pkce.new(), login_hint="alice")
    next_url = login_redirect_next(send(client, method, **params))
    assert urlsplit(next_url).path == "/connect/authorize"
    assert not urlsplit(next_url).netloc
    back = query_of(next_url)
    assert back.pop("sign_in_ticket")  # names the sign-in asked for (tests/interaction)
    assert back == params


def test_login_then_return_to_next_issues_code(client, clients, alice) -> None:
    pkce = Pkce.new()
    next_url = login_redirect_next(authorize(client, **authorize_params(pkce)))
    response = login_with_form(client, next_url)
    assert response.status_code in (302, 303) and response["Location"] == next_url
    code = assert_code_redirect(client.get(next_url))["code"]
    assert exchange(client, code, pkce).status_code == 200


def test_prompt_none_without_session_redirects_login_required(client, clients) -> None:
    response = authorize(client, **authorize_params(Pkce.new(), prompt="none"))
    assert_error_redirect(response, "login_required")


def test_prompt_none_with_session_issues_code_silently(signed_in) -> None:
    assert_code_redirect(authorize(signed_in, **authorize_params(Pkce.new(), prompt="none")))


def test_prompt_none_without_consent_redirects_consent_required(client, seeded, alice) -> None:
    seeded(make_interactive_client(require_consent=True))
    login(client)
    response = authorize(client, **authorize_params(Pkce.new(), prompt="none"))
    assert_error_redirect(response, "consent_required")


def test_prompt_none_with_expired_session_redirects_login_required(signed_in) -> None:
    age_session(signed_in, 1000)
    response = authorize(signed_in, **authorize_params(Pkce.new(), prompt="none", max_age="60"))
    assert_error_redirect(response, "login_required")


@pytest.mark.parametrize("prompt", ["login", "select_account"])
def test_prompt_login_with_session_sends_to_login_and_completes_after_signing_in_again(
        signed_in, prompt) -> None:
    age_session(signed_in, 1000)
    before = int(time.time())
    pkce = Pkce.new()
    params = authorize_params(pkce, prompt=prompt)
    next_url = login_redirect_next(authorize(signed_in, **params))
    # prompt stays: the ticket, not a shorter URL, tells that the sign-in was made for it.
    assert query_of(next_url) == {**params, "sign_in_ticket": query_of(next_url)["sign_in_ticket"]}
    login_redirect_next(signed_in.get(next_url))  # not without signing in
    assert login_with_form(signed_in, next_url)["Location"] == next_url
    code = assert_code_redirect(signed_in.get(next_url))["code"]
    body = exchange(signed_in, code, pkce).json()
    claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert claims["auth_time"] >= before  # the fresh sign-in, not the old session


def test_prompt_login_keeps_every_prompt_on_the_way_back(signed_in) -> None:
    next_url = login_redirect_next(authorize(signed_in, **authorize_params(
        Pkce.new(), prompt="login consent")))
    assert query_of(next_url)["prompt"] == "login consent"


def test_max_age_zero_with_old_session_sends_to_login(signed_in) -> None:
    age_session(signed_in, 1000)
    login_redirect_next(authorize(signed_in, **authorize_params(Pkce.new(), max_age="0")))


def test_max_age_exceeded_sends_to_login_and_completes_after_signing_in(signed_in) -> None:
    age_session(signed_in, 1000)
    params = authorize_params(Pkce.new(), max_age="600")
    next_url = login_redirect_next(authorize(signed_in, **params))
    assert query_of(next_url)["max_age"] == "600"  # kept: the ticket says it was signed in for
    login_redirect_next(signed_in.get(next_url))
    login_with_form(signed_in, next_url)
    assert_code_redirect(signed_in.get(next_url))


def test_max_age_not_exceeded_issues_code_with_auth_time(signed_in) -> None:
    age_session(signed_in, 1000)
    pkce = Pkce.new()
    code = assert_code_redirect(authorize(signed_in, **authorize_params(
        pkce, max_age="3600")))["code"]
    claims = jwt.decode(exchange(signed_in, code, pkce).json()["id_token"],
                        options={"verify_signature": False})
    assert int(time.time()) - 1010 <= claims["auth_time"] <= int(time.time()) - 990


def test_max_age_zero_completes_after_signing_in_even_when_a_second_passes(
        signed_in, monkeypatch) -> None:
    # OIDC Core §3.1.2.1: max_age=0 is equivalent to prompt=login, which asks only once.
    age_session(signed_in, 1000)
    next_url = login_redirect_next(authorize(signed_in, **authorize_params(
        Pkce.new(), max_age="0")))
    login_with_form(signed_in, next_url)
    real = time.time  # the clock ticked between the login POST and the redirect
    monkeypatch.setattr(time, "time", lambda: real() + 1)
    assert_code_redirect(signed_in.get(next_url))


def test_user_sso_lifetime_exceeded_sends_to_login(client, seeded, alice) -> None:
    seeded(make_interactive_client(user_sso_lifetime=600))
    login(client)
    assert_code_redirect(authorize(client, **authorize_params(Pkce.new())))
    age_session(client, 1000)
    next_url = login_redirect_next(authorize(client, **authorize_params(Pkce.new())))
    login_with_form(client, next_url)
    assert_code_redirect(client.get(next_url))


def test_user_sso_lifetime_exceeded_with_prompt_none_is_login_required(
        client, seeded, alice) -> None:
    seeded(make_interactive_client(user_sso_lifetime=600))
    login(client)
    age_session(client, 1000)
    response = authorize(client, **authorize_params(Pkce.new(), prompt="none"))
    assert_error_redirect(response, "login_required")


def test_login_redirect_target_is_the_configured_login_page(client, clients) -> None:
    response = authorize(client, **authorize_params(Pkce.new()))
    assert response.status_code == 302
    assert response["Location"].startswith("/account/login?next=%2Fconnect%2Fauthorize%3F")
    assert "no-store" in response["Cache-Control"]


# --- parameters the server ignores or merely accepts ------------------------------------------


def test_unknown_parameters_are_ignored(signed_in) -> None:
    response = authorize(signed_in, **authorize_params(
        Pkce.new(), foo="bar", claims_locales="de", acr_values="urn:x", audience="api1"))
    params = assert_code_redirect(response)
    assert "foo" not in params


@pytest.mark.parametrize("extra", [
    {"login_hint": "alice@example.com"},
    {"ui_locales": "fr-CA fr en"},
    {"display": "popup"},
    {"display": "page", "ui_locales": "de", "login_hint": "alice"},
])
def test_login_hint_ui_locales_and_display_are_accepted(signed_in, extra) -> None:
    assert_code_redirect(authorize(signed_in, **authorize_params(Pkce.new(), **extra)))


def test_empty_parameters_count_as_absent(signed_in) -> None:
    response = authorize(signed_in, **authorize_params(Pkce.new(), prompt="", max_age="",
                                                       response_mode=""))
    assert_code_redirect(response)
