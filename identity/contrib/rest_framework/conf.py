"""The API project's ``IDENTITY_RESOURCE_SERVER`` setting, read and checked once.

Every request needs the issuer, audience and algorithms; reading and validating the Django
setting per request would cost more than verifying a signature. So the dictionary becomes a
frozen object on first use and is read again only when Django announces a change (tests
override settings; a running server never does).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

SETTING: Final = "IDENTITY_RESOURCE_SERVER"

# Asymmetric algorithms only: with HMAC the verification key is the signing key, so an API
# that held it could mint tokens, and a published public key could be misused as an HMAC secret.
SUPPORTED_ALGORITHMS: Final = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                                         "ES256", "ES384", "ES512"})

DEFAULTS: Final[Mapping[str, Any]] = {
    "ISSUER": None,  # the AUTHORITY
    "ALGORITHMS": ("RS256", "PS256", "ES256"),
    "LEEWAY": 30,
    "HTTP_TIMEOUT": 5.0,
    "REQUIRE_HTTPS": True,
    "JWKS_MAX_AGE": 3600,
    "JWKS_MIN_REFETCH_INTERVAL": 30,
    "SHARE_KEYS_IN_CACHE": True,
    "CACHE_ALIAS": "default",
    "INTROSPECTION_CLIENT_ID": None,
    "INTROSPECTION_CLIENT_SECRET": None,
    "INTROSPECTION_CACHE_SECONDS": 60,
    "REALM": "api",
    # DPoP (RFC 9449 §4.3): seconds a proof is accepted after its iat, and the clock difference
    # allowed on either side (clients' clocks, not only the identity server's; 300 is the
    # identity server's own default for DPoP proofs at its token endpoint).
    "DPOP_PROOF_LIFETIME": 60,
    "DPOP_CLOCK_SKEW": 300,
}
_KNOWN: Final = frozenset(DEFAULTS) | {"AUTHORITY", "AUDIENCE"}


@dataclass(frozen=True, slots=True)
class ResourceServerSettings:
    """The checked settings; see docs/resource-servers.rst for what each one means."""

    authority: str
    issuer: str
    audiences: frozenset[str] | None  # None: the project opted out of the audience check
    algorithms: frozenset[str]
    leeway: float
    http_timeout: float
    require_https: bool
    jwks_max_age: float
    jwks_min_refetch_interval: float
    share_keys_in_cache: bool
    cache_alias: str
    introspection_client_id: str | None
    introspection_client_secret: str | None
    introspection_cache_seconds: float
    realm: str
    dpop_proof_lifetime: float
    """DPOP_PROOF_LIFETIME: seconds a DPoP proof is accepted after its `iat`, and so how long
    its `jti` is remembered (with the skew) to refuse a replay."""
    dpop_clock_skew: float
    """DPOP_CLOCK_SKEW: seconds a proof's `iat` may be ahead of this API's clock, or behind it
    beyond the lifetime: the client's clock is not ours."""

    @property
    def discovery_url(self) -> str:
        return f"{self.authority}/.well-known/openid-configuration"

    @property
    def introspection_configured(self) -> bool:
        return bool(self.introspection_client_id and self.introspection_client_secret)


def _fail(message: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"{SETTING}: {message}")


def _url(name: str, value: object, require_https: bool) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(f"{name} must be the identity server's base URL, "
                    "e.g. 'https://id.example.com'.")
    url = value.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise _fail(f"{name} {value!r} is not an absolute http(s) URL.")
    if require_https and parts.scheme != "https":
        raise _fail(f"{name} {value!r} is not https; set REQUIRE_HTTPS to False only for "
                    "development against a local server.")
    return url


def _audiences(raw: Mapping[str, Any]) -> frozenset[str] | None:
    if "AUDIENCE" not in raw:
        raise _fail("AUDIENCE is not set. Set it to this API's resource name (the ApiResource "
                    "name on the identity server), which access tokens must carry in 'aud' "
                    "(RFC 9068 §4). To accept tokens for any audience, set AUDIENCE to None "
                    "explicitly.")
    value = raw["AUDIENCE"]
    if value is None:
        return None
    names = [value] if isinstance(value, str) else value
    if (not isinstance(names, list | tuple | set | frozenset) or not names
            or not all(isinstance(n, str) and n for n in names)):
        raise _fail("AUDIENCE must be a non-empty string, a list of them, or None.")
    return frozenset(names)


def _algorithms(value: object) -> frozenset[str]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list | tuple | set | frozenset) or not names:
        raise _fail("ALGORITHMS must be a non-empty list of algorithm names.")
    refused = sorted(str(n) for n in names if n not in SUPPORTED_ALGORITHMS)
    if refused:
        raise _fail(f"ALGORITHMS {refused} are not allowed: only the asymmetric "
                    f"{sorted(SUPPORTED_ALGORITHMS)} are ('none' and HMAC never are).")
    return frozenset(str(n) for n in names)


def _number(raw: Mapping[str, Any], name: str, minimum: float = 0) -> float:
    value = raw[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise _fail(f"{name} must be a number of seconds >= {minimum}, not {value!r}.")
    return float(value)


def _optional_text(raw: Mapping[str, Any], name: str) -> str | None:
    value = raw[name]
    if value is not None and not isinstance(value, str):
        raise _fail(f"{name} must be a string or None.")
    return value or None


def parse(configured: object) -> ResourceServerSettings:
    """Check the setting's dictionary and return the settings; raise ImproperlyConfigured with
    a message naming what is wrong."""
    if not isinstance(configured, Mapping):
        raise _fail("the setting is missing or not a dictionary; at least AUTHORITY and "
                    "AUDIENCE are needed.")
    unknown = sorted(set(configured) - _KNOWN)
    if unknown:
        raise _fail(f"unknown keys {unknown}; the known ones are {sorted(_KNOWN)}.")
    raw = {**DEFAULTS, **configured}
    require_https = bool(raw["REQUIRE_HTTPS"])
    authority = _url("AUTHORITY", raw.get("AUTHORITY"), require_https)
    issuer = raw["ISSUER"] if raw["ISSUER"] is not None else authority
    if not isinstance(issuer, str) or not issuer:
        raise _fail("ISSUER must be a string (the 'iss' of the tokens) or None.")
    client_id = _optional_text(raw, "INTROSPECTION_CLIENT_ID")
    secret = _optional_text(raw, "INTROSPECTION_CLIENT_SECRET")
    if bool(client_id) != bool(secret):
        raise _fail("INTROSPECTION_CLIENT_ID and INTROSPECTION_CLIENT_SECRET go together.")
    if not isinstance(raw["CACHE_ALIAS"], str) or not isinstance(raw["REALM"], str):
        raise _fail("CACHE_ALIAS and REALM must be strings.")
    if '"' in raw["REALM"] or "\\" in raw["REALM"]:
        raise _fail("REALM may not contain quotes or backslashes.")
    return ResourceServerSettings(
        authority=authority, issuer=issuer, audiences=_audiences(configured),
        algorithms=_algorithms(raw["ALGORITHMS"]), leeway=_number(raw, "LEEWAY"),
        http_timeout=_number(raw, "HTTP_TIMEOUT", 0.1), require_https=require_https,
        jwks_max_age=_number(raw, "JWKS_MAX_AGE", 1),
        jwks_min_refetch_interval=_number(raw, "JWKS_MIN_REFETCH_INTERVAL"),
        share_keys_in_cache=bool(raw["SHARE_KEYS_IN_CACHE"]), cache_alias=raw["CACHE_ALIAS"],
        introspection_client_id=client_id, introspection_client_secret=secret,
        introspection_cache_seconds=_number(raw, "INTROSPECTION_CACHE_SECONDS"),
        realm=raw["REALM"], dpop_proof_lifetime=_number(raw, "DPOP_PROOF_LIFETIME", 1),
        dpop_clock_skew=_number(raw, "DPOP_CLOCK_SKEW"))


# --- the process-wide instance ----------------------------------------------------------------

_lock = threading.Lock()
_current: ResourceServerSettings | None = None
_on_change: list[Callable[[], None]] = []


def get_settings() -> ResourceServerSettings:
    """Return the checked settings, read from Django's settings on first use."""
    current = _current
    if current is not None:
        return current
    return _load()


def _load() -> ResourceServerSettings:
    global _current
    with _lock:
        if _current is None:
            _current = parse(getattr(django_settings, SETTING, None))
        return _current


def on_change(callback: Callable[[], None]) -> None:
    """Call `callback` whenever the setting changes: what was built from it is stale then."""
    _on_change.append(callback)


def reset() -> None:
    """Forget the settings and everything built from them (keys, fetched metadata)."""
    global _current
    with _lock:
        _current = None
    for callback in _on_change:
        callback()


def _setting_changed(*, setting: str, **_: object) -> None:
    if setting in (SETTING, "CACHES"):
        reset()


setting_changed.connect(_setting_changed, dispatch_uid="identity.contrib.rest_framework.conf")
