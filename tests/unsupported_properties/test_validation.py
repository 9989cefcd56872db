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
    # FAPI 2.0: PAR, signed request objects, DPoP (see docs/fapi.rst).
    "require_pushed_authorization", "pushed_authorization_lifetime", "require_request_object",
    "require_dpop", "dpop_clock_skew",
    # The device authorization grant (see docs/device.rst).
    "user_code_type", "device_code_lifetime", "polling_interval",
    # Honoured only as oidc / true / Iat, Nonce or IatAndNonce: other values are refused (see
    # unsupported_problems).
    "protocol_type", "enable_local_login", "dpop_validation_mode",
    # Back-channel logout (see docs/back-channel-logout.rst).
    "back_channel_logout_uri", "back_channel_logout_session_required",
    # Restricts external providers; there are none, so no sign-in can break it.
    "identity_provider_restrictions",
})
REFUSED = frozenset(u.field for u in UNSUPPORTED_PROPERTIES)
INERT = frozenset({
    "description", "client_uri", "logo_uri", "initiate_login_uri",  # display metadata
    "allow_access_tokens_via_browser",  # only for implicit/hybrid, which are refused
    "ciba_lifetime",  # tunes CIBA, whose grant is refused
})
RECORD_COLUMNS = frozenset({"id", "created", "updated", "last_accessed", "non_editable"})

SECRET = hash_secret("secret")


def _doc(**fields) -> dict:
    return {"Clients": [{"ClientId": "legacy", "ClientSecrets": [{"Value": SECRET}],
                         "AllowedGrantTypes": ["client_credentials"], **fields}]}


def test_every_domain_property_is_classified() -> None:
    assert HONOURED | REFUSED | INERT == {f.name for f in dataclasses.fields(Client)}
    assert not INERT & (HONOURED | REFUSED)
    # Honoured with some values, refused with the others (false; Custom).
    assert HONOURED & REFUSED == {"enable_local_login", "dpop_validation_mode"}


def test_every_model_column_is_a_domain_property_or_a_record_column() -> None:
    columns = {f.name for f in models.Client._meta.concrete_fields}
    assert columns - {f.name for f in dataclasses.fields(Client)} == RECORD_COLUMNS


@pytest.mark.parametrize(("fields", "expected"), [
    ({"CoordinateLifetimeWithUserSession": True},
     "client 'legacy', CoordinateLifetimeWithUserSession: true is not supported yet"),
    ({"DPoPValidationMode": 0}, "client 'legacy', DPoPValidationMode: Custom is not supported"),
    ({"ClientSecrets": [{"Value": "AB12", "Type": "X509Thumbprint"}]},
     "client 'legacy', ClientSecrets: secret type 'X509Thumbprint' is not supported yet"),
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
        call_command("import_clients", str(write_json(json.dumps(
            _doc(CoordinateLifetimeWithUserSession=True)))))
    assert "client 'legacy', CoordinateLifetimeWithUserSession: true is not supported yet" \
        in str(exc.value)
    assert not models.Client.objects.filter(client_id="legacy").exists()


def test_data_migration_refuses_when_it_loads() -> None:
    with pytest.raises(ConfigDocumentError, match="CoordinateLifetimeWithUserSession: true is "
                                                  "not supported yet"):
        seed_operation(_doc(CoordinateLifetimeWithUserSession=True))


@pytest.mark.django_db
def test_fapi_properties_are_imported(write_json) -> None:
    call_command("import_clients", str(write_json(json.dumps(_doc(
        RequireDPoP=True, RequirePushedAuthorization=True, DPoPValidationMode=3)))))
    row = models.Client.objects.get(client_id="legacy")
    assert (row.require_dpop, row.require_pushed_authorization, row.dpop_validation_mode) == \
        (True, True, 3)


def test_clients_file_is_refused_by_the_system_check(write_json, identity_config) -> None:
    from django.core.management.base import SystemCheckError

    identity_config(CLIENTS_FILE=str(write_json(json.dumps(_doc(EnableLocalLogin=False)))))
    with pytest.raises(SystemCheckError, match="EnableLocalLogin: false is not supported yet"):
        call_command("check")


@pytest.mark.parametrize(("column", "value"), [
    ("coordinate_lifetime_with_user_session", True), ("dpop_validation_mode", 0),
    ("protocol_type", "saml2p"),
    ("non_editable", True), ("access_token_lifetime", 2_000_000_000),
])
def test_admin_clean_refuses_on_the_field(column, value) -> None:
    row = models.Client(client_id="legacy", **{column: value})
    with pytest.raises(ValidationError) as exc:
        row.clean()
    assert list(exc.value.message_dict) == [column]
    message = exc.value.message_dict[column][0]
    assert "not supported" in message or "at most" in message


@pytest.mark.parametrize(("column", "value"), [
    ("require_dpop", True), ("require_request_object", True),
    ("require_pushed_authorization", True), ("dpop_validation_mode", 3),
])
def test_admin_clean_accepts_fapi_settings(column, value) -> None:
    models.Client(client_id="fapi", **{column: value}).clean()


def test_admin_clean_accepts_defaults() -> None:
    models.Client(client_id="fine").clean()
