"""The pure mapping of RFC 7591 metadata onto the domain client, without HTTP or a database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from identity.domain.client import Client, Secret
from identity.errors import InvalidClientMetadata, InvalidRedirectUri, UnapprovedSoftwareStatement
from identity.stores.interfaces import Registration
from identity.validation.client_support import ConfigProblem
from identity.validation.registration import (
    ClientMetadata,
    RegistrationPolicy,
    audit_changes,
    build_client,
    check_client,
    client_problems_error,
    metadata_document,
    new_client_id,
    parse_metadata,
    registration_token_hash,
    registration_token_matches,
    secret_expires_at,
)

POLICY = RegistrationPolicy(
    grant_types=frozenset({"authorization_code", "refresh_token", "client_credentials"}),
    scopes=frozenset({"openid", "profile", "api1"}))
KNOWN = {"openid", "profile", "email", "api1"}
SECRET = (Secret(value="x" * 44),)
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def test_defaults_follow_rfc_7591_section_2() -> None:
    metadata = parse_metadata({}, POLICY)
    assert metadata.grant_types == ("authorization_code",)
    assert metadata.response_types == ("code",)
    assert metadata.token_endpoint_auth_method == "client_secret_basic"
    assert metadata.frontchannel_logout_session_required is True


@pytest.mark.parametrize(("document", "grants", "responses"), [
    ({"grant_types": ["client_credentials"]}, ("client_credentials",), ()),
    ({"response_types": ["code"]}, ("authorization_code",), ("code",)),
    ({"response_types": []}, (), None),
    ({"grant_types": ["authorization_code", "refresh_token", "authorization_code"]},
     ("authorization_code", "refresh_token"), ("code",)),
])
def test_grant_and_response_types_complete_each_other(document, grants, responses) -> None:
    if responses is None:
        with pytest.raises(InvalidClientMetadata):
            parse_metadata(document, POLICY)
        return
    metadata = parse_metadata(document, POLICY)
    assert (metadata.grant_types, metadata.response_types) == (grants, responses)


def test_unknown_members_are_ignored_and_null_is_absent() -> None:
    metadata = parse_metadata({"whatever": [1, 2], "client_name": None, "scope": None}, POLICY)
    assert metadata == ClientMetadata()


def test_offline_access_follows_refresh_token() -> None:
    metadata = parse_metadata({"grant_types": ["authorization_code", "refresh_token"],
                               "scope": "openid offline_access"}, POLICY)
    assert metadata.scope == ("openid",)
    client = build_client(metadata, client_id="c", client_secrets=SECRET, policy=POLICY)
    assert client.allow_offline_access is True
    assert client.allowed_grant_types == ("authorization_code",)


def test_scopes_outside_the_policy_are_refused_unless_already_granted() -> None:
    document = {"grant_types": ["client_credentials"], "scope": "api1 api2"}
    with pytest.raises(InvalidClientMetadata, match="scope: api2 not allowed"):
        parse_metadata(document, POLICY)
    assert parse_metadata(document, POLICY, granted_scopes=("api2",)).scope == ("api1", "api2")


def test_software_statements_are_not_approved() -> None:
    with pytest.raises(UnapprovedSoftwareStatement):
        parse_metadata({"software_statement": "a.b.c"}, POLICY)


def test_a_public_client_needs_no_secret_and_uses_pkce() -> None:
    metadata = parse_metadata({"token_endpoint_auth_method": "none",
                               "redirect_uris": ["com.example.app:/cb"]}, POLICY)
    client = build_client(metadata, client_id="c", client_secrets=SECRET, policy=POLICY)
    assert client.require_client_secret is False and client.client_secrets == ()
    assert client.require_pkce is True
    check_client(client, KNOWN)


def test_a_new_client_takes_the_policy_and_the_metadata() -> None:
    metadata = parse_metadata({
        "redirect_uris": ["https://a.example/cb"], "client_name": "A", "scope": "openid",
        "frontchannel_logout_uri": "https://a.example/fc",
        "frontchannel_logout_session_required": False,
        "post_logout_redirect_uris": ["https://a.example/bye"]}, POLICY)
    client = build_client(metadata, client_id="c", client_secrets=SECRET, policy=POLICY)
    assert client.require_consent is True and client.client_secrets == SECRET
    assert client.front_channel_logout_uri == "https://a.example/fc"
    assert client.front_channel_logout_session_required is False
    assert client.post_logout_redirect_uris == ("https://a.example/bye",)
    check_client(client, KNOWN)


def test_an_update_keeps_what_registration_does_not_cover() -> None:
    base = Client(client_id="c", client_secrets=SECRET, allowed_grant_types=("client_credentials",),
                  allowed_scopes=("api1",), access_token_lifetime=600, require_consent=False,
                  allowed_cors_origins=("https://a.example",))
    metadata = parse_metadata({"grant_types": ["client_credentials"], "client_name": "B"}, POLICY)
    client = build_client(metadata, client_id="c", client_secrets=SECRET, policy=POLICY,
                          base=base)
    assert client.access_token_lifetime == 600 and client.require_consent is False
    assert client.allowed_cors_origins == ("https://a.example",)
    assert client.client_name == "B" and client.allowed_scopes == ()


def test_problems_name_rfc_members() -> None:
    redirect = client_problems_error([ConfigProblem("allowed_scopes", "bad."),
                                      ConfigProblem("redirect_uris", "no fragment.")])
    assert isinstance(redirect, InvalidRedirectUri)
    assert redirect.description == "redirect_uris: no fragment."
    other = client_problems_error([ConfigProblem("allowed_scopes", "'x' not defined."),
                                   ConfigProblem("front_channel_logout_uri", "use https.")])
    assert isinstance(other, InvalidClientMetadata)
    assert other.description == "scope: 'x' not defined. frontchannel_logout_uri: use https."
    assert client_problems_error([]) is None


def test_the_shared_rules_apply() -> None:
    metadata = parse_metadata({"grant_types": ["client_credentials"], "scope": "api1"}, POLICY)
    client = build_client(metadata, client_id="c", client_secrets=SECRET, policy=POLICY)
    with pytest.raises(InvalidClientMetadata, match="scope: 'api1' not defined"):
        check_client(client, {"openid"})
    with pytest.raises(InvalidRedirectUri, match="redirect_uris"):
        check_client(build_client(parse_metadata({}, POLICY), client_id="c",
                                  client_secrets=SECRET, policy=POLICY), KNOWN)


def test_the_metadata_document_round_trips() -> None:
    document = {"redirect_uris": ["https://a.example/cb"], "client_name": "A",
                "grant_types": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_method": "client_secret_post", "scope": "openid profile",
                "contacts": ["a@example.com"], "policy_uri": "https://a.example/p",
                "software_id": "s"}
    metadata = parse_metadata(document, POLICY)
    client = build_client(metadata, client_id="c", client_secrets=SECRET, policy=POLICY)
    shown = metadata_document(Registration(client, "h", WHEN, metadata.extra()))
    assert shown["client_id_issued_at"] == int(WHEN.timestamp())
    assert shown["response_types"] == ["code"]
    assert shown["scope"] == "openid profile offline_access"
    assert shown["client_secret_expires_at"] == 0
    assert parse_metadata({**shown, "scope": "openid profile offline_access"}, POLICY) == metadata
    assert not {"client_secret", "registration_access_token"} & set(shown)


def test_secret_expiry() -> None:
    later = datetime(2027, 1, 1, tzinfo=UTC)
    assert secret_expires_at(Client(client_id="c")) == 0
    assert secret_expires_at(Client(client_id="c", client_secrets=(
        Secret("x", expiration=later),))) == int(later.timestamp())
    assert secret_expires_at(Client(client_id="c", client_secrets=(
        Secret("x", expiration=later), Secret("y")))) == 0


def test_registration_tokens_compare_by_hash() -> None:
    stored = registration_token_hash("token")
    assert len(stored) == 64 and stored != "token"
    assert registration_token_matches("token", stored)
    assert not registration_token_matches("other", stored)
    assert not registration_token_matches("token", None)


def test_client_ids_are_unguessable() -> None:
    ids = {new_client_id("p-") for _ in range(100)}
    assert len(ids) == 100 and all(i.startswith("p-") and len(i) == 2 + 33 for i in ids)


def test_audit_changes_list_differences_only() -> None:
    assert audit_changes({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": 4}) == {
        "b": (2, 3), "c": (None, 4)}
    assert audit_changes(None, {"client_secret": "s", "x": 1}) == {"x": (None, 1)}


def test_client_ids_are_letters_and_digits_with_192_bits_or_more() -> None:
    from identity.validation.registration import new_client_id

    ids = {new_client_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(i.isascii() and i.isalnum() and len(i) >= 33 for i in ids)  # 33 * 5.95 > 192
    assert new_client_id("dcr-").startswith("dcr-")
