"""The public keys a client signs with: its secrets of type JWK (IdentityServer's
`SecretTypes.JsonWebKey`), unexpired, and the keys at its `jwks_uri` (a client Property, set by
dynamic registration's `jwks_uri`).

A key set is fetched with a timeout and a size limit, kept in Django's cache, and fetched again
when a message names a `kid` it lacks, at most once per JWKS_URI_REFETCH_INTERVAL per process and
URI, so that made-up kids cannot turn the server into a client of someone else's host. Parsing
is cached by the key's text, so a request costs dictionary lookups.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import time
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any, Final

from django.core.cache import caches

from identity.conf import identity_settings
from identity.constants import JWKS_URI_PROPERTY, SecretType
from identity.domain.client import Client
from identity.http.outbound import NO_REDIRECTS
from identity.validation.jwk import CLIENT_ALGORITHMS, ClientKey, parse_jwk

logger = logging.getLogger(__name__)
FETCH_TIMEOUT: Final = 3.0  # seconds
MAX_JWKS_BYTES: Final = 64 * 1024
MAX_KEYS: Final = 20


def accepted_algorithms() -> tuple[str, ...]:
    """Return the algorithms accepted from clients (CLIENT_SIGNING_ALGORITHMS; the system
    check refuses others at start-up)."""
    return tuple(a for a in identity_settings.CLIENT_SIGNING_ALGORITHMS
                 if a in CLIENT_ALGORITHMS)


def client_keys(client: Client, now: datetime, kid: str | None = None) -> list[ClientKey]:
    """Return the client's usable public keys; with `kid`, fetch its jwks_uri again (bounded)
    when no key has that kid. A malformed key is logged and skipped."""
    keys = []
    for secret in client.active_secrets(now):
        if secret.type != SecretType.JWK:
            continue
        key = _parsed(secret.value)
        if key is None:
            logger.warning("client %r has a JWK secret that cannot be read", client.client_id)
        else:
            keys.append(key)
    uri = dict(client.properties).get(JWKS_URI_PROPERTY)
    if uri:
        remote = _remote_keys(uri, refresh=False)
        if kid is not None and not any(k.kid == kid for k in keys + remote):
            remote = _remote_keys(uri, refresh=True)
        keys += remote
    return keys


def _remote_keys(uri: str, *, refresh: bool) -> list[ClientKey]:
    cache = caches[identity_settings.CACHE_ALIAS]
    digest = hashlib.sha256(uri.encode()).hexdigest()[:40]
    key = f"identity:jwks:v1:{digest}"
    text = None if refresh else cache.get(key)
    if text is None:
        if refresh and not cache.add(f"identity:jwks-refetch:v1:{digest}", 1,
                                     identity_settings.JWKS_URI_REFETCH_INTERVAL):
            text = cache.get(key)  # fetched again lately: what we have will do
        else:
            text = _fetch(uri)
            if text is not None:
                cache.set(key, text, identity_settings.JWKS_URI_CACHE_TIMEOUT)
            elif refresh:
                text = cache.get(key)  # a failed refetch keeps the set we had
            else:
                # Remembered as empty, so that a dead or slow host is not called at every
                # request (each one made by anyone who knows the client id).
                cache.set(key, "", identity_settings.JWKS_URI_REFETCH_INTERVAL)
    return _parsed_set(text) if text else []


def _fetch(uri: str) -> str | None:
    """Return the JWKS document at `uri`, or None (logged) when it cannot be had."""
    if not uri.startswith("https://") and not (
            uri.startswith("http://") and not identity_settings.JWKS_URI_REQUIRE_HTTPS):
        logger.warning("jwks_uri %s is not https; not fetched", uri)
        return None
    request = urllib.request.Request(uri, headers={"Accept": "application/json"})
    deadline = time.monotonic() + FETCH_TIMEOUT
    try:
        with NO_REDIRECTS.open(request, timeout=FETCH_TIMEOUT) as response:
            body = _read_before(response, deadline)
    except (urllib.error.URLError, OSError, ValueError) as err:
        logger.warning("jwks_uri %s could not be fetched: %s", uri, err)
        return None
    if len(body) > MAX_JWKS_BYTES:
        logger.warning("jwks_uri %s answered more than %d bytes; ignored", uri, MAX_JWKS_BYTES)
        return None
    return body.decode("utf-8", "replace")


def _read_before(response: Any, deadline: float) -> bytes:
    """Read at most MAX_JWKS_BYTES + 1 bytes, giving up at `deadline`: the socket timeout
    bounds each read only, and a body sent a few bytes at a time would outlast it."""
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_JWKS_BYTES:
        if time.monotonic() > deadline:
            raise TimeoutError("the key set was not received within the timeout")
        chunk = response.read1(MAX_JWKS_BYTES + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


@functools.lru_cache(maxsize=256)
def _parsed_set(text: str) -> list[ClientKey]:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return []
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return []
    keys = []
    for entry in entries[:MAX_KEYS]:
        if isinstance(entry, dict) and entry.get("use", "sig") == "sig":
            try:
                keys.append(parse_jwk(entry))
            except ValueError:
                continue
    return keys


@functools.lru_cache(maxsize=4096)
def _parsed(value: str) -> ClientKey | None:
    try:
        return parse_jwk(value)
    except ValueError:
        return None
