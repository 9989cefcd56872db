"""Every client property is either honoured, refused until supported, or inert by decision.

The refusals reach every way in: admin (`Client.clean`), `import_clients`, data migrations and
`IDENTITY["CLIENTS_FILE"]`, each naming the client and the property.
"""

from __future__ import annotations

import dataclasses
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from clients_app import models
from clients_app.seeding import seed_operation
from identity.config_document import ConfigDocumentError, parse_document
from identity.domain.client import Client
from identity.hashing import hash_secret
from identity.validation.client_support import UNSUPPORTED_PROPERTIES

HONOURED = frozenset({
    "client_id", "enabled", "client_secrets", "require_client_secret", "client_name",
    "require_consent", "allow_remember_consent", "allowed_grant_types", "require_pkce",
    "allow_plain_text_pkce", "redirect_uris", "post_logout_redirect_uris",
    "front_channel_logout_uri", "front_channel_logout_session_required", "allow_offline_access",
    "allowed_scopes", "always_include_user_claims_in_id_token", "identity_token_lifetime",
    "access_token_lifetime", "authorization_code_lifetime", "absolute_refresh_token_lifetime",
    "sliding_refresh_token_lifetime", "consent_lifetime", "refresh_token_usage",
    "update_access_token_claims_on_refresh", "refresh_token_expiration", "access_token_type",
    "include_jwt_id", "claims", "always_send_client_claims", "client_claims_prefix",
    "pair_wise_subject_salt", "user_sso_lifetime", "allowed_cors_origins", "properties",
    # Honoured only as oidc / true: other values are refused (see unsupported_problems).
    "protocol_type", "enable_local_login",
    # Restricts external providers; there are none, so no sign-in can break it.
    "identity_provider_restrictions",
})
REFUSED = frozenset(u.field for u in UNSUPPORTED_PROPERTIES)
INERT = frozenset({
    "description", "client_uri", "logo_uri", "initiate_login_uri",  # display metadata
    "allow_access_tokens_via_browser",  # only for implicit/hybrid, which are refused
    "dpop_validation_mode", "dpop_clock_skew",  # tune DPoP, which cannot be required
    "back_channel_logout_session_required",  # tunes back-channel logout, refused
    "pushed_authorization_lifetime",  # tunes PAR, refused
    "user_code_type", "device_code_lifetime", "ciba_lifetime", "polling_interval",  # grants refused
})
RECORD_COLUMNS = frozenset({"id", "created", "updated", "last_accessed", "non_editable"})

SECRET = hash_secret("secret")


def _doc(**fields) -> dict:
    return {"Clients": [{"ClientId": "legacy", "ClientSecrets": [{"Value": SECRET}],
                         "AllowedGrantTypes": ["client_credentials"], **fields}]}


def test_every_domain_property_is_classified() -> None:
    assert HONOURED | REFUSED | INERT == {f.name for f in dataclasses.fields(Client)}
    assert not INERT & (HONOURED | REFUSED)
    assert HONOURED & REFUSED == {"enable_local_login"}  # honoured when true, refused when false


def test_every_model_column_is_a_domain_property_or_a_record_column() -> None:
    columns = {f.name for f in models.Client._meta.concrete_fields}
    assert columns - {f.name for f in dataclasses.fields(Client)} == RECORD_COLUMNS


@pytest.mark.parametrize(("fields", "expected"), [
    ({"RequireDPoP": True}, "client 'legacy', RequireDPoP: true is not supported yet"),
    ({"AllowedGrantTypes": ["password"]},
     "client 'legacy', AllowedGrantTypes: password is not supported yet"),
    # In the column's range (the parser refuses larger numbers), above the policy bound.
    ({"AccessTokenLifetime": 2_000_000_000},
     "client 'legacy', AccessTokenLifetime: is 2000000000 s; at most 604800 s (7 days)"),
])
def test_document_with_an_unsupported_value_is_refused(fields, expected) -> None:
    with pytest.raises(ConfigDocumentError) as exc:
        parse_document(_doc(**fields))
    assert any(p.startswith(expected) for p in exc.value.problems), exc.value.problems


@pytest.mark.django_db
def test_import_clients_refuses_and_writes_nothing(write_json) -> None:
    with pytest.raises(CommandError) as exc:
        call_command("import_clients", str(write_json(json.dumps(_doc(RequireDPoP=True)))))
    assert "client 'legacy', RequireDPoP: true is not supported yet" in str(exc.value)
    assert not models.Client.objects.filter(client_id="legacy").exists()


def test_data_migration_refuses_when_it_loads() -> None:
    with pytest.raises(ConfigDocumentError, match="RequirePushedAuthorization: true is not "
                                                  "supported yet"):
        seed_operation(_doc(RequirePushedAuthorization=True))


def test_clients_file_is_refused_by_the_system_check(write_json, identity_config) -> None:
    from django.core.management.base import SystemCheckError

    identity_config(CLIENTS_FILE=str(write_json(json.dumps(_doc(EnableLocalLogin=False)))))
    with pytest.raises(SystemCheckError, match="EnableLocalLogin: false is not supported yet"):
        call_command("check")


@pytest.mark.parametrize(("column", "value"), [
    ("require_dpop", True), ("require_request_object", True),
    ("back_channel_logout_uri", "https://app.example.com/bc"), ("protocol_type", "saml2p"),
    ("non_editable", True), ("access_token_lifetime", 2_000_000_000),
])
def test_admin_clean_refuses_on_the_field(column, value) -> None:
    row = models.Client(client_id="legacy", **{column: value})
    with pytest.raises(ValidationError) as exc:
        row.clean()
    assert list(exc.value.message_dict) == [column]
    assert ("not supported yet" in exc.value.message_dict[column][0]
            or "at most" in exc.value.message_dict[column][0])


def test_admin_clean_accepts_defaults() -> None:
    models.Client(client_id="fine").clean()
