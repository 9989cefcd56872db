"""Random and forged bearer tokens at the userinfo endpoint.

Spec: OpenID Connect Core §5.3; RFC 6750 §2.1-2.2 (header or form body, one at a time) and §3
(401 invalid_token / 403 insufficient_scope with a Bearer challenge); RFC 9068 §4 and RFC 7515
§4.1.11 (what makes a JWT access token invalid).
"""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz.strategies import (
    Genuine,
    JwtSpec,
    authorization_headers,
    bodies,
    content_types,
    extra_headers,
    form,
    fuzz_settings,
    header_text,
    token_specs,
)

pytestmark = pytest.mark.django_db

BEARER_FORMS = ("Bearer {}", "Bearer {}", "bearer {}", "BEARER {}", "Bearer  {}", "Bearer\t{}",
                "Bearer {} ", "Bearer {} extra", "Bearer {},", "Bearer \"{}\"", "Bearer={}",
                "Token {}", "Basic {}", "Bearer {}\tx", "{}", "Bearer")


def header_safe_token(token: str) -> bool:
    """Whether a token can travel in a header as gunicorn accepts it (RFC 9110 §5.5)."""
    return all(c == "\t" or 0x20 <= ord(c) <= 0xff and ord(c) != 0x7f for c in token)


@fuzz_settings(250)
@given(request=bodies(("access_token", "token", "client_id", "scope")),
       authorization=st.one_of(st.none(), authorization_headers,
                               st.builds(lambda f, t: f.format(t), st.sampled_from(BEARER_FORMS),
                                         header_text)),
       content_type=st.one_of(st.just("application/x-www-form-urlencoded"), content_types),
       method=st.sampled_from(("GET", "GET", "POST", "POST", "PUT", "DELETE", "OPTIONS", "HEAD")),
       headers=extra_headers, in_query=st.booleans())
def test_userinfo_answers_rfc6750_errors(fuzz, world, request, authorization, content_type, method,
                                         headers, in_query) -> None:
    fuzz.begin()
    _, body = request
    if authorization is not None:
        headers = {**headers, "Authorization": authorization}
    response = fuzz.send("userinfo", method, query=body if in_query else b"",
                         body=b"" if in_query else body, content_type=content_type,
                         headers=headers)
    assert fuzz.check_userinfo(response) is None, response.content  # no token was ever issued


@fuzz_settings(600)
@example(spec=JwtSpec(signer="attacker-rsa", tamper="non-ascii-payload"), how="Bearer {}",
         method="GET")
@example(spec=JwtSpec(signer="none", tamper="nested-header", position=1), how="Bearer {}",
         method="GET")
@given(spec=token_specs, how=st.sampled_from(BEARER_FORMS[:9] + ("body", "body", "both",
                                                                 "query")),
       method=st.sampled_from(("GET", "POST")))
def test_userinfo_never_accepts_a_forged_token(fuzz, jwt_ctx, spec, how, method) -> None:
    fuzz.begin()
    token = spec.build(jwt_ctx)
    if how not in ("body", "both", "query") and not header_safe_token(token):
        how = "body"  # what cannot travel in a header goes in the form body
    headers, body, query = {}, b"", b""
    if how in ("body", "both"):
        method, body = "POST", form({"access_token": token})
    elif how == "query":  # RFC 6750 §2.3 is optional; this server ignores the query
        query = form({"access_token": token})
    if how not in ("body", "query"):
        headers["Authorization"] = (how if how != "both" else "Bearer {}").format(token)
    response = fuzz.send("userinfo", method, query=query, body=body, headers=headers,
                         content_type="application/x-www-form-urlencoded" if body else None)
    claims = fuzz.check_userinfo(response)
    reasons = spec.refusal_reasons(jwt_ctx, "access_token")
    if reasons or how in ("both", "query", "Bearer {},", "Bearer \"{}\""):
        assert claims is None, (reasons, response.content)
    if how == "both" and token:  # RFC 6750 §2: one method per request (empty: not sent)
        assert response.status_code == 400, response.content
    honest = how in ("Bearer {}", "bearer {}", "BEARER {}", "Bearer  {}", "Bearer {} ", "body")
    if isinstance(spec, Genuine) and not reasons and honest:
        assert claims is not None and claims["sub"] == jwt_ctx.subject, response.content


def test_the_genuine_token_is_accepted_so_that_refusals_mean_something(fuzz, jwt_ctx) -> None:
    fuzz.begin()
    response = fuzz.send("userinfo", headers={
        "Authorization": "Bearer " + jwt_ctx.genuine["access_token"]})
    claims = fuzz.check_userinfo(response)
    assert claims is not None and claims["sub"] == jwt_ctx.subject, response.content
