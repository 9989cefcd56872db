"""The one rule set for client configuration, shared by the admin, imports, migrations and stores.

Each rule returns problems that name the field and say what to fix, and every lifetime has an
upper bound. What this server supports (grant types, properties whose feature does not exist yet,
known Properties) is ruled in `validation.client_support`, which `validate_client` applies too.
Spec: IdentityServer `Client.ValidateGrantTypes` and `DefaultClientConfigurationValidator`;
RFC 8252 §7 for native redirect URIs; RFC 6454 §6.2 for origins.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Collection, Iterable
from typing import Final
from urllib.parse import urlsplit

from identity.constants import (
    FORBIDDEN_GRANT_COMBINATIONS,
    GRANTS_REQUIRING_REDIRECT,
    JWKS_URI_PROPERTY,
    GrantType,
    TokenExpiration,
)
from identity.domain.client import Client
from identity.validation.client_support import (
    ConfigProblem,
    signing_algorithm_problems,
    unsupported_grant_problems,
    unsupported_problems,
)
from identity.validation.user_code import user_code_type_problem

MAX_CLIENT_ID_LENGTH: Final = 200
MAX_URI_LENGTH: Final = 2000
_SCHEME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*$")
# Schemes that run code or read local data in a browser: never a redirect target.
_SERIALISED_ORIGIN: Final = re.compile(r"https?://(\[[0-9a-f:.]+\]|[^/?#:@\[\]\s]+)(:[1-9][0-9]{0,4})?")
_DANGEROUS_SCHEMES: Final = frozenset({"javascript", "data", "vbscript", "file", "about", "blob"})
_POSITIVE_LIFETIMES: Final = (
    "identity_token_lifetime", "access_token_lifetime", "authorization_code_lifetime",
    "sliding_refresh_token_lifetime", "device_code_lifetime",
)
_OPTIONAL_POSITIVE: Final = (
    "consent_lifetime", "pushed_authorization_lifetime", "user_sso_lifetime", "ciba_lifetime",
    "polling_interval",
)
MINUTE: Final = 60
HOUR: Final = 3600
DAY: Final = 86_400
# Upper bounds, in seconds: above any reasonable deployment, below absurd values (3e9 s).
LIFETIME_BOUNDS: Final[dict[str, int]] = {
    # Under KEY_RETENTION (14 days), so a JWT never outlives the publication of its key.
    "access_token_lifetime": 7 * DAY,
    # Read once at sign-in; an expired id_token_hint is still accepted at logout.
    "identity_token_lifetime": DAY,
    # RFC 6749 §4.1.2 recommends at most 10 minutes.
    "authorization_code_lifetime": 10 * MINUTE,
    "absolute_refresh_token_lifetime": 365 * DAY,
    "sliding_refresh_token_lifetime": 365 * DAY,
    "consent_lifetime": 10 * 365 * DAY,  # empty: never expires
    "user_sso_lifetime": 365 * DAY,
    "pushed_authorization_lifetime": 10 * MINUTE,  # a one-time reference, like a code
    "device_code_lifetime": HOUR,
    "ciba_lifetime": HOUR,  # inert until CIBA exists; bounded so that no absurd value waits
    "polling_interval": 5 * MINUTE,
    "dpop_clock_skew": HOUR,
}

_UNIQUE_COLLECTIONS: Final = (
    "allowed_grant_types", "redirect_uris", "post_logout_redirect_uris", "allowed_scopes",
    "allowed_cors_origins", "identity_provider_restrictions",
    "allowed_identity_token_signing_algorithms",
)


def validate_client(client: Client,
                    known_scopes: Collection[str] | None = None) -> list[ConfigProblem]:
    """Return every problem in `client`; `known_scopes`, when given, must hold its scopes."""
    problems: list[ConfigProblem] = []
    problems += _client_id_problems(client.client_id)
    problems += grant_type_problems(client.allowed_grant_types)
    problems += _duplicate_problems(client)
    problems += _secret_problems(client)
    problems += _lifetime_problems(client)
    user_code = user_code_type_problem(client.user_code_type)
    if user_code:
        problems.append(ConfigProblem("user_code_type", user_code))
    for uri in client.redirect_uris:
        problems += [ConfigProblem("redirect_uris", m) for m in redirect_uri_problems(uri)]
    for uri in client.post_logout_redirect_uris:
        problems += [ConfigProblem("post_logout_redirect_uris", m)
                     for m in redirect_uri_problems(uri)]
    for name in ("front_channel_logout_uri", "back_channel_logout_uri", "initiate_login_uri",
                 "client_uri", "logo_uri"):
        value = getattr(client, name)
        if value:
            problems += [ConfigProblem(name, m) for m in web_uri_problems(value)]
    for origin in client.allowed_cors_origins:
        problems += [ConfigProblem("allowed_cors_origins", m) for m in cors_origin_problems(origin)]
    if known_scopes is not None:
        problems += [ConfigProblem("allowed_scopes", m)
                     for m in scope_problems(client.allowed_scopes, known_scopes)]
    problems += unsupported_problems(client)
    problems += signing_algorithm_problems(client.allowed_identity_token_signing_algorithms)
    return problems


def _client_id_problems(client_id: str) -> list[ConfigProblem]:
    if not client_id or not client_id.strip():
        return [ConfigProblem("client_id", "is required.")]
    if len(client_id) > MAX_CLIENT_ID_LENGTH:
        return [ConfigProblem("client_id", f"is longer than {MAX_CLIENT_ID_LENGTH} characters.")]
    if client_id != client_id.strip() or not client_id.isprintable():
        return [ConfigProblem("client_id", "must not start or end with spaces or contain control "
                                           "characters.")]
    return []


def grant_type_problems(grant_types: Iterable[str]) -> list[ConfigProblem]:
    """Check grant types as IdentityServer's `ValidateGrantTypes` and configuration validator do."""
    grants = list(grant_types)
    problems = []
    if not grants:
        problems.append(ConfigProblem(
            "allowed_grant_types", "no grant type is allowed; add one, e.g. client_credentials."))
    for grant in grants:
        if not grant or any(ch.isspace() for ch in grant):
            problems.append(ConfigProblem(
                "allowed_grant_types",
                f"{grant!r} contains spaces; give one grant type per entry."))
    present = set(grants)
    for pair in FORBIDDEN_GRANT_COMBINATIONS:
        if pair <= present:
            a, b = sorted(pair)
            problems.append(ConfigProblem(
                "allowed_grant_types",
                f"{a} and {b} cannot be combined (it would allow a response_type downgrade "
                f"attack); keep one of them."))
    problems += unsupported_grant_problems(present)
    return problems


def _duplicate_problems(client: Client) -> list[ConfigProblem]:
    problems = []
    for name in _UNIQUE_COLLECTIONS:
        repeated = sorted(v for v, n in Counter(getattr(client, name)).items() if n > 1)
        if repeated:
            problems.append(ConfigProblem(
                name, f"{', '.join(map(repr, repeated))} listed more than once; keep one."))
    return problems


def _secret_problems(client: Client) -> list[ConfigProblem]:
    grants = set(client.allowed_grant_types)
    problems = []
    if GrantType.CLIENT_CREDENTIALS in grants and not client.require_client_secret:
        problems.append(ConfigProblem(
            "require_client_secret",
            "client_credentials needs a confidential client; set RequireClientSecret to true "
            "and add a secret."))
    needing = sorted(grants - {GrantType.IMPLICIT})
    # Keys published at a JwksUri property authenticate the client as a JWK secret would.
    has_keys = bool(client.client_secrets) or JWKS_URI_PROPERTY in dict(client.properties)
    if client.require_client_secret and needing and not has_keys:
        problems.append(ConfigProblem(
            "client_secrets",
            f"a secret is required for {needing[0]}, but none is configured; add one or set "
            f"RequireClientSecret to false for a public client."))
    if (not client.require_client_secret and GrantType.AUTHORIZATION_CODE in grants
            and not client.require_pkce):
        problems.append(ConfigProblem(
            "require_pkce", "a public client using authorization_code must use PKCE; set "
            "RequirePkce to true."))
    if grants & GRANTS_REQUIRING_REDIRECT and not client.redirect_uris:
        grant = sorted(grants & GRANTS_REQUIRING_REDIRECT)[0]
        problems.append(ConfigProblem(
            "redirect_uris", f"{grant} needs at least one redirect URI; add the URI your "
            f"application receives the response at."))
    return problems


def _lifetime_problems(client: Client) -> list[ConfigProblem]:
    problems = []
    for name in _POSITIVE_LIFETIMES:
        if getattr(client, name) <= 0:
            problems.append(ConfigProblem(name, "must be a positive number of seconds."))
    for name in _OPTIONAL_POSITIVE:
        value = getattr(client, name)
        if value is not None and value <= 0:
            problems.append(ConfigProblem(name, "must be a positive number of seconds, or empty."))
    if client.absolute_refresh_token_lifetime < 0:
        problems.append(ConfigProblem(
            "absolute_refresh_token_lifetime",
            "must be zero (no absolute limit, sliding only) or a positive number of seconds."))
    if client.dpop_clock_skew < 0:
        problems.append(ConfigProblem("dpop_clock_skew", "must not be negative."))
    for name, bound in LIFETIME_BOUNDS.items():
        value = getattr(client, name)
        if value is not None and value > bound:
            problems.append(ConfigProblem(
                name, f"is {value} s; at most {bound} s ({_duration(bound)}) is allowed."))
    absolute, sliding = (client.absolute_refresh_token_lifetime,
                         client.sliding_refresh_token_lifetime)
    if client.refresh_token_expiration == TokenExpiration.Sliding and 0 < absolute < sliding:
        problems.append(ConfigProblem(
            "sliding_refresh_token_lifetime",
            f"is {sliding} s, longer than AbsoluteRefreshTokenLifetime ({absolute} s), which "
            f"caps it; make it at most {absolute} s, or set AbsoluteRefreshTokenLifetime to 0 "
            f"for no absolute limit."))
    return problems


def _duration(seconds: int) -> str:
    for unit, size in (("day", DAY), ("hour", HOUR), ("minute", MINUTE)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


def is_loopback_host(host: str) -> bool:
    """Tell whether `host` is `localhost` or a loopback IP literal (RFC 8252 §7.3)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redirect_uri_problems(uri: str) -> list[str]:
    """Check a redirect URI: absolute, no fragment; https, loopback http or a private-use scheme."""
    problems = _common_uri_problems(uri)
    if problems:
        return problems
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        return _web_authority_problems(uri)
    if "." not in scheme:
        return [f"{uri!r}: a private-use scheme for a native app must be a reverse domain name "
                f"such as com.example.app (RFC 8252 §7.1)."]
    return []


def web_uri_problems(uri: str) -> list[str]:
    """Check an http(s) URI such as a logout URI: absolute, no fragment, http only on loopback."""
    problems = _common_uri_problems(uri)
    if problems:
        return problems
    if urlsplit(uri).scheme.lower() not in ("http", "https"):
        return [f"{uri!r} must be an https URL (http only for localhost)."]
    return _web_authority_problems(uri)


def _common_uri_problems(uri: str) -> list[str]:
    if len(uri) > MAX_URI_LENGTH:
        return [f"{uri[:40]!r}... is longer than {MAX_URI_LENGTH} characters."]
    if not uri or any(ch.isspace() or not ch.isprintable() for ch in uri):
        return [f"{uri!r} must not be empty or contain spaces."]
    try:
        parts = urlsplit(uri)
    except ValueError:
        return [f"{uri!r} is not a valid URI."]
    if not parts.scheme or not _SCHEME.match(parts.scheme) or ":" not in uri:
        return [f"{uri!r} must be an absolute URI with a scheme, e.g. https://app.example.com/cb."]
    if parts.scheme.lower() in _DANGEROUS_SCHEMES:
        return [f"{uri!r}: the {parts.scheme} scheme is not allowed."]
    if "#" in uri:
        return [f"{uri!r} must not contain a fragment (#...); remove it."]
    return []


def _web_authority_problems(uri: str) -> list[str]:
    parts = urlsplit(uri)
    try:
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return [f"{uri!r} has an invalid port."]
    if not host:
        return [f"{uri!r} has no host."]
    if parts.username is not None or parts.password is not None:
        return [f"{uri!r} must not carry a user name or password."]
    if parts.scheme.lower() == "http" and not is_loopback_host(host):
        return [f"{uri!r} uses http on a non-loopback host; use https (http is allowed only for "
                f"localhost, 127.0.0.1 and [::1])."]
    return []


def cors_origin_problems(origin: str) -> list[str]:
    """Check that `origin` is a bare origin: scheme, host and optional port, nothing else."""
    problems = _common_uri_problems(origin)
    if problems:
        return problems
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https"):
        return [f"{origin!r} must be an http or https origin."]
    bad_port = False
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        bad_port = True
    # Browsers send the origin serialised (RFC 6454 §6.2) and the CORS policies compare it as a
    # string: an empty query, an empty or zero-padded port would parse but never match.
    if (bad_port or not parts.hostname or parts.path or parts.query or parts.username is not None
            or origin != origin.lower() or not _SERIALISED_ORIGIN.fullmatch(origin)):
        return [f"{origin!r} is not a bare origin; write it as scheme://host[:port] in lower "
                f"case, with no path or trailing slash, e.g. https://app.example.com."]
    return []


def scope_problems(scopes: Iterable[str], known_scopes: Collection[str]) -> list[str]:
    """Name the scopes that no identity resource or API scope defines."""
    unknown = sorted(set(scopes) - set(known_scopes))
    if not unknown:
        return []
    return [f"{', '.join(map(repr, unknown))} not defined; add an API scope or identity "
            f"resource of that name first, or remove it."]
