"""What this server supports: client values that need a feature it does not have are refused.

A property whose feature does not exist yet is refused unless it keeps a value that needs no
such feature; grant types are limited to those the token endpoint dispatches, and the known
free-form Properties to the values the server reads, and ID token signing algorithms to those
it signs with. `validation.client_config.validate_client`
applies these rules with the others; the authorize and token endpoints apply
`unsupported_problems` again at runtime. `ConfigProblem`, the result type of both modules, lives
here so that client_config can import this module without a cycle.
Spec: IdentityServer `DefaultClientConfigurationValidator`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from identity.constants import (
    CLAIM_VALUE_TYPE_STRING,
    JWKS_URI_PROPERTY,
    PROTOCOL_OIDC,
    PROTOCOL_TYPES,
    REVOCABLE_JWT_PROPERTY,
    SIGNING_ALGORITHMS,
    DPoPTokenExpirationValidationMode,
    GrantType,
    SecretType,
)
from identity.domain.client import Client
from identity.identityserver_names import json_name
from identity.validation.jwk import parse_jwk

# Grant types with a token-endpoint grant (refresh_token follows AllowOfflineAccess instead).
SUPPORTED_GRANT_TYPES: Final = frozenset({GrantType.AUTHORIZATION_CODE,
                                          GrantType.CLIENT_CREDENTIALS, GrantType.DEVICE_CODE})
_STRING_CLAIM_TYPES: Final = frozenset({CLAIM_VALUE_TYPE_STRING,
                                        "http://www.w3.org/2001/XMLSchema#string"})
# Keys of the free-form Properties that the server reads, and the values it understands
# (REVOCABLE_JWT_PROPERTY is read by grants/lookup.py).
KNOWN_PROPERTIES: Final = {REVOCABLE_JWT_PROPERTY: ("true", "false"), JWKS_URI_PROPERTY: ()}


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One rule violation: the attribute it concerns and what to fix."""

    field: str
    message: str

    def describe(self, client_id: str) -> str:
        """Render the problem with the client and IdentityServer's field name."""
        return f"client {client_id!r}, {json_name(self.field)}: {self.message}"


@dataclass(frozen=True, slots=True)
class _Unsupported:
    """A property whose feature does not exist yet: the values that do not need it; the fix."""

    field: str
    honoured: tuple[object, ...]
    message: str


# Requirements a client would believe enforced; any other value is refused until supported.
UNSUPPORTED_PROPERTIES: Final = (
    _Unsupported("dpop_validation_mode", (DPoPTokenExpirationValidationMode.Iat,
                                          DPoPTokenExpirationValidationMode.Nonce,
                                          DPoPTokenExpirationValidationMode.IatAndNonce),
                 "Custom is not supported: it needs validation code of your own, which this "
                 "server has no place for; use Iat (1), Nonce (2) or IatAndNonce (3)."),
    _Unsupported("coordinate_lifetime_with_user_session", (None, False), "true is not supported "
                 "yet: token lifetimes are not tied to the user's session; leave it empty or "
                 "false."),
    _Unsupported("enable_local_login", (True,), "false is not supported yet: there are no "
                 "external identity providers, so local login is the only way to sign in; set "
                 "it to true."),
    _Unsupported("allowed_identity_token_signing_algorithms", ((),), "a value is not supported "
                 "yet: ID tokens are signed with the first of IDENTITY['SIGNING_ALGORITHMS'] for "
                 "every client; leave it empty."),
)


def unsupported_grant_problems(grants: Iterable[str]) -> list[ConfigProblem]:
    """Refuse well-formed grant types that no token-endpoint grant handles, in sorted order."""
    return [ConfigProblem("allowed_grant_types", _unsupported_grant(grant))
            for grant in sorted(g for g in set(grants) - SUPPORTED_GRANT_TYPES
                                if g and not any(ch.isspace() for ch in g))]


def _unsupported_grant(grant: str) -> str:
    supported = ", ".join(sorted(SUPPORTED_GRANT_TYPES))
    if grant == GrantType.REFRESH_TOKEN:
        return ("refresh_token is not a grant type to list: refresh tokens follow "
                "AllowOfflineAccess; remove it and set AllowOfflineAccess to true.")
    if grant in set(GrantType):
        return (f"{grant} is not supported yet by this server; remove it (supported: "
                f"{supported}).")
    return (f"{grant!r} is not supported: this server has no extension grants; remove it "
            f"(supported: {supported}).")


def signing_algorithm_problems(algorithms: Iterable[str]) -> list[ConfigProblem]:
    """Name the ID token signing algorithms that this server cannot sign with."""
    unknown = set(algorithms) - SIGNING_ALGORITHMS
    if not unknown:
        return []
    return [ConfigProblem(
        "allowed_identity_token_signing_algorithms",
        f"{', '.join(sorted(unknown))} not supported; use some of "
        f"{', '.join(sorted(SIGNING_ALGORITHMS))} or none for the server default.")]


def unsupported_problems(client: Client) -> list[ConfigProblem]:
    """Refuse values of properties whose feature does not exist yet (grant types aside).

    The authorize and token endpoints call this too, so that a stored client with such a value
    fails closed even when the store does not validate clients on read.
    """
    # Clients are immutable, and the stores hand out the same object until the client changes:
    # the answer is kept per object (by identity, the object held so that its id is not reused).
    checked = _checked.get(id(client))
    if checked is not None and checked[0] is client:
        return list(checked[1])
    problems = _problems(client)
    if len(_checked) >= CHECKED_LIMIT:
        _checked.clear()
    _checked[id(client)] = (client, tuple(problems))
    return problems


CHECKED_LIMIT: Final = 1024
_checked: dict[int, tuple[Client, tuple[ConfigProblem, ...]]] = {}


def _problems(client: Client) -> list[ConfigProblem]:
    problems = [ConfigProblem(u.field, u.message) for u in UNSUPPORTED_PROPERTIES
                if getattr(client, u.field) not in u.honoured]
    if client.protocol_type != PROTOCOL_OIDC:
        problems.append(ConfigProblem("protocol_type", (
            f"{client.protocol_type!r} is not supported yet: this server speaks OpenID Connect "
            f"only; set it to {PROTOCOL_OIDC}.") if client.protocol_type in PROTOCOL_TYPES else (
            f"{client.protocol_type!r} is unknown; set it to {PROTOCOL_OIDC}.")))
    supported = {SecretType.SHARED_SECRET, SecretType.JWK}
    for kind in sorted({s.type for s in client.client_secrets} - supported):
        problems.append(ConfigProblem("client_secrets", (
            f"secret type {kind!r} is not supported yet (mTLS is not implemented), so it could "
            f"never authenticate; use {SecretType.SHARED_SECRET}, or {SecretType.JWK} for "
            f"private_key_jwt.")))
    for secret in client.client_secrets:
        if secret.type == SecretType.JWK:
            try:
                parse_jwk(secret.value)
            except ValueError as err:
                problems.append(ConfigProblem("client_secrets", (
                    f"a {SecretType.JWK} secret must hold the client's public key as a JSON "
                    f"Web Key: {err}.")))
    for claim in client.claims:
        if claim.value_type not in _STRING_CLAIM_TYPES:
            problems.append(ConfigProblem("claims", (
                f"claim {claim.type!r} has ValueType {claim.value_type!r}, which is not "
                f"supported yet: client claims are sent as strings; set it to "
                f"{CLAIM_VALUE_TYPE_STRING}.")))
    return problems + _property_problems(client.properties)


def _property_problems(properties: Iterable[tuple[str, str]]) -> list[ConfigProblem]:
    # Other keys are free-form (IdentityServer's Properties): kept, never read.
    problems = []
    spelled = {key.lower(): key for key in KNOWN_PROPERTIES}
    for key, value in properties:
        known = spelled.get(key.lower())
        if known is not None and known != key:
            problems.append(ConfigProblem("properties", (
                f"{key!r} is not read (keys are case-sensitive); write it as {known!r}.")))
        elif known == JWKS_URI_PROPERTY:
            parts = urlsplit(value)
            if parts.scheme not in ("https", "http") or not parts.hostname or parts.fragment:
                problems.append(ConfigProblem("properties", (
                    f"{key} is {value!r}; write the https URL of the client's JWK Set.")))
        elif known is not None and value.lower() not in KNOWN_PROPERTIES[known]:
            problems.append(ConfigProblem("properties", (
                f"{key} is {value!r}; write {' or '.join(KNOWN_PROPERTIES[known])}.")))
    return problems
