"""One contract, every client and resource store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from clients_app.importing import import_document
from clients_app.mapping import real_models
from clients_app.stores import OrmClientStore, OrmResourceStore
from identity.config_document import ConfigDocument, dump_document
from identity.domain.resources import STANDARD_IDENTITY_RESOURCES, Resources
from identity.stores.caching import CachingClientStore
from identity.stores.chain import ChainClientStore, ChainResourceStore
from identity.stores.config_file import config_file_stores
from identity.stores.interfaces import find_enabled_client
from identity.stores.memory import InMemoryClientStore, InMemoryResourceStore
from identity.stores.validating import ValidatingClientStore
from tests.factories import make_client, make_interactive_client, make_resources

CLIENTS = (make_client(), make_interactive_client(),
           make_client("disabled.client", enabled=False))


def _resources() -> Resources:
    res = make_resources()
    return Resources(identity_resources=STANDARD_IDENTITY_RESOURCES, api_scopes=res.api_scopes,
                     api_resources=res.api_resources)


def _orm() -> tuple[OrmClientStore, OrmResourceStore]:
    import_document(ConfigDocument(clients=CLIENTS, resources=_resources()), real_models())
    return OrmClientStore(), OrmResourceStore()


def _file(tmp_path: Path):
    path = tmp_path / "clients.json"
    path.write_text(dump_document(CLIENTS, _resources()))
    return config_file_stores(str(path))


BUILDERS: dict[str, Callable] = {
    "memory": lambda tmp: (InMemoryClientStore(CLIENTS), InMemoryResourceStore(_resources())),
    "config_file": _file,
    "orm": lambda tmp: _orm(),
    "caching+validating+orm": lambda tmp: (
        CachingClientStore(ValidatingClientStore(_orm()[0])), OrmResourceStore()),
    "chain(memory-empty, orm)": lambda tmp: (
        ChainClientStore([InMemoryClientStore([]), _orm()[0]]),
        ChainResourceStore([InMemoryResourceStore(Resources()), OrmResourceStore()])),
}


@pytest.fixture(params=list(BUILDERS))
def stores(request, tmp_path, db):
    return BUILDERS[request.param](tmp_path)


def test_finds_client_by_id_with_every_property(stores) -> None:
    clients, _ = stores
    assert clients.find_client_by_id("interactive") == make_interactive_client()
    assert clients.find_client_by_id("service.client") == make_client()


def test_unknown_id_is_none(stores) -> None:
    assert stores[0].find_client_by_id("nobody") is None
    assert stores[0].find_client_by_id("") is None


def test_ids_are_case_sensitive(stores) -> None:
    assert stores[0].find_client_by_id("SERVICE.CLIENT") is None


def test_disabled_client_is_found_but_not_enabled(stores) -> None:
    assert stores[0].find_client_by_id("disabled.client").enabled is False
    assert find_enabled_client(stores[0], "disabled.client") is None
    assert find_enabled_client(stores[0], "service.client") is not None


def test_all_clients(stores) -> None:
    assert sorted(c.client_id for c in stores[0].all_clients()) == [
        "disabled.client", "interactive", "service.client"]


def test_resources_by_scope_names(stores) -> None:
    found = stores[1].find_resources_by_scope_names(["openid", "api1", "unknown"])
    assert [r.name for r in found.identity_resources] == ["openid"]
    assert [s.name for s in found.api_scopes] == ["api1"]
    assert [a.name for a in found.api_resources] == ["api1"]


def test_api_resources_by_name_and_all(stores) -> None:
    assert [a.scopes for a in stores[1].find_api_resources_by_name(["api2"]).api_resources] == [
        ("api2.read_only",)]
    everything = stores[1].all_resources()
    assert {r.name for r in everything.identity_resources} >= {"openid", "profile", "email",
                                                               "address", "phone"}
    assert "offline_access" in everything.scope_names()


def test_memory_store_refuses_duplicate_ids() -> None:
    with pytest.raises(ValueError, match="more than once"):
        InMemoryClientStore([make_client(), make_client()])


def test_validating_store_hides_misconfigured_clients(caplog) -> None:
    bad = make_client("bad", access_token_lifetime=0)
    store = ValidatingClientStore(InMemoryClientStore([bad, make_client()]))
    assert store.find_client_by_id("bad") is None
    assert "AccessTokenLifetime" in caplog.text
    assert [c.client_id for c in store.all_clients()] == ["service.client"]


def test_chain_first_hit_wins() -> None:
    first = InMemoryClientStore([make_client(client_name="from file")])
    second = InMemoryClientStore([make_client(client_name="from db"), make_interactive_client()])
    chain = ChainClientStore([first, second])
    assert chain.find_client_by_id("service.client").client_name == "from file"
    assert chain.find_client_by_id("interactive") is not None
    assert len(list(chain.all_clients())) == 2
