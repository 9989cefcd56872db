"""IDENTITY_CLIENTS_FILE: clients and resources served from memory, before the database's."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from clients_app import models
from clients_app.importing import import_document
from clients_app.mapping import real_models
from identity.config_document import ConfigDocument
from identity.stores.registry import get_client_store, get_resource_store
from tests.factories import (
    DEFINING_CLIENTS_EXAMPLE,
    REFERENCE_DOCUMENT,
    make_client,
    make_resources,
)

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


DOCS_EXAMPLE = ("// pasted from IdentityServer's \"Defining Clients\" page\n"
                + DEFINING_CLIENTS_EXAMPLE)


def test_documentation_example_is_served_from_the_file(write_json, identity_config, seeded,
                                                       token_post) -> None:
    seeded()  # the api1 scope
    identity_config(CLIENTS_FILE=str(write_json(DOCS_EXAMPLE)))
    call_command("check")
    response = token_post({"grant_type": "client_credentials", "scope": "api1"},
                          auth=("local-dev", "secret"))
    assert response.status_code == 200, response.content
    assert not models.Client.objects.filter(client_id="local-dev").exists()


@pytest.mark.parametrize("text", ["[" * 100_000, '{"Clients": [' + "{" * 100_000])
def test_deep_nesting_is_a_system_check_error(write_json, identity_config, text) -> None:
    from django.core.management.base import SystemCheckError

    identity_config(CLIENTS_FILE=str(write_json(text)))
    with pytest.raises(SystemCheckError) as exc:
        call_command("check")
    message = str(exc.value)
    assert "identity.E004" in message and "nests deeper than 64 levels" in message


def test_unstorable_lifetime_is_a_system_check_error(write_json, identity_config) -> None:
    from django.core.management.base import SystemCheckError

    text = REFERENCE_DOCUMENT.replace('"ClientName"', '"AccessTokenLifetime": 1e400, "ClientName"')
    identity_config(CLIENTS_FILE=str(write_json(text)))
    with pytest.raises(SystemCheckError, match=r"\('local-dev'\)\.AccessTokenLifetime: 1e400 is "
                                               "out of range"):
        call_command("check")
