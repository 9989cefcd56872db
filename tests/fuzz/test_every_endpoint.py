"""Random requests to every endpoint with every method: the answers each RFC allows, no 5xx,
no hang; plus the metadata endpoints (discovery, JWKS) and their CORS answers.

Spec: RFC 6749 §5.2, RFC 6750 §3, RFC 7009 §2.2, RFC 7662 §2.3, RFC 8414 §3, OpenID Connect
Discovery 1.0 §4, RFC 7517 §5 (a JWKS publishes public members only), RFC 9110 §15.5.6 (405).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.strategies import (
    CONTENT_TYPES,
    HTTP_METHODS,
    ORIGINS,
    authorization_headers,
    bodies,
    content_types,
    extra_headers,
    fuzz_settings,
    header_text,
)
from tests.fuzz.world import PATHS

pytestmark = pytest.mark.django_db

EVERY_NAME = ("grant_type", "client_id", "client_secret", "redirect_uri", "response_type",
              "scope", "state", "code", "code_verifier", "code_challenge", "refresh_token",
              "token", "token_type_hint", "access_token", "id_token_hint",
              "post_logout_redirect_uri", "return", "decision", "next", "username", "password",
              "response_mode", "prompt", "confirm_logout", "csrfmiddlewaretoken")


def check(fuzz, endpoint: str, response) -> None:
    if endpoint == "token":
        fuzz.check_token(response)
    elif endpoint == "introspect":
        assert fuzz.check_introspection(response) in (None, {"active": False})
    elif endpoint == "revocation":
        fuzz.check_revocation(response)
    elif endpoint == "userinfo":
        assert fuzz.check_userinfo(response) is None  # no token was issued
    elif endpoint in ("discovery", "oauth-metadata", "jwks"):
        fuzz.check_metadata(response)
    elif endpoint == "authorize":
        fuzz.check_authorize(response)
    elif endpoint == "endsession":
        fuzz.check_end_session(response, expect=None, session_clients=("interactive",))
    elif endpoint == "consent":
        fuzz.check_consent(response)
    elif endpoint == "login":
        fuzz.check_login(response)
    else:
        fuzz.check_grants(response)


@fuzz_settings(500)
@given(endpoint=st.sampled_from(tuple(PATHS)), method=st.sampled_from(HTTP_METHODS),
       request=bodies(EVERY_NAME), where=st.sampled_from(("query", "body", "both")),
       content_type=st.one_of(st.sampled_from(CONTENT_TYPES[:3]), content_types),
       headers=extra_headers,
       authorization=st.one_of(st.none(), authorization_headers,
                               header_text.map(lambda t: "Bearer " + t)),
       signed_in=st.booleans())
def test_every_endpoint_answers_within_its_rfc(fuzz, world, endpoint, method, request, where,
                                               content_type, headers, authorization,
                                               signed_in) -> None:
    fuzz.begin()
    _, raw = request
    if authorization is not None:
        headers = {**headers, "Authorization": authorization}
    browser = fuzz.signed_in(world, clients=("interactive",)) if signed_in else fuzz.browser()
    response = fuzz.send(endpoint, method, query=raw if where != "body" else b"",
                         body=raw if where != "query" else b"", content_type=content_type,
                         headers=headers, client=browser)
    check(fuzz, endpoint, response)


@fuzz_settings(200)
@given(endpoint=st.sampled_from(("discovery", "oauth-metadata", "jwks")),
       method=st.sampled_from(("GET", "GET", "HEAD", "OPTIONS") + HTTP_METHODS),
       origin=st.one_of(st.none(), st.sampled_from(ORIGINS), header_text),
       preflight=st.sampled_from((None, "GET", "POST", "DELETE", "")),
       request=bodies(("callback", "format", "kid")), headers=extra_headers)
def test_metadata_endpoints(fuzz, world, endpoint, method, origin, preflight, request,
                            headers) -> None:
    """GET and HEAD answer, preflights are 204, other methods 405; a JWKS never shows a private
    member; CORS headers only for an origin an enabled client allows."""
    fuzz.begin()
    _, raw = request
    headers = dict(headers)
    if origin is not None:
        headers["Origin"] = origin
    if preflight is not None:
        headers["Access-Control-Request-Method"] = preflight
    response = fuzz.send(endpoint, method, query=raw, headers=headers)
    fuzz.check_metadata(response)
    if response.sent.host_refused:
        return
    allowed = response.sent.headers.get("Origin") == "https://app.example.com"
    assert (response.get("Access-Control-Allow-Origin") is not None) == allowed, response


def test_as_many_query_fields_as_a_request_line_holds_are_no_500(world) -> None:
    """GET /.well-known/openid-configuration?a&a&... with `Content-Type: text/plain;
    charset=utf-8`: Django 5.2's WSGIRequest parses the query while setting the encoding and
    raises TooManyFieldsSent outside the handler's error handling (gunicorn answers 500). The
    project's DATA_UPLOAD_MAX_NUMBER_FIELDS sits above what gunicorn's 4,094-byte request line
    can carry, 2,047 fields."""
    from django.test import Client

    response = Client().generic("GET", PATHS["discovery"], QUERY_STRING="a&" * 2047,
                                CONTENT_TYPE="text/plain; charset=utf-8")
    assert response.status_code == 200
