"""The cached ORM store: no query on a hit, a fixed number on a miss, invalidation on save."""

from __future__ import annotations

import pickle

import pytest
from django.core.cache import caches

from clients_app import models
from clients_app.importing import import_document
from clients_app.mapping import real_models
from identity.config_document import ConfigDocument
from identity.freshness import current_generation
from identity.stores.caching import client_cache_key
from identity.stores.registry import get_client_store
from tests.factories import make_client, make_interactive_client, make_resources

pytestmark = pytest.mark.django_db


def _seed(*clients) -> None:
    import_document(ConfigDocument(clients=clients, resources=make_resources()), real_models())


def test_uncached_lookup_makes_a_fixed_number_of_queries(django_assert_num_queries) -> None:
    _seed(*[make_client(f"c{i}") for i in range(30)], make_interactive_client())
    store = get_client_store()
    # The configuration generation (read once per request; here, outside a request, per lookup),
    # then the client and one query per child table.
    with django_assert_num_queries(11):
        assert store.find_client_by_id("c7") is not None
    with django_assert_num_queries(11):
        assert store.find_client_by_id("interactive") is not None


def test_cached_lookup_makes_no_query(django_assert_num_queries) -> None:
    _seed(make_client())
    store = get_client_store()
    first = store.find_client_by_id("service.client")
    with django_assert_num_queries(1):  # the generation only: the local cache is not shared
        assert store.find_client_by_id("service.client") == first


def test_misses_are_not_cached(django_assert_num_queries) -> None:
    store = get_client_store()
    assert store.find_client_by_id("later") is None
    _seed(make_client("later"))
    assert store.find_client_by_id("later") is not None


def test_cached_value_is_a_picklable_domain_object() -> None:
    _seed(make_client())
    client = get_client_store().find_client_by_id("service.client")
    assert pickle.loads(pickle.dumps(client)) == client
    # The local-memory cache is not shared: its keys carry the configuration generation.
    key = f"{client_cache_key('service.client')}:g{current_generation()}"
    assert caches["default"].get(key) == client


def test_saving_the_client_row_invalidates() -> None:
    _seed(make_client())
    store = get_client_store()
    assert store.find_client_by_id("service.client").access_token_lifetime == 3600
    row = models.Client.objects.get(client_id="service.client")
    row.access_token_lifetime = 60
    row.save()
    assert store.find_client_by_id("service.client").access_token_lifetime == 60


@pytest.mark.parametrize("change", ["add_scope", "delete_secret", "edit_grant"])
def test_changing_a_child_row_invalidates(change) -> None:
    _seed(make_client(client_secrets=make_client().client_secrets * 1))
    store = get_client_store()
    before = store.find_client_by_id("service.client")
    row = models.Client.objects.get(client_id="service.client")
    if change == "add_scope":
        models.ClientScope.objects.create(client=row, scope="api2.read_only")
    elif change == "delete_secret":
        row.client_secrets.first().delete()
    else:
        grant = row.allowed_grant_types.first()
        grant.grant_type = "password"
        grant.save()
    after = store.find_client_by_id("service.client")
    assert after != before


def test_deleting_and_renaming_invalidate() -> None:
    _seed(make_client(), make_client("other"))
    store = get_client_store()
    assert store.find_client_by_id("service.client") is not None
    assert store.find_client_by_id("other") is not None
    models.Client.objects.get(client_id="other").delete()
    assert store.find_client_by_id("other") is None
    row = models.Client.objects.get(client_id="service.client")
    row.client_id = "renamed"
    row.save()
    assert store.find_client_by_id("service.client") is None
    assert store.find_client_by_id("renamed") is not None


def test_reimport_invalidates() -> None:
    _seed(make_client())
    store = get_client_store()
    assert store.find_client_by_id("service.client").enabled
    _seed(make_client(enabled=False))
    assert not store.find_client_by_id("service.client").enabled
