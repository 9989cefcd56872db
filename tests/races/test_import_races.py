"""Parallel `manage.py import_clients` runs on the same clients (PostgreSQL only).

Each round imports from THREADS threads at once, each with its own connection; afterwards every
client and every child row exists once and the database holds exactly one document, never a mix.
"""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import pytest

from clients_app import models
from clients_app.mapping import CLIENT_CHILDREN
from identity.config_document import load_document
from tests.races.documents import holds, run_import, write
from tests.races.harness import race, repeat

THREADS = 4

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True),
              pytest.mark.usefixtures("postgresql_only")]
_round = itertools.count()


def _race_imports(paths: list[Path]) -> Counter:
    return Counter(race(THREADS, lambda i: paths[i % len(paths)], run_import))


def _assert_none_refused(outcomes: Counter) -> None:
    # Imports wait for each other: none has to be retried.
    refused = [summary for summary in outcomes if summary.startswith("refused")]
    assert not refused, f"{sum(outcomes[r] for r in refused)} of {THREADS} {refused[0]}"


def _assert_each_row_once(path: Path) -> None:
    document = load_document(path)
    for client in document.clients:
        row = models.Client.objects.get(client_id=client.client_id)
        for attr, child in CLIENT_CHILDREN.items():
            count = getattr(models, child.model).objects.filter(client=row).count()
            assert count == len(getattr(client, attr)), \
                f"{count} {attr} rows, not {len(getattr(client, attr))}"
    for api in document.resources.api_resources:
        row = models.ApiResource.objects.get(name=api.name)
        for attr in ("api_secrets", "scopes", "user_claims"):
            count = getattr(row, attr).count()
            assert count == len(getattr(api, attr)), \
                f"{count} API resource {attr} rows, not {len(getattr(api, attr))}"
    assert holds(path), "the database differs from the document"


def _label(outcomes: Counter) -> str:
    return ", ".join(f"{n}x {summary}" for summary, n in sorted(outcomes.items()))


def _new_clients_round(tmp_path: Path) -> str:
    path = write(tmp_path, f"r{next(_round)}", "blue")
    outcomes = _race_imports([path])
    _assert_each_row_once(path)
    _assert_none_refused(outcomes)
    # Serialized: the first import creates, the others find everything as it says.
    assert outcomes == {"4 created, 0 changed, 0 deleted, 0 unchanged": 1,
                        "0 created, 0 changed, 0 deleted, 4 unchanged": THREADS - 1}, outcomes
    return _label(outcomes)


def _changed_clients_round(tmp_path: Path) -> str:
    prefix = f"r{next(_round)}"
    run_import(write(tmp_path, prefix, "blue"))
    path = write(tmp_path, prefix, "purple")
    outcomes = _race_imports([path])
    _assert_each_row_once(path)
    _assert_none_refused(outcomes)
    assert outcomes == {"0 created, 2 changed, 0 deleted, 2 unchanged": 1,
                        "0 created, 0 changed, 0 deleted, 4 unchanged": THREADS - 1}, outcomes
    return _label(outcomes)


def _two_documents_round(tmp_path: Path) -> str:
    prefix = f"r{next(_round)}"
    run_import(write(tmp_path, prefix, "blue"))
    paths = [write(tmp_path, prefix, "green"), write(tmp_path, prefix, "orange")]
    outcomes = _race_imports(paths)
    held = [p for p in paths if holds(p)]
    assert len(held) == 1, "the database holds a mix of both documents"
    _assert_each_row_once(held[0])
    _assert_none_refused(outcomes)
    return f"{held[0].stem.split('-')[1]} imported last"


def test_parallel_imports_of_new_clients_create_each_row_once(tmp_path) -> None:
    repeat(lambda: _new_clients_round(tmp_path))


def test_parallel_imports_of_changed_clients_replace_each_collection_once(tmp_path) -> None:
    repeat(lambda: _changed_clients_round(tmp_path))


def test_parallel_imports_of_two_documents_leave_one_of_them_whole(tmp_path) -> None:
    repeat(lambda: _two_documents_round(tmp_path))


def test_parallel_imports_of_two_documents_when_importing_is_slow(tmp_path, slow_import) -> None:
    repeat(lambda: _two_documents_round(tmp_path))
