"""Dependencies point one way: the protocol core never imports Django HTTP/ORM or clients_app."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE = ["identity/domain", "identity/validation", "identity/config_document.py",
        "identity/appsettings_json.py",
        "identity/hashing.py", "identity/constants.py", "identity/json_names.py"]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _files(target: str) -> list[Path]:
    path = ROOT / target
    return sorted(path.rglob("*.py")) if path.is_dir() else [path]


@pytest.mark.parametrize("path", [p for t in PURE for p in _files(t)],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_protocol_core_imports_neither_django_nor_clients_app(path: Path) -> None:
    bad = {n for n in _imports(path) if n.startswith(("django", "clients_app", "settings"))}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", sorted((ROOT / "identity").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_identity_never_imports_clients_app_or_the_project(path: Path) -> None:
    bad = {n for n in _imports(path) if n.startswith(("clients_app", "settings"))}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"
