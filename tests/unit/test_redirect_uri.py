"""identity.validation.redirect_uri: exact matching, loopback ports free (RFC 9700 §4.1.3,
RFC 8252 §7.3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity.validation.redirect_uri import redirect_uri_matches
from tests.unit.support import PROPERTY

WEB = "https://app.example.com/signin-oidc"
LOOPBACK_V4 = "http://127.0.0.1/callback"
LOOPBACK_V6 = "http://[::1]/callback"


def test_exact_match() -> None:
    assert redirect_uri_matches(WEB, [WEB])
    assert redirect_uri_matches(WEB, ["https://other.example.com/cb", WEB])


def test_nothing_registered_matches_nothing() -> None:
    assert not redirect_uri_matches(WEB, [])
    assert not redirect_uri_matches(LOOPBACK_V4, [])


@pytest.mark.parametrize("requested", [
    "https://app.example.com/signin-oidc/",        # trailing slash
    "https://app.example.com/signin-oidc?",        # empty query
    "https://app.example.com/signin-oidc#",        # empty fragment
    "https://app.example.com/signin-oidc?x=1",
    "https://app.example.com/Signin-oidc",         # path case
    "https://APP.example.com/signin-oidc",         # no normalisation: strings compared
    "HTTPS://app.example.com/signin-oidc",
    "https://app.example.com:443/signin-oidc",     # not even the default port
    "https://app.example.com/signin%2Doidc",       # no percent-decoding
    "https://app.example.com/signin-oidc/../signin-oidc",
    "https://app.example.com/sign\tin-oidc",       # urlsplit would drop the tab
    "http://app.example.com/signin-oidc",
    "https://app.example.com.evil.example/signin-oidc",
    "https://app.example.com/signin-oidc ",
    "https://app.example.com/signin-oid",
    "",
])
def test_anything_but_the_same_string_does_not_match(requested: str) -> None:
    assert not redirect_uri_matches(requested, [WEB])


@pytest.mark.parametrize(("requested", "registered"), [
    ("http://127.0.0.1:51004/callback", LOOPBACK_V4),
    ("http://127.0.0.1:1/callback", LOOPBACK_V4),
    ("http://127.0.0.1:65535/callback", LOOPBACK_V4),
    ("http://127.0.0.1:0/callback", LOOPBACK_V4),
    ("http://127.0.0.1:/callback", LOOPBACK_V4),   # an empty port is the default one
    ("http://127.0.0.1/callback", "http://127.0.0.1:8080/callback"),  # registered port ignored
    ("http://127.0.0.1:9000/callback", "http://127.0.0.1:8080/callback"),
    ("http://[::1]:51004/callback", LOOPBACK_V6),
    ("http://[::1]/callback", "http://[::1]:8080/callback"),
    ("http://127.0.0.1:5000/callback?x=1", "http://127.0.0.1/callback?x=1"),
    ("http://127.0.0.1:5000", "http://127.0.0.1"),
    ("http://127.0.0.1:5000/", "http://127.0.0.1/"),
])
def test_loopback_http_matches_on_any_port(requested: str, registered: str) -> None:
    # RFC 8252 §7.3: the server MUST allow any port for loopback IP redirect URIs.
    assert redirect_uri_matches(requested, [registered])


@pytest.mark.parametrize(("requested", "registered"), [
    ("http://127.0.0.1:5000/callback/", LOOPBACK_V4),             # path differs
    ("http://127.0.0.1:5000/Callback", LOOPBACK_V4),
    ("http://127.0.0.1:5000/callback?", LOOPBACK_V4),             # empty query kept
    ("http://127.0.0.1:5000/callback#", LOOPBACK_V4),
    ("http://127.0.0.1:5000/callback?x=2", "http://127.0.0.1/callback?x=1"),
    ("http://127.0.0.1:5000/", "http://127.0.0.1"),
    ("http://127.0.0.1:5000", "http://127.0.0.1/"),
    ("http://[::1]:5000/callback", LOOPBACK_V4),                  # other address family
    ("http://127.0.0.1:5000/callback", LOOPBACK_V6),
    ("http://127.0.0.2:5000/callback", "http://127.0.0.2/callback"),  # only 127.0.0.1
    ("http://localhost:5000/callback", "http://localhost/callback"),  # names: exact (§8.3)
    ("https://127.0.0.1:5000/callback", "https://127.0.0.1/callback"),  # http only
    ("http://127.0.0.1:65536/callback", LOOPBACK_V4),             # not a port
    ("http://127.0.0.1:99999/callback", LOOPBACK_V4),
    ("http://127.0.0.1:000080/callback", LOOPBACK_V4),            # six digits
    ("http://127.0.0.1:80:81/callback", LOOPBACK_V4),
    ("http://127.0.0.1:8o/callback", LOOPBACK_V4),
    ("http://127.0.0.1:٣٠٠٠/callback", LOOPBACK_V4),            # Arabic-Indic digits
    ("http://127.0.0.1.evil.example/callback", LOOPBACK_V4),      # another host
    ("http://127.0.0.1.evil.example:80/callback", LOOPBACK_V4),
    ("http://127.0.0.1:80@evil.example/callback", LOOPBACK_V4),   # user info, evil host
    ("http://127.0.0.1@evil.example/callback", LOOPBACK_V4),
    ("http://127.0.0.1%2eevil.example/callback", LOOPBACK_V4),
    ("http://127.0.0.1:5000\\@evil.example/callback", LOOPBACK_V4),
    ("HTTP://127.0.0.1:5000/callback", LOOPBACK_V4),
    # Registrations that only start like a loopback URI (the configuration rules refuse them):
    # what follows a port must not turn it into another host or user info.
    ("http://127.0.0.1:8080.evil.example/callback", "http://127.0.0.1.evil.example/callback"),
    ("http://127.0.0.1:8080@evil.example/callback", "http://127.0.0.1@evil.example/callback"),
    ("http://127.0.0.1.evil.example:8080/callback", "http://127.0.0.1.evil.example/callback"),
])
def test_loopback_relaxation_stops_at_the_port(requested: str, registered: str) -> None:
    assert not redirect_uri_matches(requested, [registered])


def test_registered_value_may_be_any_iterable_read_once() -> None:
    # A generator is consumed by the exact check; the loopback check must still see every URI.
    registered = (uri for uri in [WEB, LOOPBACK_V4])
    assert redirect_uri_matches("http://127.0.0.1:4000/callback", registered)


def test_loopback_request_does_not_match_a_web_registration() -> None:
    assert not redirect_uri_matches("http://127.0.0.1:4000/signin-oidc", [WEB])


@PROPERTY
@given(st.integers(0, 65535), st.sampled_from(["127.0.0.1", "[::1]"]))
def test_every_port_of_a_loopback_registration_matches(port: int, host: str) -> None:
    assert redirect_uri_matches(f"http://{host}:{port}/cb", [f"http://{host}/cb"])
    assert not redirect_uri_matches(f"http://{host}:{port}/cb/", [f"http://{host}/cb"])


@PROPERTY
@given(st.integers(65536, 10**6))
def test_no_number_above_65535_is_a_port(port: int) -> None:
    assert not redirect_uri_matches(f"http://127.0.0.1:{port}/cb", ["http://127.0.0.1/cb"])


@PROPERTY
@given(st.text(max_size=60))
def test_web_registration_matches_only_itself(requested: str) -> None:
    assert redirect_uri_matches(requested, [WEB]) is (requested == WEB)
