"""IDENTITY_CLIENTS_FILE: clients and resources served from memory, before the database's."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from clients_app import models
from clients_app.importing import import_document
from clients_app.mapping import real_models
from identity.config_document import ConfigDocument
from identity.stores import get_client_store, get_resource_store
from tests.factories import REFERENCE_DOCUMENT, make_client, make_resources

pytestmark = pytest.mark.django_db


def test_file_clients_are_served_without_touching_the_database(
        write_json, identity_config, django_assert_num_queries) -> None:
    identity_config(CLIENTS_FILE=str(write_json(REFERENCE_DOCUMENT)))
    store = get_client_store()
    with django_assert_num_queries(0):
        client = store.find_client_by_id("local-dev")
    assert client is not None and client.client_name == "Local Development"
    assert not models.Client.objects.exists()
    assert not models.ApiScope.objects.exists()


def test_file_clients_are_found_before_database_clients(write_json, identity_config) -> None:
    import_document(ConfigDocument(clients=(make_client("local-dev", client_name="db"),
                                            make_client("db-only")),
                                   resources=make_resources()), real_models())
    identity_config(CLIENTS_FILE=str(write_json(REFERENCE_DOCUMENT)))
    store = get_client_store()
    assert store.find_client_by_id("local-dev").client_name == "Local Development"
    assert store.find_client_by_id("db-only") is not None


def test_file_resources_are_served_with_the_database_ones(write_json, identity_config) -> None:
    identity_config(CLIENTS_FILE=str(write_json(REFERENCE_DOCUMENT)))
    found = get_resource_store().find_resources_by_scope_names(["api2.read_only", "openid"])
    assert [s.name for s in found.api_scopes] == ["api2.read_only"]
    assert [r.name for r in found.identity_resources] == ["openid"]


def test_broken_file_is_reported_by_the_system_check(write_json, identity_config) -> None:
    from django.core.management.base import SystemCheckError

    identity_config(CLIENTS_FILE=str(write_json('{"Clients": [{"ClientId": "x", "Oops": 1}]}')))
    with pytest.raises(SystemCheckError, match="unknown key 'Oops'"):
        call_command("check")
