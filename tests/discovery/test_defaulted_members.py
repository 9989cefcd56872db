"""Metadata members whose absence has a meaning: each must say what the server does.

Spec: OpenID Connect Discovery 1.0 §3, RFC 8414 §2, RFC 9207 §3, OIDC Front-Channel Logout §3,
OIDC Back-Channel Logout §2.1, RFC 8705 §3.3, RFC 9101 §10.5, RFC 9126 §5.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

pytestmark = pytest.mark.django_db
DOCS = ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]
BASIC, POST, NONE = "client_secret_basic", "client_secret_post", "none"
JWT = "private_key_jwt"

# member: (what its absence means, what this server does)
DEFAULTED = {
    "request_parameter_supported": (False, True),           # signed request objects (RFC 9101)
    "request_uri_parameter_supported": (True, False),       # only PAR's: request_uri_not_supported
    "require_request_uri_registration": (False, False),
    "claims_parameter_supported": (False, False),            # `claims` is ignored
    "claim_types_supported": (["normal"], ["normal"]),
    "response_modes_supported": (["query", "fragment"], ["query", "fragment", "form_post"]),
    "grant_types_supported": (["authorization_code", "implicit"],
                              ["authorization_code", "client_credentials", "refresh_token",
                               "urn:ietf:params:oauth:grant-type:device_code"]),
    "token_endpoint_auth_methods_supported": ([BASIC], [BASIC, POST, JWT, NONE]),
    "revocation_endpoint_auth_methods_supported": ([BASIC], [BASIC, POST, JWT, NONE]),
    # RFC 8414 gives no default ("determined by other means"): say it.
    "introspection_endpoint_auth_methods_supported": (None, [BASIC, POST, JWT]),
    # Absent: no PKCE at all (RFC 8414 §2).
    "code_challenge_methods_supported": (None, ["S256"]),
    "authorization_response_iss_parameter_supported": (False, True),
    "tls_client_certificate_bound_access_tokens": (False, False),
    "require_pushed_authorization_requests": (False, False),
    "require_signed_request_object": (False, False),
}
OPENID_ONLY = {
    "frontchannel_logout_supported": (False, True),
    "frontchannel_logout_session_supported": (False, True),
    "backchannel_logout_supported": (False, True),
    "backchannel_logout_session_supported": (False, True),
    # Required by OIDC Discovery, so there is no default to fall back on.
    "subject_types_supported": (None, ["public", "pairwise"]),
}


@pytest.mark.parametrize("path", DOCS)
@pytest.mark.parametrize("member", sorted(DEFAULTED))
def test_defaulted_member_says_what_the_server_does(client, seeded, path, member) -> None:
    seeded()
    doc = client.get(path).json()
    default, actual = DEFAULTED[member]
    assert doc.get(member, default) == actual, f"{member}: {doc.get(member, '(absent)')}"


@pytest.mark.parametrize("member", sorted(OPENID_ONLY))
def test_openid_member_says_what_the_server_does(client, seeded, member) -> None:
    seeded()
    default, actual = OPENID_ONLY[member]
    assert client.get(DOCS[0]).json().get(member, default) == actual


def test_request_members_are_explicit(client, seeded) -> None:
    seeded()
    for path in DOCS:
        doc = client.get(path).json()
        assert doc["request_parameter_supported"] is True
        assert doc["request_uri_parameter_supported"] is False


def test_grant_types_are_exactly_the_token_endpoint_registry(client, seeded) -> None:
    from identity.grants.registry import GRANT_HANDLERS as TOKEN_GRANTS

    seeded()
    assert client.get(DOCS[0]).json()["grant_types_supported"] == sorted(TOKEN_GRANTS)


def test_advertised_request_members_match_authorize(client, seeded, alice) -> None:
    """request_uri_parameter_supported false: a request_uri not from PAR is refused with the
    matching code; request_parameter_supported true: a `request` is read, and an unsigned one
    is an invalid request object. Both on the error page, never redirected."""
    seeded()
    client.force_login(alice)
    base = {"client_id": "interactive", "redirect_uri": "http://localhost:21402/signin-oidc",
            "response_type": "code", "scope": "openid"}
    for name, value, error in (
            ("request_uri", "https://app.example.com/request.jwt", "request_uri_not_supported"),
            ("request", "eyJhbGciOiJub25lIn0.e30.", "invalid_request_object")):
        response = client.get("/connect/authorize", {**base, name: value})
        assert response.status_code == 400 and not response.has_header("Location"), name
        assert error in response.content.decode(), name


# ---- plain PKCE: listed only while some enabled client may use it ----------------------------

def _methods(client, path: str = DOCS[0]) -> list[str]:
    return client.get(path).json()["code_challenge_methods_supported"]


@pytest.mark.parametrize("path", DOCS)
def test_plain_is_not_listed_by_default(client, seeded, path) -> None:
    seeded()
    assert _methods(client, path) == ["S256"]


@pytest.mark.parametrize("path", DOCS)
def test_plain_is_listed_when_an_enabled_client_allows_it(client, seeded, path) -> None:
    from tests.factories import make_client, make_interactive_client

    seeded(make_client(), make_interactive_client(allow_plain_text_pkce=True))
    assert _methods(client, path) == ["S256", "plain"]


def test_a_disabled_client_does_not_make_plain_listed(client, seeded) -> None:
    from tests.factories import make_client, make_interactive_client

    seeded(make_client(), make_interactive_client(allow_plain_text_pkce=True, enabled=False))
    assert _methods(client) == ["S256"]


def test_a_client_change_shows_at_the_next_request(client, seeded) -> None:
    from django.db import transaction

    from clients_app.models import Client as ClientRow

    seeded()
    assert _methods(client) == ["S256"]
    row = ClientRow.objects.get(client_id="interactive")
    for changes, expected in (({"allow_plain_text_pkce": True}, ["S256", "plain"]),
                              ({"enabled": False}, ["S256"]),
                              ({"enabled": True}, ["S256", "plain"])):
        with transaction.atomic():  # each change its own transaction, as an admin save is
            for name, value in changes.items():
                setattr(row, name, value)
            row.save()
        assert _methods(client) == expected, changes


def test_a_client_from_the_json_file_counts(client, seeded, identity_config, write_json) -> None:
    from identity.config_document import to_json_object
    from tests.factories import make_interactive_client

    seeded()
    own = dataclasses.replace(make_interactive_client("file.client"), allow_plain_text_pkce=True,
                              allowed_scopes=("openid",))
    identity_config(CLIENTS_FILE=str(write_json(json.dumps({"Clients": [to_json_object(own)]}))))
    assert _methods(client) == ["S256", "plain"]
