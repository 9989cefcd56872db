"""Dependencies point one way: from the project down to the protocol core, never back.

The layers, lowest first (docs/architecture.rst draws them): a module may import its own layer
and the ones below it. The protocol core never imports Django's HTTP or ORM, nor clients_app.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PURE = ["identity/domain", "identity/validation", "identity/config_document.py",
        "identity/appsettings_json.py",
        "identity/hashing.py", "identity/constants.py", "identity/identityserver_names.py",
        "identity/stores/interfaces.py", "identity/grants/records.py",
        "identity/grants/handles.py", "identity/grants/families.py"]

# Lowest first. A name ending in "." covers the package's modules but not the package itself.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("identity.constants", "identity.errors", "identity.clock",
                    "identity.hashing", "identity.identityserver_names",
                    "identity.appsettings_json", "identity.domain", "identity.signals")),
    ("store interfaces", ("identity.stores.interfaces", "identity.stores")),
    ("validation", ("identity.validation", "identity.config_document")),
    ("settings", ("identity.conf",)),
    ("tokens", ("identity.tokens",)),
    ("grants", ("identity.grants",)),
    ("stores", ("identity.stores.", "identity.freshness", "identity.models",
                "identity.last_used", "identity.audit", "identity.redis_cache")),
    ("http", ("identity.http", "identity.outage")),
    ("endpoints", ("identity.endpoints",)),
    ("project", ("identity.urls", "identity.admin", "identity.management", "identity.apps",
                 "identity.checks", "identity.migrations")),
    # For the APIs that receive our tokens: stands alone, imports nothing else of identity.
    ("contrib", ("identity.contrib",)),
]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            # `from identity.grants import records` imports the module identity.grants.records
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _files(target: str) -> list[Path]:
    path = ROOT / target
    return sorted(path.rglob("*.py")) if path.is_dir() else [path]


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int | None:
    """Return the index of the layer holding `module` (the longest matching prefix wins)."""
    best: tuple[int, int] | None = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            inside = (module.startswith(prefix) if prefix.endswith(".")
                      else module == prefix or module.startswith(prefix + "."))
            if inside and (best is None or len(prefix) > best[1]):
                best = (index, len(prefix))
    return best[0] if best else None


IDENTITY_FILES = sorted((ROOT / "identity").rglob("*.py"))


@pytest.mark.parametrize("path", [p for t in PURE for p in _files(t)],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_protocol_core_imports_neither_django_nor_clients_app(path: Path) -> None:
    bad = {n for n in _imports(path) if n.startswith(("django", "clients_app", "settings"))}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", IDENTITY_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_identity_never_imports_clients_app_or_the_project(path: Path) -> None:
    bad = {n for n in _imports(path) if n.startswith(("clients_app", "settings"))}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", IDENTITY_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_has_a_layer(path: Path) -> None:
    assert _module(path) == "identity" or layer_of(_module(path)) is not None


@pytest.mark.parametrize("path", IDENTITY_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_a_layer_above_its_own(path: Path) -> None:
    own = layer_of(_module(path))
    if own is None:
        return  # identity/__init__.py: the version only
    upward = sorted(f"{name} ({LAYERS[layer][0]})" for name in _imports(path)
                    if name.startswith("identity.") and (layer := layer_of(name)) is not None
                    and layer > own)
    assert not upward, f"{_module(path)} ({LAYERS[own][0]}) imports upward: {upward}"


def _rank(module: str) -> int:
    layer = layer_of(module)
    assert layer is not None, module
    return layer


def test_the_layer_check_ranks_and_reads_imports_as_it_should(tmp_path: Path) -> None:
    assert _rank("identity.grants.pipeline") > _rank("identity.tokens.claims")
    assert _rank("identity.stores.orm_grants") > _rank("identity.stores.interfaces")
    assert _rank("identity.stores") == _rank("identity.stores.interfaces")
    assert _rank("identity.endpoints.token") > _rank("identity.http.frame")
    module = tmp_path / "module.py"
    module.write_text("from identity.grants import records\n", encoding="utf-8")
    assert "identity.grants.records" in _imports(module)


def test_endpoints_holds_only_routed_views() -> None:
    """Every module in identity/endpoints is an endpoint: the URL configuration routes it."""
    routed = (ROOT / "identity/urls.py").read_text(encoding="utf-8") + \
        (ROOT / "settings/urls.py").read_text(encoding="utf-8")
    modules = [p.stem for p in (ROOT / "identity/endpoints").glob("*.py") if p.stem != "__init__"]
    assert modules
    unrouted = [m for m in modules if f"identity.endpoints.{m}" not in routed
                and f"endpoints.{m} import" not in routed]
    assert not unrouted, f"not endpoints (nothing routes them): {unrouted}"


def _exception_classes(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.name for node in tree.body if isinstance(node, ast.ClassDef)
            and any(getattr(base, "id", getattr(base, "attr", "")).endswith(("Error", "Exception"))
                    for base in node.bases)]


def test_every_public_error_class_lives_in_errors_py() -> None:
    """One error family: a public exception class defined elsewhere is a second one."""
    stray = {str(p.relative_to(ROOT)): names for p in IDENTITY_FILES
             if p.name != "errors.py"
             and (names := [n for n in _exception_classes(p) if not n.startswith("_")])}
    assert not stray, f"define these in identity/errors.py: {stray}"
    assert "OAuthError" in _exception_classes(ROOT / "identity/errors.py")


@pytest.mark.parametrize("path", sorted((ROOT / "identity/contrib").rglob("*.py")),
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_contrib_stands_alone(path: Path) -> None:
    """An API project installs identity.contrib without the server: no model, setting or store
    of ours may come with it."""
    bad = {n for n in _imports(path) if n.startswith("identity") and
           not n.startswith("identity.contrib")}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"
