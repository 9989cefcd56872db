"""Read and write IdentityServer's appsettings document: clients, API scopes and resources.

The `IdentityServer` section is accepted as it is (with or without the wrapper, or as a bare list
of clients). Text is read by `identity.appsettings_json` as ASP.NET Core reads appsettings.json
(comments, trailing commas, a bare `"IdentityServer": {...}` member, bounded nesting); this module
maps the data to domain objects. Keys match case-insensitively, and scalars may be strings, as .NET
configuration binding allows; enums go by name or by IdentityServer's integer. Every problem is
collected so that one run names them all, and no input ends in a traceback: numbers are bounded.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar

from identity.appsettings_json import JsonTextError, UnstorableNumber, loads
from identity.domain.client import Client, ClientClaim, Secret
from identity.domain.resources import ApiResource, ApiScope, IdentityResource, Resources
from identity.errors import ConfigDocumentError as ConfigDocumentError  # importable from here too
from identity.hashing import is_hashed_secret
from identity.identityserver_names import json_name
from identity.validation.client_config import validate_client

T = TypeVar("T")
SECTION: Final = "IdentityServer"
_COLLECTIONS: Final[dict[str, tuple[str, type[Any]]]] = {
    "clients": ("Clients", Client),
    "api_scopes": ("ApiScopes", ApiScope),
    "api_resources": ("ApiResources", ApiResource),
    "identity_resources": ("IdentityResources", IdentityResource),
}
_TIMESPANS: Final = frozenset({"dpop_clock_skew"})  # C# TimeSpan, written "hh:mm:ss"
_TIMESPAN_RE: Final = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})$")
# IdentityServer's numbers are C# ints, and so are the columns that hold them.
INT_MIN: Final = -(2**31)
INT_MAX: Final = 2**31 - 1




@dataclass(frozen=True, slots=True)
class ConfigDocument:
    """What a document defines, and notes on what it contained but this server ignores."""

    clients: tuple[Client, ...] = ()
    resources: Resources = Resources()
    notes: tuple[str, ...] = ()


def load_document(path: str | Path) -> ConfigDocument:
    """Read and parse a JSON file, raising ConfigDocumentError with line and column."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigDocumentError([f"{path}: cannot read the file: {exc}"]) from None
    return parse_json(text, str(path))


def parse_json(text: str, source: str = "document") -> ConfigDocument:
    """Parse JSON text (IdentityServer appsettings style) into domain objects."""
    try:
        data, bare = loads(text, source)
    except JsonTextError as exc:
        raise ConfigDocumentError([str(exc)]) from None
    document = parse_document(data)
    if bare:
        note = ("the document is a bare member (\"Name\": {...}) without outer braces; it was "
                "read as if wrapped in { }")
        document = dataclasses.replace(document, notes=(note, *document.notes))
    return document


def parse_document(data: Any) -> ConfigDocument:
    """Turn decoded JSON (the section, its wrapper, or a list of clients) into domain objects."""
    problems: list[str] = []
    notes: list[str] = []
    section = _section(data, problems)
    found: dict[str, list[Any]] = {name: [] for name in _COLLECTIONS}
    keys = {json_key.lower(): name for name, (json_key, _) in _COLLECTIONS.items()}
    for key, value in section.items():
        name = keys.get(key.lower())
        if name is None:
            notes.append(f"{SECTION}:{key} is not read from this document and is ignored"
                         + (" (set IDENTITY_ISSUER instead)" if key.lower() == "issueruri" else ""))
            continue
        json_key, cls = _COLLECTIONS[name]
        if not isinstance(value, list):
            problems.append(f"{json_key}: expected a list, got {_type_name(value)}.")
            continue
        for index, item in enumerate(value):
            where = f"{json_key}[{index}]"
            obj = _build(cls, item, where, problems)
            if obj is not None:
                found[name].append(obj)
    resources = Resources(
        identity_resources=tuple(found["identity_resources"]),
        api_scopes=tuple(found["api_scopes"]),
        api_resources=tuple(found["api_resources"]),
    )
    clients = tuple(found["clients"])
    problems += _duplicates("Clients", [c.client_id for c in clients])
    for name in ("api_scopes", "api_resources", "identity_resources"):
        problems += _duplicates(_COLLECTIONS[name][0], [r.name for r in found[name]])
    for client in clients:
        problems += [p.describe(client.client_id) for p in validate_client(client)]
    if problems:
        raise ConfigDocumentError(problems)
    return ConfigDocument(clients=clients, resources=resources, notes=tuple(notes))


def _section(data: Any, problems: list[str]) -> Mapping[str, Any]:
    if isinstance(data, list):
        return {"Clients": data}
    if not isinstance(data, dict):
        problems.append(f"the document must be a JSON object, got {_type_name(data)}.")
        return {}
    for key, value in data.items():
        if key.lower() == SECTION.lower():
            if isinstance(value, dict):
                return value
            problems.append(f"{SECTION}: expected an object, got {_type_name(value)}.")
            return {}
    return data


def _duplicates(label: str, names: list[str]) -> list[str]:
    seen: set[str] = set()
    repeated = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    return [f"{label}: {n!r} is defined more than once." for n in repeated]


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "a number", float: "a number", UnstorableNumber: "a number",
            type(None): "null"}.get(type(value), "a value")


def _shown(raw: Any) -> str:
    """Show a value in a message: scalars briefly, containers by kind (they may be huge)."""
    if isinstance(raw, dict | list | tuple):
        return _type_name(raw)
    if isinstance(raw, float) and not math.isfinite(raw):
        return "NaN" if math.isnan(raw) else "Infinity" if raw > 0 else "-Infinity"
    text = repr(raw)
    return text if len(text) <= 60 else text[:57] + "..."


# ---- object building, driven by the dataclass annotations --------------------------------------

_Schema = tuple[dict[str, Any], dict[str, str], tuple[str, ...]]
_SCHEMAS: dict[type, _Schema] = {}


def _schema(cls: type) -> _Schema:
    """Return a class's type hints, its fields by lower-case JSON key, and its required fields."""
    schema = _SCHEMAS.get(cls)
    if schema is None:
        fields = dataclasses.fields(cls)
        schema = _SCHEMAS[cls] = (
            typing.get_type_hints(cls), {json_name(f.name).lower(): f.name for f in fields},
            tuple(f.name for f in fields if f.default is dataclasses.MISSING))
    return schema


def _build(cls: type[T], item: Any, where: str, problems: list[str]) -> T | None:
    if not isinstance(item, dict):
        problems.append(f"{where}: expected an object, got {_type_name(item)}.")
        return None
    hints, by_key, required = _schema(cls)
    values: dict[str, Any] = {}
    before = len(problems)
    label = where
    for key, raw in item.items():
        attr = by_key.get(str(key).lower())
        if attr is None:
            problems.append(f"{where}: unknown key {key!r}; check its spelling against "
                            f"IdentityServer's {cls.__name__} properties.")
            continue
        if attr in ("client_id", "name") and isinstance(raw, str):
            label = f"{where} ({_shown(raw)})"
        values[attr] = _convert(attr, hints[attr], raw, f"{label}.{json_name(attr)}", problems)
    for attr in required:
        if values.get(attr) in (None, ""):
            problems.append(f"{label}: {json_name(attr)} is required.")
    if len(problems) > before:
        return None
    return cls(**values)


def _convert(attr: str, hint: Any, raw: Any, where: str, problems: list[str]) -> Any:
    try:
        if attr in _TIMESPANS:
            return _timespan(raw)
        return _coerce(hint, raw, where)
    except _Bad as exc:
        problems.append(f"{where}: {exc}")
        return None


class _Bad(ValueError):
    pass


def _coerce(hint: Any, raw: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        if raw is None or raw == "":  # .NET binds an empty value as null for these
            return None
        return _coerce(next(a for a in args if a is not type(None)), raw, where)
    if origin is tuple:
        item = args[0]
        if typing.get_origin(item) is tuple:  # properties: tuple[tuple[str, str], ...]
            if not isinstance(raw, dict):
                raise _Bad(f"expected an object of names to values, got {_type_name(raw)}.")
            return tuple(sorted((str(k), _scalar(str, v)) for k, v in raw.items()))
        if raw is None:
            return ()
        if not isinstance(raw, list):
            raise _Bad(f"expected a list, got {_type_name(raw)}.")
        return tuple(_element(item, value, f"{where}[{i}]") for i, value in enumerate(raw))
    return _scalar(hint, raw)


def _element(item: Any, value: Any, where: str) -> Any:
    builder = _NESTED.get(item)
    if builder is not None:
        return builder(value, where)
    return _scalar(item, value)


def _scalar(hint: Any, raw: Any) -> Any:
    if isinstance(hint, type) and issubclass(hint, enum.IntEnum):
        return _enum(hint, raw)
    if hint is bool:
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
            return raw.strip().lower() == "true"
        raise _Bad(f"expected true or false, got {_shown(raw)}.")
    if hint is int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return _in_range(raw, raw)
        if isinstance(raw, str) and re.fullmatch(r"\s*-?\d{1,12}\s*", raw):
            return _in_range(int(raw), raw)
        if isinstance(raw, UnstorableNumber):
            _in_range(None, raw)
        raise _Bad(f"expected a whole number, got {_shown(raw)}.")
    if hint is str:
        if isinstance(raw, str):
            return raw
        raise _Bad(f"expected a string, got {_type_name(raw)}.")
    if hint is datetime:
        return _datetime(raw)
    raise _Bad(f"cannot read {raw!r}.")  # pragma: no cover - every annotation is handled above


def _in_range(value: int | None, raw: Any) -> int:
    if value is None or not INT_MIN <= value <= INT_MAX:
        raise _Bad(f"{_shown(raw)} is out of range; use a whole number from {INT_MIN} to "
                   f"{INT_MAX} (IdentityServer's int).")
    return value


def _enum(cls: type[enum.IntEnum], raw: Any) -> enum.IntEnum:
    names = {m.name.lower(): m for m in cls}
    if isinstance(raw, str) and raw.strip().lower() in names:
        return names[raw.strip().lower()]
    if isinstance(raw, int | str) and not isinstance(raw, bool) and str(raw).strip().isdigit():
        try:
            return cls(int(raw))
        except ValueError:
            pass
    choices = ", ".join(f"{m.name} ({m.value})" for m in cls)
    raise _Bad(f"{_shown(raw)} is not one of {choices}.")


def _datetime(raw: Any) -> datetime:
    if not isinstance(raw, str):
        raise _Bad(f"expected an ISO 8601 date and time, got {_type_name(raw)}.")
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise _Bad(f"{_shown(raw)} is not an ISO 8601 date and time such as "
                   f"2027-01-31T00:00:00Z.") from None
    try:  # stored in UTC: 0001-01-01T00:00:00+01:00 has no UTC date
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except OverflowError:
        raise _Bad(f"{_shown(raw)} is out of range in UTC.") from None


def _timespan(raw: Any) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return _in_range(raw, raw)
    match = _TIMESPAN_RE.match(raw.strip()) if isinstance(raw, str) else None
    if not match:
        raise _Bad(f"expected a TimeSpan such as \"00:05:00\", got {_shown(raw)}.")
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return _in_range(((days * 24 + hours) * 60 + minutes) * 60 + seconds, raw)


def _secret(raw: Any, where: str) -> Secret:
    if not isinstance(raw, dict):
        raise _Bad(f"expected an object with Value, got {_type_name(raw)}.")
    problems: list[str] = []
    secret = _build(Secret, raw, where, problems)
    if secret is None:
        raise _Bad("; ".join(p.removeprefix(f"{where}: ") for p in problems))
    if secret.type == "SharedSecret" and not is_hashed_secret(secret.value):
        raise _Bad("Value must be the Base64 SHA-256 or SHA-512 hash of the secret, never the "
                   "secret itself; `manage.py hash_secret` prints it.")
    return secret


def _claim(raw: Any, where: str) -> ClientClaim:
    problems: list[str] = []
    claim = _build(ClientClaim, raw, where, problems)
    if claim is None:
        raise _Bad("; ".join(p.removeprefix(f"{where}: ") for p in problems))
    return claim


_NESTED: Final[dict[Any, Callable[[Any, str], Any]]] = {Secret: _secret, ClientClaim: _claim}


# ---- writing ----------------------------------------------------------------------------------

def to_json_object(obj: Any) -> dict[str, Any]:
    """Write a client, scope or resource with IdentityServer's names, every property present."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        out[json_name(f.name)] = _write(f.name, getattr(obj, f.name))
    return out


def _write(attr: str, value: Any) -> Any:
    if attr in _TIMESPANS:
        return f"{value // 3600:02d}:{value // 60 % 60:02d}:{value % 60:02d}"
    if isinstance(value, enum.IntEnum):
        return value.name
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if attr == "properties":
        return dict(value)
    if isinstance(value, tuple):
        return [to_json_object(v) if dataclasses.is_dataclass(v) else v for v in value]
    return value


def dump_document(clients: tuple[Client, ...], resources: Resources) -> str:
    """Write the import format, sorted and indented so that it diffs cleanly."""
    section = {
        "IdentityResources": [to_json_object(r)
                              for r in sorted(resources.identity_resources, key=lambda r: r.name)],
        "ApiScopes": [to_json_object(s)
                      for s in sorted(resources.api_scopes, key=lambda s: s.name)],
        "ApiResources": [to_json_object(r)
                         for r in sorted(resources.api_resources, key=lambda r: r.name)],
        "Clients": [to_json_object(c) for c in sorted(clients, key=lambda c: c.client_id)],
    }
    return json.dumps({SECTION: section}, indent=2, ensure_ascii=False) + "\n"
