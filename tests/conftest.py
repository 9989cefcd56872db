"""Shared fixtures: a clean cache and freshly built stores for every test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import caches

from identity import stores


@pytest.fixture(autouse=True)
def _fresh_stores_and_cache() -> Iterator[None]:
    caches["default"].clear()
    stores.reset_stores()
    yield
    caches["default"].clear()
    stores.reset_stores()


@pytest.fixture
def identity_config(settings: Any) -> Callable[..., None]:
    """Override keys of settings.IDENTITY for one test: `identity_config(CLIENTS_FILE=...)`."""

    def override(**values: Any) -> None:
        settings.IDENTITY = {**settings.IDENTITY, **values}

    return override


@pytest.fixture
def write_json(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write text to a file in a temporary folder and return its path."""

    def write(text: str, name: str = "clients.json") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
