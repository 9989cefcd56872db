"""Random and malicious requests to the token, introspection and revocation endpoints.

Spec: RFC 6749 §2.3.1, §3.2, §5.2 and Appendix B; RFC 7009 §2.1-2.2.1; RFC 7662 §2.1-2.3;
RFC 6585 §4 (429). Whatever arrives, the answer is the RFC's JSON in the right status, fast.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qsl, unquote_plus

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz.strategies import (
    BAD_ESCAPES,
    CONTENT_TYPES,
    GENUINE_CREDENTIALS,
    JwtSpec,
    authorization_headers,
    bodies,
    content_types,
    extra_headers,
    form,
    fuzz_settings,
    token_specs,
)
from tests.helpers.basic_auth import basic

pytestmark = pytest.mark.django_db

TOKEN_NAMES = ("grant_type", "scope", "code", "redirect_uri", "code_verifier", "refresh_token",
               "client_id", "client_secret", "client_assertion", "client_assertion_type",
               "username", "password", "audience", "resource", "device_code", "subject_token")
GRANT_TYPES = ("client_credentials", "authorization_code", "refresh_token", "password",
               "implicit", "urn:ietf:params:oauth:grant-type:jwt-bearer",
               "urn:ietf:params:oauth:grant-type:device_code",
               "urn:ietf:params:oauth:grant-type:token-exchange", "CLIENT_CREDENTIALS",
               "client_credentials ", "")
TOKEN_VALUES = {
    "grant_type": st.sampled_from(GRANT_TYPES),
    "client_id": st.sampled_from(("service.client", "interactive", "api1", "native", "unknown")),
    "client_secret": st.sampled_from(("secret", "wrong", "api-secret", "")),
    "scope": st.sampled_from(("api1", "api1 api2.read_only", "openid", "offline_access",
                              "api1 api1", "api1\napi2.read_only", "unknown")),
    "client_assertion_type": st.just("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
}
INTROSPECTION_NAMES = ("token", "token_type_hint", "client_id", "client_secret")
HINTS = st.sampled_from(("access_token", "refresh_token", "id_token", "urn:x", ""))
# Values the Content-Length header may take here: the test client's input cannot be read past its
# end, so a declared length is either shorter than the body, unusable, or over the limit.
CONTENT_LENGTHS = st.sampled_from((None, None, None, "abc", "-1", "0", "1e3", "16385",
                                   "99999999999999999999", "half"))


def _content_length(choice: str | None, body: bytes) -> str | None:
    return str(len(body) // 2) if choice == "half" else choice


def refused_by_the_form_rules(value: str, limit: int, body: bytes) -> bool:
    """Whether the documented form rules refuse (or drop) a value: empty, NUL, longer than its
    limit, or a body past MAX_REQUEST_BODY (16 KiB) once encoded."""
    return value == "" or "\x00" in value or len(value) > limit or len(body) > 16384


def genuine_secret_sent(sent, client_id: str, secret: str) -> bool:
    """Whether the request carried `client_id`'s real secret, in the header or in the body."""
    scheme, _, value = sent.authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            decoded = ""
        name, _, password = decoded.partition(":")
        if (unquote_plus(name), unquote_plus(password)) == (client_id, secret):
            return True
    try:
        pairs = dict(parse_qsl(sent.body.decode("utf-8")))
    except (UnicodeDecodeError, ValueError):
        return False
    return pairs.get("client_id") == client_id and pairs.get("client_secret") == secret


@fuzz_settings(400)
@given(request=bodies(TOKEN_NAMES, TOKEN_VALUES),
       authorization=st.one_of(st.none(), authorization_headers),
       content_type=st.one_of(st.sampled_from(CONTENT_TYPES[:3]), content_types),
       headers=extra_headers, method=st.sampled_from(("POST",) * 8 + ("GET", "PUT", "OPTIONS")),
       content_length=CONTENT_LENGTHS)
@example(request=([], form({"grant_type": "client_credentials"})),
         authorization=basic("inter%00active", "secret", form_encode=False),
         content_type="application/x-www-form-urlencoded", headers={}, method="POST",
         content_length=None)
def test_token_endpoint(fuzz, world, request, authorization, content_type, headers, method,
                        content_length) -> None:
    fuzz.begin()
    _, body = request
    if authorization is not None:
        headers = {**headers, "Authorization": authorization}
    response = fuzz.send("token", method, body=body, content_type=content_type, headers=headers,
                         content_length=_content_length(content_length, body))
    issued = fuzz.check_token(response)
    if issued is not None:
        # Only client credentials can succeed here (codes and refresh tokens are random), and
        # only for the client whose real secret was sent.
        assert dict(parse_qsl(body.decode("utf-8", "replace"))).get("grant_type") == \
            "client_credentials", response.content
        assert genuine_secret_sent(response.sent, "service.client", "secret"), response.sent


@fuzz_settings(150)
@given(spec=token_specs,
       field=st.sampled_from(("code", "refresh_token", "client_assertion", "code_verifier",
                              "client_secret")),
       auth=st.sampled_from(("basic", "basic", "assertion-only")))
def test_forged_tokens_never_buy_tokens(fuzz, jwt_ctx, spec, field, auth) -> None:
    """Random JSON and forged JWTs in every token-shaped field of a token request."""
    fuzz.begin()
    grant = {"code": "authorization_code", "refresh_token": "refresh_token"}.get(field,
                                                                                "authorization_code")
    data = {"grant_type": grant, "redirect_uri": "http://localhost:21402/signin-oidc",
            field: spec.build(jwt_ctx)}
    headers = {}
    if auth == "basic" and field != "client_secret":
        headers["Authorization"] = basic("interactive", "secret")
    else:  # a forged client assertion (private_key_jwt) or secret never authenticates
        data.update(client_id="interactive",
                    client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        data.setdefault("client_assertion", spec.build(jwt_ctx))
    response = fuzz.send("token", "POST", body=form(data),
                         content_type="application/x-www-form-urlencoded", headers=headers)
    issued = fuzz.check_token(response)
    if spec.refusal_reasons(jwt_ctx, field) or auth != "basic" or field != "refresh_token":
        assert issued is None, response.content


@fuzz_settings(250)
@given(request=bodies(INTROSPECTION_NAMES, {"token_type_hint": HINTS}),
       authorization=st.one_of(st.none(), authorization_headers,
                               st.just(basic("api1", "api-secret"))),
       content_type=st.one_of(st.sampled_from(CONTENT_TYPES[:3]), content_types),
       headers=extra_headers, method=st.sampled_from(("POST",) * 8 + ("GET", "PUT", "OPTIONS")),
       content_length=CONTENT_LENGTHS)
def test_introspection_endpoint(fuzz, world, request, authorization, content_type, headers,
                                method, content_length) -> None:
    fuzz.begin()
    _, body = request
    if authorization is not None:
        headers = {**headers, "Authorization": authorization}
    response = fuzz.send("introspect", method, body=body, content_type=content_type,
                         headers=headers, content_length=_content_length(content_length, body))
    answer = fuzz.check_introspection(response)
    assert answer is None or answer == {"active": False}, response.content  # nothing was issued


@fuzz_settings(250)
@example(request=([], form({"token": "x", "client_secret": " "})),
         authorization=basic("service.client", "secret"),
         content_type="application/x-www-form-urlencoded", headers={}, method="POST",
         content_length=None)
@given(request=bodies(INTROSPECTION_NAMES, {"token_type_hint": HINTS}),
       authorization=st.one_of(st.none(), authorization_headers,
                               st.sampled_from(GENUINE_CREDENTIALS).map(lambda c: basic(*c))),
       content_type=st.one_of(st.sampled_from(CONTENT_TYPES[:3]), content_types),
       headers=extra_headers, method=st.sampled_from(("POST",) * 8 + ("GET", "PUT", "OPTIONS")),
       content_length=CONTENT_LENGTHS)
def test_revocation_endpoint(fuzz, world, request, authorization, content_type, headers, method,
                             content_length) -> None:
    fuzz.begin()
    _, body = request
    if authorization is not None:
        headers = {**headers, "Authorization": authorization}
    response = fuzz.send("revocation", method, body=body, content_type=content_type,
                         headers=headers, content_length=_content_length(content_length, body))
    fuzz.check_revocation(response)


@fuzz_settings(30)
@given(failures=st.integers(1, 14), address=st.sampled_from(("127.0.0.1", "10.0.0.7", "::1")),
       client_id=st.sampled_from(("service.client", "unknown.client", "inter%ZZactive")),
       bad=st.lists(st.sampled_from(("wrong", "secret ", "%ff", "x" * 100) + BAD_ESCAPES),
                    min_size=14, max_size=14),
       in_body=st.booleans())
def test_failed_authentications_are_throttled_per_client_and_address(
        fuzz, world, failures, address, client_id, bad, in_body) -> None:
    """After AUTH_FAILURE_LIMIT failures, 429 with Retry-After, even with the right secret; the
    same client from another address is unaffected."""
    from identity.conf import identity_settings

    fuzz.begin()
    limit = identity_settings.AUTH_FAILURE_LIMIT

    def attempt(secret: str, remote: str):
        data = {"grant_type": "client_credentials"}
        headers = {}
        if in_body:
            data.update(client_id=client_id, client_secret=secret)
        else:
            headers["Authorization"] = basic(client_id, secret)
        response = fuzz.send("token", "POST", body=form(data), headers=headers,
                             content_type="application/x-www-form-urlencoded", remote_addr=remote)
        fuzz.check_token(response)
        return response

    for i in range(failures):
        response = attempt(bad[i], address)
        assert response.status_code == (429 if i >= limit else 401), response.content
    right = attempt("secret", address)
    if failures >= limit:
        assert right.status_code == 429 and right["Retry-After"].isdigit(), right.content
    elif client_id == "service.client":
        assert right.status_code == 200, right.content
    elsewhere = attempt("secret", "192.0.2.1")
    assert elsewhere.status_code == (200 if client_id == "service.client" else 401)


@fuzz_settings(200)
@example(spec=JwtSpec(tamper="nested-header", position=0), caller="api1", hint=None,
         in_body=False)
@given(spec=token_specs, caller=st.sampled_from(("api1", "interactive", "service.client")),
       hint=st.one_of(st.none(), HINTS), in_body=st.booleans())
def test_introspection_never_activates_a_forged_token(fuzz, jwt_ctx, spec, caller, hint,
                                                      in_body) -> None:
    fuzz.begin()
    secret = {"api1": "api-secret"}.get(caller, "secret")
    data = {"token": spec.build(jwt_ctx), **({"token_type_hint": hint} if hint else {})}
    headers = {}
    if in_body and caller != "api1":
        data.update(client_id=caller, client_secret=secret)
    else:
        headers["Authorization"] = basic(caller, secret)
    body = form(data)
    response = fuzz.send("introspect", "POST", body=body, headers=headers,
                         content_type="application/x-www-form-urlencoded")
    answer = fuzz.check_introspection(response)
    if answer is None:
        assert response.status_code == 400, response.content
        assert refused_by_the_form_rules(data["token"], 4000, body), response.content
        return
    reasons = spec.refusal_reasons(jwt_ctx, "any")
    if reasons:
        assert answer == {"active": False}, (reasons, response.content)
    claims_aud = dict(getattr(spec, "claim_changes", ())).get("aud", ["api1"])
    claims_client = dict(getattr(spec, "claim_changes", ())).get("client_id", "interactive")
    if caller == "api1" and "api1" not in (claims_aud if isinstance(claims_aud, list)
                                           else [claims_aud]):
        assert answer == {"active": False}, response.content  # RFC 7662 §2.2: not its audience
    if caller == "service.client" or caller == "interactive" and claims_client != "interactive":
        assert answer == {"active": False}, response.content  # another client's token
    if not reasons and getattr(spec, "kind", None) == "access_token" and caller == "api1":
        assert answer["active"] is True, response.content  # a genuine token stays visible
    if not reasons and getattr(spec, "kind", None) == "refresh_token":
        assert answer["active"] is (caller == "interactive"), response.content


@fuzz_settings(200)
@example(spec=JwtSpec(signer="attacker-rsa", tamper="insert", position=1, junk="é"), hint=None)
@given(spec=token_specs, hint=st.one_of(st.none(), HINTS))
def test_revocation_of_a_forged_token_reveals_nothing(fuzz, jwt_ctx, spec, hint) -> None:
    """RFC 7009 §2.2: an invalid token answers 200; a forged JWT must not be taken for one of
    ours (which would answer unsupported_token_type)."""
    fuzz.begin()
    data = {"token": spec.build(jwt_ctx), **({"token_type_hint": hint} if hint else {})}
    body = form(data)
    response = fuzz.send("revocation", "POST", body=body,
                         headers={"Authorization": basic("interactive", "secret")},
                         content_type="application/x-www-form-urlencoded")
    fuzz.check_revocation(response)
    if spec.refusal_reasons(jwt_ctx, "any"):
        refused = refused_by_the_form_rules(data["token"], 4000, body)
        assert response.status_code == (400 if refused else 200), response.content
