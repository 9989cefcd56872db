"""Data-migration helpers, run through Django's migration machinery with historical models."""

from __future__ import annotations

import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from clients_app import models
from clients_app.seeding import seed_clients, seed_operation, unseed_clients
from clients_app.stores import OrmClientStore
from identity.config_document import ConfigDocumentError, parse_json

EXAMPLE = importlib.import_module("tests.clients_app.example_migrations.0003_seed_billing")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_real_migration_seeds_and_reverses() -> None:
    executor = MigrationExecutor(connection)
    before = executor.loader.project_state(("clients_app", "0002_standard_identity_resources"))
    migration = EXAMPLE.Migration("0003_seed_billing", "clients_app")
    with connection.schema_editor(atomic=True) as editor:
        after = migration.apply(before.clone(), editor)
    client = OrmClientStore().find_client_by_id("billing")
    assert client is not None and client.allowed_scopes == ("billing.read",)
    assert models.ApiScope.objects.filter(name="billing.read").exists()
    with connection.schema_editor(atomic=True) as editor:
        migration.unapply(after, editor)
    assert not models.Client.objects.filter(client_id="billing").exists()
    assert not models.ApiScope.objects.filter(name="billing.read").exists()
    assert models.IdentityResource.objects.filter(name="openid").exists()


@pytest.mark.django_db
def test_seed_helpers_accept_dict_and_json_text() -> None:
    from django.apps import apps

    seed_clients(apps, EXAMPLE.BILLING)
    seed_clients(apps, '{"Clients": [{"ClientId": "spa", "RequireClientSecret": false, '
                       '"AllowedGrantTypes": ["authorization_code"], '
                       '"RedirectUris": ["https://spa.example.com/cb"]}]}')
    assert set(models.Client.objects.values_list("client_id", flat=True)) == {"billing", "spa"}
    unseed_clients(apps, EXAMPLE.BILLING)
    assert list(models.Client.objects.values_list("client_id", flat=True)) == ["spa"]


def test_bad_seed_document_fails_when_the_migration_loads() -> None:
    with pytest.raises(ConfigDocumentError, match="AllowedGrantTypes"):
        seed_operation({"Clients": [{"ClientId": "x", "AllowedGrantTypes": ["a b"]}]})


APPSETTINGS_SEED = """\
// seeded by a data migration
{
  "IdentityServer": {
    /* a public client */
    "Clients": [
      {
        "ClientId": "spa",
        "RequireClientSecret": false,
        "AllowedGrantTypes": ["authorization_code"],
        "RedirectUris": ["https://spa.example.com/cb"], // trailing comma next line
      },
    ],
  },
}
"""


@pytest.mark.django_db
def test_seed_text_may_have_comments_and_trailing_commas() -> None:
    from django.apps import apps

    seed_clients(apps, APPSETTINGS_SEED)
    assert list(models.Client.objects.values_list("client_id", flat=True)) == ["spa"]


@pytest.mark.django_db
def test_seed_path_is_read_as_import_clients_reads_it(tmp_path) -> None:
    from django.apps import apps

    path = tmp_path / "seed.json"
    path.write_text(APPSETTINGS_SEED, encoding="utf-8")
    seed_clients(apps, str(path))
    assert list(models.Client.objects.values_list("client_id", flat=True)) == ["spa"]


def test_deeply_nested_seed_is_refused_with_the_import_message() -> None:
    text = "[" * 100_000 + "]" * 100_000
    with pytest.raises(ConfigDocumentError) as raised:
        seed_operation(text)
    with pytest.raises(ConfigDocumentError) as imported:
        parse_json(text)
    assert raised.value.problems == imported.value.problems
    assert "nests deeper than 64 levels" in str(raised.value)


@pytest.mark.django_db
def test_bare_member_string_is_text_not_a_file_name() -> None:
    from django.apps import apps

    seed_clients(apps, '  // pasted from the docs\n"IdentityServer": {"Clients": [{'
                       '"ClientId": "spa", "RequireClientSecret": false, '
                       '"AllowedGrantTypes": ["authorization_code"], '
                       '"RedirectUris": ["https://spa.example.com/cb"]}]},')
    assert list(models.Client.objects.values_list("client_id", flat=True)) == ["spa"]


def test_other_strings_are_file_names() -> None:
    with pytest.raises(ConfigDocumentError, match="missing.json: cannot read the file"):
        seed_operation("missing.json")
