"""An over-long code or refresh token is an invalid grant (RFC 6749 §5.2), decided unread."""

from __future__ import annotations

import pytest

from identity.errors import InvalidGrant, InvalidRequest
from identity.validation.params import parse_form

pytestmark = pytest.mark.django_db
AUTH = ("interactive", "secret")
FORM = "application/x-www-form-urlencoded"
LIMITS = {"code": 100, "refresh_token": 100, "scope": 300}
# An RS256 access token, the usual wrong value sent as a refresh token: far past 100 characters.
JWT_LIKE = "eyJhbGciOiJSUzI1NiJ9." + "e" * 900 + "." + "s" * 342


def _json_error(response, status: int, error: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"] == error
    assert response["Cache-Control"] == "no-store"
    return body


@pytest.mark.parametrize(("grant_type", "name", "value"), [
    ("authorization_code", "code", "c" * 101),
    ("authorization_code", "code", "c" * 15000),
    ("refresh_token", "refresh_token", JWT_LIKE),
    ("refresh_token", "refresh_token", "r" * 101),
])
def test_overlong_grant_value_is_invalid_grant(seeded, token_post, django_assert_num_queries,
                                               grant_type, name, value) -> None:
    seeded()
    data = {"grant_type": grant_type, name: value,
            "redirect_uri": "http://localhost:21402/signin-oidc"}
    with django_assert_num_queries(0):  # no client, grant or throttle lookup
        response = token_post(data, auth=AUTH)
    body = _json_error(response, 400, "invalid_grant")
    assert body["error_description"] == f"{name} is not one this server issued"


def test_grant_value_at_the_limit_goes_on_to_the_store(seeded, token_post) -> None:
    seeded()
    response = token_post({"grant_type": "refresh_token", "refresh_token": "r" * 100}, auth=AUTH)
    body = _json_error(response, 400, "invalid_grant")
    assert body["error_description"] != "refresh_token is not one this server issued"


def test_body_limit_still_holds_for_grant_values(seeded, token_post) -> None:
    seeded()
    response = token_post({"grant_type": "authorization_code", "code": "c" * 20000}, auth=AUTH)
    assert _json_error(response, 400, "invalid_request")["error_description"] == \
        "the request body is too large"


@pytest.mark.parametrize(("grant_type", "name"), [
    ("refresh_token", "code"), ("authorization_code", "refresh_token"),
    ("client_credentials", "code"), (None, "code"),
])
def test_overlong_value_another_grant_does_not_use_stays_invalid_request(
        seeded, token_post, grant_type, name) -> None:
    seeded()
    data = {name: "x" * 101} | ({"grant_type": grant_type} if grant_type else {})
    body = _json_error(token_post(data, auth=AUTH), 400, "invalid_request")
    assert body["error_description"] == f"{name} is too long"


def test_other_overlong_parameters_keep_invalid_request(seeded, token_post) -> None:
    seeded()
    data = {"grant_type": "authorization_code", "code": "c" * 101, "code_verifier": "v" * 129}
    body = _json_error(token_post(data, auth=AUTH), 400, "invalid_request")
    assert body["error_description"] == "code_verifier is too long"


def test_revocation_never_answers_invalid_grant(seeded, client) -> None:
    seeded()
    response = client.post("/connect/revocation",
                           "grant_type=refresh_token&token=t&refresh_token=" + "r" * 101,
                           content_type=FORM, HTTP_AUTHORIZATION="Basic aW50ZXJhY3RpdmU6c2VjcmV0")
    # The rule belongs to the token endpoint: here both parameters are unused.
    assert response.status_code in (200, 400), response.content
    assert response.json().get("error") != "invalid_grant"


def test_parse_form_leaves_the_named_grant_value_to_the_grant() -> None:
    from identity.validation.params import check_grant_value

    body = b"grant_type=refresh_token&refresh_token=" + b"r" * 101
    params = parse_form(body, FORM, max_body=16384, max_lengths=LIMITS, default_max_length=2000)
    with pytest.raises(InvalidGrant):
        check_grant_value(params, LIMITS, default_max_length=2000)
    with pytest.raises(InvalidRequest, match="code is too long"):
        parse_form(b"grant_type=refresh_token&code=" + b"c" * 101, FORM, max_body=16384,
                   max_lengths=LIMITS, default_max_length=2000)
