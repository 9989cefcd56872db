"""Every refusal of the registration endpoints: RFC 7591 §3.2.2 bodies for bad metadata,
RFC 6750 §3.1 challenges for missing or bad tokens; never a 500."""

from __future__ import annotations

import json

import pytest

from tests.registration.conftest import DCR, NATIVE_REDIRECT, SERVICE, registration_path, send

pytestmark = pytest.mark.django_db
CODE = {"grant_types": ["authorization_code"], "scope": "openid"}

REDIRECT_ERRORS = {
    "http on a public host": {**CODE, "redirect_uris": ["http://app.example.com/cb"]},
    "fragment": {**CODE, "redirect_uris": ["https://app.example.com/cb#frag"]},
    "missing for authorization_code": {**CODE},
    "missing by default": {"scope": "openid"},
    "relative": {**CODE, "redirect_uris": ["/cb"]},
    "javascript scheme": {**CODE, "redirect_uris": ["javascript:alert(1)"]},
    "private-use scheme without a dot": {**CODE, "redirect_uris": ["myapp:/cb"]},
    "listed twice": {**CODE, "redirect_uris": ["https://a.example/cb", "https://a.example/cb"]},
    "post-logout on http": {**CODE, "redirect_uris": ["https://a.example/cb"],
                            "post_logout_redirect_uris": ["http://a.example/bye"]},
}
METADATA_ERRORS = {
    "code without authorization_code": {"grant_types": ["client_credentials"],
                                        "response_types": ["code"], "scope": "api1"},
    "authorization_code without code": {**CODE, "response_types": [],
                                         "redirect_uris": ["https://a.example/cb"]},
    "implicit response type": {**CODE, "response_types": ["token"],
                               "redirect_uris": ["https://a.example/cb"]},
    "grant outside the policy": {"grant_types": ["password"]},
    "implicit grant": {"grant_types": ["implicit"], "response_types": []},
    "refresh_token alone": {"grant_types": ["refresh_token"], "response_types": []},
    "no grant type": {"grant_types": [], "response_types": []},
    "unknown scope": {"grant_types": ["client_credentials"], "scope": "nope"},
    "scope outside the policy": {"grant_types": ["client_credentials"],
                                 "scope": "api2.read_only"},
    "registration scope": {"grant_types": ["client_credentials"], "scope": "dcr"},
    "offline_access without refresh_token": {**CODE, "scope": "openid offline_access",
                                             "redirect_uris": ["https://a.example/cb"]},
    "private_key_jwt without keys": {**SERVICE, "token_endpoint_auth_method": "private_key_jwt"},
    "client_secret_jwt": {**SERVICE, "token_endpoint_auth_method": "client_secret_jwt"},
    "tls_client_auth": {**SERVICE, "token_endpoint_auth_method": "tls_client_auth"},
    "self_signed_tls_client_auth": {**SERVICE,
                                    "token_endpoint_auth_method": "self_signed_tls_client_auth"},
    "unknown auth method": {**SERVICE, "token_endpoint_auth_method": "magic"},
    "public client with client_credentials": {**SERVICE, "token_endpoint_auth_method": "none"},
    "jwks without keys": {**SERVICE, "jwks": {"keys": []}},
    "jwks_uri on http": {**SERVICE, "jwks_uri": "http://a.example/jwks"},
    "backchannel_logout_uri on http": {**SERVICE, "backchannel_logout_uri": "http://a.example/bc"},
    "redirect_uris not an array": {**CODE, "redirect_uris": "https://a.example/cb"},
    "redirect_uris of numbers": {**CODE, "redirect_uris": [1]},
    "grant_types a string": {"grant_types": "client_credentials"},
    "client_name a number": {**SERVICE, "client_name": 5},
    "client_name too long": {**SERVICE, "client_name": "x" * 201},
    "client_name with NUL": {**SERVICE, "client_name": "a\u0000b"},
    "client_name with a lone surrogate": {**SERVICE, "client_name": "\ud800"},
    "scope an array": {"grant_types": ["client_credentials"], "scope": ["api1"]},
    "scope with a quote": {"grant_types": ["client_credentials"], "scope": "api\"1"},
    "contacts of numbers": {**SERVICE, "contacts": [1]},
    "too many contacts": {**SERVICE, "contacts": [f"a{i}@example.com" for i in range(51)]},
    "session flag a string": {**SERVICE, "frontchannel_logout_session_required": "yes"},
    "logo on http": {**SERVICE, "logo_uri": "http://a.example/logo.png"},
    "policy_uri not a URL": {**SERVICE, "policy_uri": "not a url"},
    "tos_uri with javascript": {**SERVICE, "tos_uri": "javascript:alert(1)"},
    "frontchannel_logout_uri on http": {**SERVICE,
                                        "frontchannel_logout_uri": "http://a.example/fc"},
}


def _assert_error(response, error: str, status: int = 400) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"] == error, body
    assert set(body) <= {"error", "error_description"}
    return body


@pytest.mark.parametrize("body", REDIRECT_ERRORS.values(), ids=REDIRECT_ERRORS.keys())
def test_bad_redirect_uris_are_invalid_redirect_uri(register, body) -> None:
    described = _assert_error(register(body), "invalid_redirect_uri")["error_description"]
    assert "redirect_uris" in described


@pytest.mark.parametrize("body", METADATA_ERRORS.values(), ids=METADATA_ERRORS.keys())
def test_bad_metadata_is_invalid_client_metadata(register, body) -> None:
    described = _assert_error(register(body), "invalid_client_metadata")["error_description"]
    assert ":" in described  # it names the member


def test_the_description_names_the_field_and_the_fix(register) -> None:
    body = _assert_error(register({**SERVICE, "token_endpoint_auth_method": "client_secret_jwt"}),
                         "invalid_client_metadata")
    assert body["error_description"].startswith("token_endpoint_auth_method: client_secret_jwt")
    assert "not supported yet" in body["error_description"]
    body = _assert_error(register({"grant_types": ["client_credentials"], "scope": "api1 nope"}),
                         "invalid_client_metadata")
    assert "scope: nope" in body["error_description"]
    body = _assert_error(register({**SERVICE, "backchannel_logout_uri": "http://a.example/bc"}),
                         "invalid_client_metadata")
    assert body["error_description"].startswith("backchannel_logout_uri: ")
    assert "https" in body["error_description"]


def test_a_scope_the_policy_allows_but_nobody_defined_is_refused(register,
                                                                 identity_config) -> None:
    identity_config(REGISTRATION_SCOPES=["api1", "ghost"])
    body = _assert_error(register({"grant_types": ["client_credentials"], "scope": "ghost"}),
                         "invalid_client_metadata")
    assert body["error_description"].startswith("scope: 'ghost' not defined")


def test_a_grant_type_the_policy_leaves_out_is_refused(register, identity_config) -> None:
    identity_config(REGISTRATION_GRANT_TYPES=["authorization_code"])
    body = _assert_error(register(SERVICE), "invalid_client_metadata")
    assert "client_credentials not allowed" in body["error_description"]


def test_a_software_statement_is_not_approved(register) -> None:
    _assert_error(register({**SERVICE, "software_statement": "eyJ.eyJ.sig"}),
                  "unapproved_software_statement")


def test_unknown_members_are_ignored(register) -> None:
    response = register({**SERVICE, "color": "blue", "id_token_signed_response_alg": "RS256",
                         "client_name#fr": "Robot"})
    assert response.status_code == 201, response.content
    assert not {"color", "id_token_signed_response_alg", "client_name#fr"} & set(response.json())


def test_native_redirect_uris_are_accepted(register) -> None:
    response = register({"redirect_uris": [NATIVE_REDIRECT, "http://[::1]/cb",
                                           "com.example.app:/oauth2redirect"],
                         "token_endpoint_auth_method": "none", "scope": "openid"})
    assert response.status_code == 201, response.content


BAD_BODIES = {
    "not JSON": b"{",
    "an array": b"[]",
    "null": b"null",
    "a string": b'"x"',
    "not UTF-8": b'{"client_name": "\xff"}',
    "NaN": b'{"client_name": NaN}',
    "a repeated member": b'{"scope": "api1", "scope": "openid"}',
    "deeply nested": b"[" * 16000,
    "empty": b"",
}


@pytest.mark.parametrize("raw", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_bad_json_is_invalid_client_metadata(register, raw) -> None:
    _assert_error(register(None, raw=raw), "invalid_client_metadata")


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain",
                                          "application/jsonx"])
def test_another_content_type_is_invalid_client_metadata(register, content_type) -> None:
    _assert_error(register(None, raw=json.dumps(SERVICE), content_type=content_type),
                  "invalid_client_metadata")


def test_a_charset_parameter_is_fine(register) -> None:
    response = register(None, raw=json.dumps(SERVICE),
                        content_type="application/json; charset=utf-8")
    assert response.status_code == 201, response.content


def test_a_body_over_the_limit_is_refused(register, identity_config) -> None:
    body = {**SERVICE, "software_id": "x" * 20000}
    described = _assert_error(register(body), "invalid_client_metadata")["error_description"]
    assert "larger than 16384 bytes" in described


# ---- the initial access token -----------------------------------------------------------------

def test_without_a_token_registration_is_refused(register) -> None:
    response = register(SERVICE, token=None)
    _assert_error(response, "invalid_token", 401)
    assert response["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "x" * 5000])
def test_with_a_bad_token_registration_is_refused(register, token) -> None:
    response = register(SERVICE, token=token)
    _assert_error(response, "invalid_token", 401)
    assert response["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_another_scheme_is_refused(client, initial_token) -> None:
    response = client.post(DCR, json.dumps(SERVICE), content_type="application/json",
                           HTTP_AUTHORIZATION="Basic ZGNyLmFkbWluOnNlY3JldA==")
    _assert_error(response, "invalid_token", 401)
    assert response["WWW-Authenticate"] == "Bearer"


def test_a_token_without_the_registration_scope_is_refused(register, token_post) -> None:
    from tests.helpers.calls import client_credentials_token

    token = client_credentials_token(token_post, scope="api1")  # service.client's
    response = register(SERVICE, token=token)
    # RFC 6750 §3.1: a valid token lacking the scope is 403 insufficient_scope.
    _assert_error(response, "insufficient_scope", 403)
    assert response["WWW-Authenticate"] == 'Bearer error="insufficient_scope", scope="dcr"'


def test_the_token_must_be_in_the_header_not_the_body(client, initial_token) -> None:
    response = client.post(DCR, f"access_token={initial_token}",
                           content_type="application/x-www-form-urlencoded")
    _assert_error(response, "invalid_token", 401)


def test_a_revoked_client_token_no_longer_registers(register, initial_token) -> None:
    from clients_app.models import Client

    Client.objects.filter(client_id="dcr.admin").update(enabled=False)
    from identity.stores.caching import invalidate_client

    invalidate_client("dcr.admin")
    _assert_error(register(SERVICE, token=initial_token), "invalid_token", 401)


def test_anonymous_registration_when_the_setting_allows_it(register, identity_config) -> None:
    identity_config(REGISTRATION_SCOPES=["api1"], REGISTRATION_ALLOW_ANONYMOUS=True)
    response = register(SERVICE, token=None)
    assert response.status_code == 201, response.content
    # A presented token is still checked.
    _assert_error(register(SERVICE, token="garbage"), "invalid_token", 401)


def test_anonymous_registrations_are_limited_per_address(register, identity_config,
                                                          monkeypatch) -> None:
    from django.core.cache import caches

    from identity import clock

    identity_config(REGISTRATION_SCOPES=["api1"], REGISTRATION_ALLOW_ANONYMOUS=True,
                    REGISTRATION_ANONYMOUS_RATE="2/hour")
    frozen = clock.now()  # one window of the fixed-window count, whatever the time of day
    monkeypatch.setattr(clock, "now", lambda: frozen)
    assert [register(SERVICE, token=None).status_code for _ in range(2)] == [201, 201]
    caches["default"].clear()  # another worker: the count lives in the database
    refused = register(SERVICE, token=None)
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 3600
    assert "registrations" in refused.json()["error_description"]
    elsewhere = register(SERVICE, token=None, REMOTE_ADDR="203.0.113.9")
    assert elsewhere.status_code == 201
    # A caller with an initial access token answers for its registrations: not limited here.
    assert register(SERVICE).status_code == 201


# ---- the registration access token (RFC 7592) ------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_management_without_the_registration_token_is_refused(client, registered, register,
                                                              initial_token, method) -> None:
    reply, other = registered(), registered()
    path = registration_path(reply)
    body = {"client_id": reply["client_id"], **SERVICE}
    for token in (None, "garbage", initial_token, other["registration_access_token"]):
        response = send(client, method, path, body, token=token)
        _assert_error(response, "invalid_token", 401)
        assert response["WWW-Authenticate"].startswith("Bearer")
    # An unknown client answers exactly as another client's token: nothing is revealed.
    unknown = send(client, method, f"{DCR}/not-a-client", body,
                   token=reply["registration_access_token"])
    wrong = send(client, method, path, body, token=other["registration_access_token"])
    assert (unknown.status_code, unknown.json(), unknown["WWW-Authenticate"]) == \
        (wrong.status_code, wrong.json(), wrong["WWW-Authenticate"])
    assert send(client, "GET", path, token=reply["registration_access_token"]).status_code == 200


def test_a_seeded_client_cannot_be_managed(client, registered) -> None:
    reply = registered()
    response = send(client, "GET", f"{DCR}/service.client",
                    token=reply["registration_access_token"])
    _assert_error(response, "invalid_token", 401)


def test_post_is_not_a_management_method(client, registered) -> None:
    reply = registered()
    response = send(client, "POST", registration_path(reply), SERVICE,
                    token=reply["registration_access_token"])
    assert response.status_code == 405 and response["Allow"] == "GET, PUT, DELETE"


def test_an_update_must_name_the_client(client, registered) -> None:
    reply = registered()
    path, token = registration_path(reply), reply["registration_access_token"]
    for client_id in (None, "someone-else", 5):
        body = {**SERVICE, **({"client_id": client_id} if client_id is not None else {})}
        described = _assert_error(send(client, "PUT", path, body, token=token),
                                  "invalid_client_metadata")["error_description"]
        assert described.startswith("client_id:")


def test_an_update_with_the_wrong_secret_is_refused(client, registered) -> None:
    reply = registered()
    for secret in ("wrong", 5):
        body = {**SERVICE, "client_id": reply["client_id"], "client_secret": secret}
        response = send(client, "PUT", registration_path(reply), body,
                        token=reply["registration_access_token"])
        assert _assert_error(response, "invalid_client_metadata")[
            "error_description"].startswith("client_secret:")


def test_a_refused_update_changes_nothing(client, registered) -> None:
    reply = registered()
    path, token = registration_path(reply), reply["registration_access_token"]
    before = send(client, "GET", path, token=token).json()
    body = {"client_id": reply["client_id"], "grant_types": ["authorization_code"],
            "redirect_uris": ["http://evil.example/cb"]}
    _assert_error(send(client, "PUT", path, body, token=token), "invalid_redirect_uri")
    _assert_error(send(client, "PUT", path, None, token=token, raw=b"{"),
                  "invalid_client_metadata")
    assert send(client, "GET", path, token=token).json() == before


def test_an_update_may_keep_a_scope_an_administrator_granted(client, registered) -> None:
    from clients_app.models import Client

    reply = registered()
    Client.objects.get(client_id=reply["client_id"]).allowed_scopes.create(scope="api2.read_only")
    body = {"client_id": reply["client_id"], "grant_types": ["client_credentials"],
            "scope": "api1 api2.read_only"}
    response = send(client, "PUT", registration_path(reply), body,
                    token=reply["registration_access_token"])
    assert response.status_code == 200, response.content
    assert response.json()["scope"] == "api1 api2.read_only"


def test_drf_answers_nothing_of_its_own(client, register) -> None:
    options = client.options(DCR)
    assert options.status_code == 405 and options.json()["error"] == "invalid_request"
    assert options["Allow"] == "POST"
    html = register(SERVICE, HTTP_ACCEPT="text/html")
    assert html.status_code == 201 and html["Content-Type"].startswith("application/json")
    empty = register(None, raw=b"")
    assert empty.status_code == 400 and empty.json()["error"] == "invalid_client_metadata"
