"""The configuration generation: bumped once per change, read once per request, and what the
key ring and the unshared caches do when it moves."""

from __future__ import annotations

import pytest
from django.db import transaction

from identity import freshness
from identity.freshness import configuration_changed, current_generation
from identity.stores import orm_generation
from identity.tokens.keys import KeyRing
from tests.signing_keys.test_rotation import POLICY, MemoryKeyStore

# serialized_rollback: like the other transactional tests, leave the migrations' rows behind.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_every_change_bumps_the_generation_even_within_one_transaction(seeded) -> None:
    from clients_app.models import Client as ClientRow
    from identity.stores.registry import get_client_store

    seeded()
    store = get_client_store()
    with transaction.atomic():
        ClientRow.objects.filter(client_id="service.client").update(access_token_lifetime=60)
        configuration_changed()
        assert store.find_client_by_id("service.client").access_token_lifetime == 60
        ClientRow.objects.filter(client_id="service.client").update(access_token_lifetime=90)
        configuration_changed()  # the value read in between must not survive this change
        assert store.find_client_by_id("service.client").access_token_lifetime == 90
    assert store.find_client_by_id("service.client").access_token_lifetime == 90


def test_a_rolled_back_change_leaves_the_generation() -> None:
    before = current_generation()
    with pytest.raises(RuntimeError), transaction.atomic():
        configuration_changed()
        raise RuntimeError("the change failed")
    assert current_generation() == before
    with transaction.atomic():
        configuration_changed()
    assert current_generation() == before + 1


def test_the_generation_is_read_once_per_request(seeded, token_post, monkeypatch) -> None:
    seeded()
    grant = {"grant_type": "client_credentials"}
    assert token_post(grant, auth=("service.client", "secret")).status_code == 200  # first key
    reads = []
    real = orm_generation.read_generation
    monkeypatch.setattr(orm_generation, "read_generation", lambda: reads.append(1) or real())
    # The client, the resources and the key ring each ask for it; the database is read once.
    assert token_post(grant, auth=("service.client", "secret")).status_code == 200
    assert reads == [1]


def test_an_unreadable_generation_keeps_the_last_known(monkeypatch) -> None:
    configuration_changed()
    known = current_generation()

    def down() -> tuple[int, int]:
        raise OSError("database down")

    monkeypatch.setattr(orm_generation, "read_generation", down)
    assert current_generation() == known


def test_a_key_rotated_by_one_process_signs_in_every_other_at_its_next_use() -> None:
    store = MemoryKeyStore()
    # Two processes: key rings that trust their loaded keys for an hour, over one key store.
    a, b = (KeyRing(store, ["ES256"], POLICY, "s3cret", 3600, current_generation)
            for _ in range(2))
    first = a.signing_key().kid
    configuration_changed()  # what OrmSigningKeyStore.add does
    assert b.signing_key().kid == first
    a.rotate(immediately=True)
    configuration_changed()
    assert b.signing_key().kid != first
    assert b.signing_key().kid == a.signing_key().kid


def test_unshared_caches_are_keyed_by_generation(seeded) -> None:
    from clients_app.models import Client as ClientRow
    from identity.stores.registry import get_client_store

    seeded()
    assert not freshness.cache_is_shared()
    store = get_client_store()
    assert store.find_client_by_id("service.client").enabled
    # A change no signal reports in this process (another process's update()), then the bump.
    ClientRow.objects.filter(client_id="service.client").update(enabled=False)
    assert store.find_client_by_id("service.client").enabled
    configuration_changed()
    assert not store.find_client_by_id("service.client").enabled
