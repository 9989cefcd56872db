"""The `own_database` marker: its tests run on SQLite and are skipped on any other database, so
that the test command's two passes run them once between them, never zero times."""

from __future__ import annotations

import pytest
from django.conf import settings

from tests import conftest


class _Item:
    """As much of a collected test as the hook reads and writes."""

    def __init__(self, *marks: pytest.MarkDecorator) -> None:
        self.marks = [m.mark for m in marks]

    def get_closest_marker(self, name: str) -> pytest.Mark | None:
        return next((m for m in self.marks if m.name == name), None)

    def add_marker(self, marker: pytest.MarkDecorator) -> None:
        self.marks.append(marker.mark)


@pytest.mark.parametrize(("engine", "skipped"), [
    ("django.db.backends.sqlite3", False),
    ("django.db.backends.postgresql", True),
])
def test_own_database_tests_run_on_sqlite_only(monkeypatch, engine: str, skipped: bool) -> None:
    monkeypatch.setitem(settings.DATABASES["default"], "ENGINE", engine)
    marked, plain = _Item(pytest.mark.own_database), _Item(pytest.mark.browser)
    conftest.pytest_collection_modifyitems([marked, plain])
    assert (marked.get_closest_marker("skip") is not None) is skipped
    assert plain.get_closest_marker("skip") is None
