"""Dynamic client registration: RFC 7591 client metadata mapped onto the domain client, under
the server's registration policy, and the client read back as metadata.

The endpoint (`identity.endpoints.registration`) reads the request and the settings; this module
decides. The client it builds must also pass the one rule set of every client
(`validation.client_config.validate_client`), as the admin and the import ask, so no path can
store a client that another path would refuse.

Choices the RFCs leave to the server:

* a requested `scope` outside the policy is refused (`invalid_client_metadata`), never narrowed;
* `software_statement` is refused with `unapproved_software_statement`: none is supported;
* auth methods that do not exist yet (`client_secret_jwt`, `tls_client_auth`,
  `self_signed_tls_client_auth`) are refused, naming the member;
* `private_key_jwt` needs `jwks` or `jwks_uri`, never both (§2); such a client gets no shared
  secret: its keys are its secrets of type JWK (one per key), `jwks_uri` its Property JwksUri.
  Keys registered with another method are kept too (they may sign request objects);
* any other unknown member is ignored (§2); the response shows what was stored.

Spec: RFC 7591 §2 (metadata and defaults), §2.1 (grant and response types), §3.1.1 and §3.2.2
(errors); RFC 7592 §2.2 (update).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import secrets
import string
import unicodedata
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final

from identity.constants import (
    JWKS_URI_PROPERTY,
    ClientAuthMethod,
    GrantType,
    SecretType,
    StandardScope,
)
from identity.domain.client import Client, Secret
from identity.errors import (
    InvalidClientMetadata,
    InvalidRedirectUri,
    OAuthError,
    UnapprovedSoftwareStatement,
)
from identity.stores.interfaces import Registration
from identity.validation.client_config import validate_client, web_uri_problems
from identity.validation.client_support import ConfigProblem
from identity.validation.jwk import parse_jwk

RESPONSE_TYPE_CODE: Final = "code"
AUTH_METHODS: Final = frozenset(m.value for m in ClientAuthMethod)
NOT_YET_AUTH_METHODS: Final = frozenset({"client_secret_jwt", "tls_client_auth",
                                         "self_signed_tls_client_auth"})
# Methods whose client holds a shared secret (the server accepts both of any such client).
SHARED_SECRET_METHODS: Final = frozenset({ClientAuthMethod.CLIENT_SECRET_BASIC.value,
                                          ClientAuthMethod.CLIENT_SECRET_POST.value})
_METHODS_HINT: Final = "use client_secret_basic, client_secret_post, private_key_jwt or none."
MAX_KEYS: Final = 10  # keys of `jwks`
MAX_JWK_TEXT: Final = 4000  # characters of one key as stored (the secret's column)
KEY_DESCRIPTION: Final = "registered by dynamic registration"
# Metadata with no column of the client: kept beside it as JSON.
EXTRA_MEMBERS: Final = ("token_endpoint_auth_method", "contacts", "policy_uri", "tos_uri",
                        "software_id", "software_version")
MAX_ITEMS: Final = 50  # entries of any list member
MAX_TEXT: Final = 200  # client_name (its column), software_id, software_version
MAX_CONTACT: Final = 320
TOKEN_BYTES: Final = 32  # registration access tokens: 256 random bits
CLIENT_ID_BYTES: Final = 24  # client ids: 192 random bits after the prefix
_SCOPE_TOKEN: Final = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
# Field names of validate_client's problems, as RFC 7591 names the metadata.
_RFC_NAMES: Final = {
    "allowed_grant_types": "grant_types", "allowed_scopes": "scope",
    "front_channel_logout_uri": "frontchannel_logout_uri",
    "back_channel_logout_uri": "backchannel_logout_uri",
    "require_client_secret": "token_endpoint_auth_method",
    "client_secrets": "token_endpoint_auth_method", "require_pkce": "token_endpoint_auth_method",
}
_REDIRECT_FIELDS: Final = frozenset({"redirect_uris", "post_logout_redirect_uris"})


@dataclass(frozen=True, slots=True)
class RegistrationPolicy:
    """What a registered client may get (the REGISTRATION_* settings)."""

    grant_types: frozenset[str]
    scopes: frozenset[str]
    secret_lifetime: int = 0
    require_consent: bool = True
    client_id_prefix: str = ""
    jwks_uri_require_https: bool = True


@dataclass(frozen=True, slots=True)
class ClientMetadata:
    """The RFC 7591 §2 metadata of a request, checked for types and against the policy."""

    redirect_uris: tuple[str, ...] = ()
    grant_types: tuple[str, ...] = (GrantType.AUTHORIZATION_CODE.value,)
    response_types: tuple[str, ...] = (RESPONSE_TYPE_CODE,)
    token_endpoint_auth_method: str = ClientAuthMethod.CLIENT_SECRET_BASIC.value
    client_name: str | None = None
    scope: tuple[str, ...] = ()
    contacts: tuple[str, ...] = ()
    logo_uri: str | None = None
    client_uri: str | None = None
    policy_uri: str | None = None
    tos_uri: str | None = None
    post_logout_redirect_uris: tuple[str, ...] = ()
    frontchannel_logout_uri: str | None = None
    frontchannel_logout_session_required: bool = True
    backchannel_logout_uri: str | None = None
    backchannel_logout_session_required: bool = True
    software_id: str | None = None
    software_version: str | None = None
    jwks: tuple[str, ...] = ()  # the public JWKs, each as the JSON text stored
    jwks_uri: str | None = None

    @property
    def public(self) -> bool:
        """Tell whether the client has no secret (`token_endpoint_auth_method` none)."""
        return self.token_endpoint_auth_method == ClientAuthMethod.NONE

    @property
    def shared_secret(self) -> bool:
        """Tell whether the client authenticates with a shared secret (basic or post)."""
        return self.token_endpoint_auth_method in SHARED_SECRET_METHODS

    def extra(self) -> dict[str, Any]:
        """Return the metadata that has no client column, to store beside the client."""
        values = {name: getattr(self, name) for name in EXTRA_MEMBERS}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()
                if v not in (None, ())}


# ---- reading the request ----------------------------------------------------------------------

def _refuse(member: str, message: str) -> InvalidClientMetadata:
    return InvalidClientMetadata(f"{member}: {message}")


def _checked_text(member: str, value: Any, limit: int, what: str = "must be a string.") -> str:
    if not isinstance(value, str):
        raise _refuse(member, what)
    if len(value) > limit:
        raise _refuse(member, f"is longer than {limit} characters.")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise _refuse(member, "must not contain control characters.")
    return value


def _text(document: Mapping[str, Any], member: str, limit: int = 2000) -> str | None:
    value = document.get(member)
    if value is None:
        return None
    return _checked_text(member, value, limit) or None


def _strings(document: Mapping[str, Any], member: str, limit: int = 2000) -> tuple[str, ...] | None:
    value = document.get(member)
    if value is None:
        return None
    if not isinstance(value, list):
        raise _refuse(member, "must be an array of strings.")
    if len(value) > MAX_ITEMS:
        raise _refuse(member, f"has more than {MAX_ITEMS} entries.")
    return tuple(_checked_text(member, item, limit, "must be an array of strings.")
                 for item in value)


def _flag(document: Mapping[str, Any], member: str, default: bool) -> bool:
    value = document.get(member)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _refuse(member, "must be true or false.")
    return value


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def parse_metadata(document: Mapping[str, Any], policy: RegistrationPolicy, *,
                   granted_scopes: Collection[str] = ()) -> ClientMetadata:
    """Read the metadata of a registration or update request; raise the RFC 7591 §3.2.2 error.

    `granted_scopes` are scopes the client holds already (an administrator may have granted more
    than the policy): an update may keep them.
    """
    if document.get("software_statement") is not None:
        raise UnapprovedSoftwareStatement(
            "software statements are not supported by this server; register without "
            "software_statement.")
    grant_types, response_types = _grant_and_response_types(document, policy)
    method = _auth_method(document, grant_types)
    jwks, jwks_uri = _keys(document, policy)
    if method == ClientAuthMethod.PRIVATE_KEY_JWT and not jwks and not jwks_uri:
        raise _refuse("token_endpoint_auth_method", "private_key_jwt needs the client's public "
                                                    "keys; send jwks or jwks_uri.")
    scope = _scope(document, policy, grant_types, granted_scopes)
    policy_uri, tos_uri = _text(document, "policy_uri"), _text(document, "tos_uri")
    for member, uri in (("policy_uri", policy_uri), ("tos_uri", tos_uri)):
        problems = web_uri_problems(uri) if uri else []
        if problems:
            raise _refuse(member, " ".join(problems))
    return ClientMetadata(
        redirect_uris=_strings(document, "redirect_uris") or (),
        grant_types=grant_types, response_types=response_types,
        token_endpoint_auth_method=method,
        client_name=_text(document, "client_name", MAX_TEXT),
        scope=scope,
        contacts=_unique(_strings(document, "contacts", MAX_CONTACT) or ()),
        logo_uri=_text(document, "logo_uri"), client_uri=_text(document, "client_uri"),
        policy_uri=policy_uri, tos_uri=tos_uri,
        post_logout_redirect_uris=_strings(document, "post_logout_redirect_uris") or (),
        frontchannel_logout_uri=_text(document, "frontchannel_logout_uri"),
        frontchannel_logout_session_required=_flag(
            document, "frontchannel_logout_session_required", True),
        backchannel_logout_uri=_text(document, "backchannel_logout_uri"),
        backchannel_logout_session_required=_flag(
            document, "backchannel_logout_session_required", True),
        software_id=_text(document, "software_id", MAX_TEXT),
        software_version=_text(document, "software_version", MAX_TEXT),
        jwks=jwks, jwks_uri=jwks_uri,
    )


def _grant_and_response_types(document: Mapping[str, Any], policy: RegistrationPolicy
                              ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Apply the §2 defaults and the §2.1 correspondence: `code` <-> `authorization_code`."""
    grants = _strings(document, "grant_types", MAX_TEXT)
    responses = _strings(document, "response_types", MAX_TEXT)
    code = GrantType.AUTHORIZATION_CODE.value
    if grants is None:
        grants = (code,) if responses is None or RESPONSE_TYPE_CODE in responses else ()
    if responses is None:
        responses = (RESPONSE_TYPE_CODE,) if code in grants else ()
    grants, responses = _unique(grants), _unique(responses)
    if not grants:
        raise _refuse("grant_types", "no grant type is given; list at least one, e.g. "
                                     "authorization_code.")
    for response in responses:
        if response != RESPONSE_TYPE_CODE:
            raise _refuse("response_types", f"{response!r} is not supported; this server "
                                            f"supports only code.")
    if (RESPONSE_TYPE_CODE in responses) != (code in grants):
        raise _refuse("response_types", "must list code exactly when grant_types lists "
                                        "authorization_code (RFC 7591 section 2.1).")
    refused = [g for g in grants if g not in policy.grant_types]
    if refused:
        allowed = ", ".join(sorted(policy.grant_types)) or "none"
        raise _refuse("grant_types", f"{', '.join(refused)} not allowed for registered clients "
                                     f"(allowed: {allowed}).")
    if GrantType.REFRESH_TOKEN in grants and code not in grants:
        raise _refuse("grant_types", "refresh_token is issued only with authorization_code; add "
                                     "authorization_code or remove refresh_token.")
    return grants, responses


def _auth_method(document: Mapping[str, Any], grants: tuple[str, ...]) -> str:
    method = _text(document, "token_endpoint_auth_method", MAX_TEXT) or \
        ClientAuthMethod.CLIENT_SECRET_BASIC.value
    if method in NOT_YET_AUTH_METHODS:
        raise _refuse("token_endpoint_auth_method", f"{method} is not supported yet; "
                                                    f"{_METHODS_HINT}")
    if method not in AUTH_METHODS:
        raise _refuse("token_endpoint_auth_method", f"{method!r} is unknown; {_METHODS_HINT}")
    if method == ClientAuthMethod.NONE and GrantType.CLIENT_CREDENTIALS in grants:
        raise _refuse("token_endpoint_auth_method", "none (a public client) cannot use "
                                                    "client_credentials; use client_secret_basic, "
                                                    "client_secret_post or private_key_jwt.")
    return method


def _keys(document: Mapping[str, Any], policy: RegistrationPolicy
          ) -> tuple[tuple[str, ...], str | None]:
    """Read `jwks` (public signing keys, each as the JSON text to store) and `jwks_uri`."""
    jwks, uri = document.get("jwks"), _text(document, "jwks_uri")
    if jwks is not None and uri is not None:
        raise _refuse("jwks_uri", "cannot be sent with jwks (RFC 7591 section 2); send one of "
                                  "them.")
    if uri is not None:
        problems = jwks_uri_problems(uri, require_https=policy.jwks_uri_require_https)
        if problems:
            raise _refuse("jwks_uri", " ".join(problems))
    return (_jwk_texts(jwks) if jwks is not None else ()), uri


def _jwk_texts(jwks: Any) -> tuple[str, ...]:
    """Check a registered JWK Set: 1 to MAX_KEYS distinct public signing keys (RSA of 2048
    bits or more, P-256); return each as the JSON text of its JWK secret."""
    entries = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(entries, list):
        raise _refuse("jwks", 'must be a JWK Set: an object {"keys": [...]}.')
    if not entries:
        raise _refuse("jwks", "lists no key; add the client's public key, or remove jwks.")
    if len(entries) > MAX_KEYS:
        raise _refuse("jwks", f"has more than {MAX_KEYS} keys.")
    texts: list[str] = []
    kids: set[str] = set()
    thumbprints: set[str] = set()
    for number, entry in enumerate(entries, 1):
        where = f"key {number}"
        if not isinstance(entry, dict):
            raise _refuse("jwks", f"{where} is not a JSON object.")
        if entry.get("use", "sig") != "sig":
            raise _refuse("jwks", f"{where}: use must be sig; this server reads signing keys "
                                  f"only.")
        try:
            key = parse_jwk(entry)
        except ValueError as err:
            raise _refuse("jwks", f"{where}: {err}.") from None
        if key.kid is not None and key.kid in kids:
            raise _refuse("jwks", f"{where}: kid {key.kid[:100]!r} is used twice; give each "
                                  f"key its own kid.")
        if key.thumbprint in thumbprints:
            raise _refuse("jwks", f"{where} is listed twice; keep one.")
        text = json.dumps(entry, separators=(",", ":"))
        if len(text) > MAX_JWK_TEXT:
            raise _refuse("jwks", f"{where} is longer than {MAX_JWK_TEXT} characters.")
        kids.update({key.kid} if key.kid is not None else set())
        thumbprints.add(key.thumbprint)
        texts.append(text)
    return tuple(texts)


def jwks_uri_problems(uri: str, *, require_https: bool = True) -> list[str]:
    """Check a jwks_uri: an absolute https URL without fragment or credentials (http too
    when `require_https` is False, for development)."""
    # The fetcher compares the scheme as written: lower case.
    if not uri.startswith("https://") and (require_https or not uri.startswith("http://")):
        return [f"{uri!r} must be an https URL." if require_https else
                f"{uri!r} must be an https (or http) URL."]
    checked = "https://" + uri.split("://", 1)[1]
    return [p.replace(repr(checked), repr(uri)) for p in web_uri_problems(checked)]


def _scope(document: Mapping[str, Any], policy: RegistrationPolicy, grants: tuple[str, ...],
           granted: Collection[str]) -> tuple[str, ...]:
    text = _text(document, "scope", 2000)
    scopes = _unique((text or "").split())
    malformed = [s for s in scopes if not _SCOPE_TOKEN.fullmatch(s)]
    if malformed:
        raise _refuse("scope", f"{malformed[0]!r} is not a valid scope token.")
    offline = StandardScope.OFFLINE_ACCESS.value
    if offline in scopes and GrantType.REFRESH_TOKEN not in grants:
        raise _refuse("scope", "offline_access needs the refresh_token grant type; add it to "
                               "grant_types or remove offline_access.")
    refused = [s for s in scopes if s != offline and s not in policy.scopes and s not in granted]
    if refused:
        allowed = ", ".join(sorted(policy.scopes)) or "none"
        raise _refuse("scope", f"{', '.join(refused)} not allowed for registered clients "
                               f"(allowed: {allowed}).")
    return tuple(s for s in scopes if s != offline)


# ---- the domain client ------------------------------------------------------------------------

_ID_ALPHABET: Final = string.ascii_letters + string.digits


def new_client_id(prefix: str = "") -> str:
    """Return a new unguessable client id: letters and digits only, so that it never starts
    with "-" (which `manage.py export_clients ID` would read as an option) nor needs quoting."""
    length = math.ceil(CLIENT_ID_BYTES * 8 / math.log2(len(_ID_ALPHABET)))
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def new_registration_token() -> str:
    """Return a new registration access token (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def registration_token_hash(token: str) -> str:
    """Return the stored form of a registration access token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def registration_token_matches(presented: str, stored_hash: str | None) -> bool:
    """Compare a presented token with the stored hash in constant time (None: never matches,
    after the same work)."""
    expected = stored_hash or "0" * 64
    return hmac.compare_digest(registration_token_hash(presented), expected) and \
        stored_hash is not None


def build_client(metadata: ClientMetadata, *, client_id: str, client_secrets: tuple[Secret, ...],
                 policy: RegistrationPolicy, base: Client | None = None) -> Client:
    """Map the metadata onto a client: a new one, or `base` (an update keeps what registration
    does not cover: lifetimes, claims, CORS origins, consent settings an administrator set).

    `client_secrets` are the shared secrets, kept when the method uses one; the keys of `jwks`
    replace every JWK secret, `jwks_uri` the JwksUri Property.
    """
    grants = metadata.grant_types
    shared = tuple(s for s in client_secrets if s.type != SecretType.JWK) \
        if metadata.shared_secret else ()
    keys = tuple(Secret(value=text, type=SecretType.JWK, description=KEY_DESCRIPTION)
                 for text in metadata.jwks)
    properties = tuple(p for p in (base.properties if base else ()) if p[0] != JWKS_URI_PROPERTY)
    if metadata.jwks_uri:
        properties = tuple(sorted(properties + ((JWKS_URI_PROPERTY, metadata.jwks_uri),)))
    values: dict[str, Any] = {
        "client_name": metadata.client_name,
        "client_uri": metadata.client_uri,
        "logo_uri": metadata.logo_uri,
        "require_client_secret": not metadata.public,
        "client_secrets": shared + keys,
        "properties": properties,
        "allowed_grant_types": tuple(g for g in grants if g != GrantType.REFRESH_TOKEN),
        "allow_offline_access": GrantType.REFRESH_TOKEN in grants,
        "redirect_uris": metadata.redirect_uris,
        "post_logout_redirect_uris": metadata.post_logout_redirect_uris,
        "front_channel_logout_uri": metadata.frontchannel_logout_uri,
        "front_channel_logout_session_required": metadata.frontchannel_logout_session_required,
        "back_channel_logout_uri": metadata.backchannel_logout_uri,
        "back_channel_logout_session_required": metadata.backchannel_logout_session_required,
        "allowed_scopes": metadata.scope,
    }
    if base is None:
        return Client(client_id=client_id, require_consent=policy.require_consent,
                      require_pkce=True, **values)
    if metadata.public:
        values["require_pkce"] = True
    return replace(base, **values)


def client_problems_error(problems: list[ConfigProblem]) -> OAuthError | None:
    """Turn the shared rules' problems into one RFC 7591 error, naming RFC members; None when
    there are none. Redirect URI problems come first, as `invalid_redirect_uri`."""
    if not problems:
        return None
    redirect = [p for p in problems if p.field in _REDIRECT_FIELDS]
    chosen = redirect or problems
    text = " ".join(f"{_RFC_NAMES.get(p.field, p.field)}: {p.message}" for p in chosen)
    return InvalidRedirectUri(text) if redirect else InvalidClientMetadata(text)


def check_client(client: Client, known_scopes: Collection[str]) -> None:
    """Apply the shared client rules; raise the RFC 7591 error for the first kind of problem."""
    error = client_problems_error(validate_client(client, known_scopes))
    if error is not None:
        raise error


# ---- the client as metadata -------------------------------------------------------------------

def secret_expires_at(client: Client) -> int:
    """Return `client_secret_expires_at`: 0 when some shared secret never expires (or none
    exists), else the latest expiration, in seconds since the epoch. Keys do not count."""
    expirations = [s.expiration for s in client.client_secrets if s.type != SecretType.JWK]
    if not expirations or any(e is None for e in expirations):
        return 0
    return int(max(e for e in expirations if e is not None).timestamp())


def metadata_document(registration: Registration) -> dict[str, Any]:
    """Return the client's registered metadata (RFC 7591 §3.2.1) as it is stored now; never a
    secret or token."""
    client, extra = registration.client, registration.metadata
    code = GrantType.AUTHORIZATION_CODE.value
    grants = list(client.allowed_grant_types) + (
        [GrantType.REFRESH_TOKEN.value] if client.allow_offline_access else [])
    scopes = list(client.allowed_scopes) + (
        [StandardScope.OFFLINE_ACCESS.value] if client.allow_offline_access else [])
    keys = _registered_keys(client)
    jwks_uri = dict(client.properties).get(JWKS_URI_PROPERTY)
    method = extra.get("token_endpoint_auth_method")
    if not client.require_client_secret:
        method = ClientAuthMethod.NONE.value
    elif method == ClientAuthMethod.PRIVATE_KEY_JWT and (keys or jwks_uri):
        method = ClientAuthMethod.PRIVATE_KEY_JWT.value
    elif method not in SHARED_SECRET_METHODS:
        method = ClientAuthMethod.CLIENT_SECRET_BASIC.value
    doc: dict[str, Any] = {
        "client_id": client.client_id,
        "client_id_issued_at": int(registration.issued_at.timestamp()),
        "client_name": client.client_name,
        "redirect_uris": list(client.redirect_uris),
        "grant_types": grants,
        "response_types": [RESPONSE_TYPE_CODE] if code in client.allowed_grant_types else [],
        "token_endpoint_auth_method": method,
        "scope": " ".join(scopes) or None,
        "contacts": list(extra.get("contacts") or []) or None,
        "logo_uri": client.logo_uri,
        "client_uri": client.client_uri,
        "policy_uri": extra.get("policy_uri"),
        "tos_uri": extra.get("tos_uri"),
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris) or None,
        "frontchannel_logout_uri": client.front_channel_logout_uri,
        "frontchannel_logout_session_required": client.front_channel_logout_session_required,
        "backchannel_logout_uri": client.back_channel_logout_uri,
        "backchannel_logout_session_required": client.back_channel_logout_session_required,
        "software_id": extra.get("software_id"),
        "software_version": extra.get("software_version"),
        "jwks": {"keys": keys} if keys else None,
        "jwks_uri": jwks_uri,
    }
    if method in SHARED_SECRET_METHODS:
        doc["client_secret_expires_at"] = secret_expires_at(client)
    return {k: v for k, v in doc.items() if v is not None}


def _registered_keys(client: Client) -> list[dict[str, Any]]:
    """Return the client's JWK secrets as JWKs (a key that cannot be read is left out)."""
    keys = []
    for secret in client.client_secrets:
        if secret.type == SecretType.JWK:
            try:
                key = json.loads(secret.value)
            except (ValueError, RecursionError):
                continue
            if isinstance(key, dict):
                keys.append(key)
    return keys


def audit_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
                  ) -> dict[str, tuple[Any, Any]]:
    """Return field -> (before, after) for the members that differ between two metadata
    documents (`metadata_document`, which holds no secret)."""
    old, new = before or {}, after or {}
    return {k: (old.get(k), new.get(k)) for k in sorted(set(old) | set(new))
            if old.get(k) != new.get(k) and k not in ("client_secret", "registration_access_token")}


def issued_secret(plaintext_hash: str, expiration: datetime | None) -> Secret:
    """Return the stored secret of a registered client: the hash only, never the plaintext."""
    return Secret(value=plaintext_hash, description="issued by dynamic registration",
                  expiration=expiration)
