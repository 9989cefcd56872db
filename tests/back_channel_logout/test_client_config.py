"""BackChannelLogoutUri is honoured: accepted under the rules of every logout URI, from the
admin's model validation, the JSON import and the domain rules alike."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from clients_app import models
from identity.hashing import hash_secret
from identity.validation.client_config import validate_client
from tests.factories import make_interactive_client


def _fields(client) -> list[str]:
    return [p.field for p in validate_client(client)]


@pytest.mark.parametrize("uri", ["https://app.example.com/bcl", "http://localhost:5000/bcl",
                                 "http://127.0.0.1:5000/bcl"])
def test_https_or_loopback_uri_is_accepted(uri: str) -> None:
    assert "back_channel_logout_uri" not in _fields(
        make_interactive_client(back_channel_logout_uri=uri))


@pytest.mark.parametrize("uri", ["http://app.example.com/bcl", "javascript:alert(1)",
                                 "https://app.example.com/bcl#frag", "/relative"])
def test_other_uris_are_refused(uri: str) -> None:
    assert "back_channel_logout_uri" in _fields(
        make_interactive_client(back_channel_logout_uri=uri))


@pytest.mark.django_db
def test_import_clients_stores_back_channel_logout_settings(tmp_path) -> None:
    path = tmp_path / "clients.json"
    path.write_text(json.dumps({"Clients": [{
        "ClientId": "web", "ClientSecrets": [{"Value": hash_secret("secret")}],
        "AllowedGrantTypes": ["authorization_code"],
        "RedirectUris": ["https://app.example.com/cb"],
        "BackChannelLogoutUri": "https://app.example.com/bcl",
        "BackChannelLogoutSessionRequired": False}]}))

    call_command("import_clients", str(path))

    row = models.Client.objects.get(client_id="web")
    assert (row.back_channel_logout_uri, row.back_channel_logout_session_required) == (
        "https://app.example.com/bcl", False)


def test_model_clean_refuses_an_http_uri_naming_the_field() -> None:
    row = models.Client(client_id="web", back_channel_logout_uri="http://app.example.com/bcl")
    with pytest.raises(ValidationError) as exc:
        row.clean()
    assert "back_channel_logout_uri" in exc.value.message_dict


@pytest.mark.parametrize(("key", "value"), [
    ("BACK_CHANNEL_LOGOUT_TIMEOUT", 0), ("BACK_CHANNEL_LOGOUT_TIMEOUT", "2"),
    ("BACK_CHANNEL_LOGOUT_WORKERS", 0), ("BACK_CHANNEL_LOGOUT_RETRIES", -1),
    ("BACK_CHANNEL_LOGOUT_TOKEN_LIFETIME", 1.5), ("BACK_CHANNEL_LOGOUT_RETRY_DELAY", True),
])
def test_bad_back_channel_settings_fail_the_system_check(identity_config, key, value) -> None:
    from django.core.checks import run_checks

    assert "identity.E009" not in {m.id for m in run_checks()}
    identity_config(**{key: value})
    assert "identity.E009" in {m.id for m in run_checks()}
