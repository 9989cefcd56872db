"""Which check a token gets, and the process-wide validator built from the settings.

A token of three dot-separated parts is a JWT and is verified locally; anything else is a
reference token for the introspection endpoint. The validator, with its key store and
introspection cache, is built on first use and kept until the setting changes, so a request
costs no settings reading and no key parsing.
"""

from __future__ import annotations

import threading
from typing import Any

from identity.contrib.rest_framework import conf
from identity.contrib.rest_framework.conf import ResourceServerSettings
from identity.contrib.rest_framework.introspection import Introspector
from identity.contrib.rest_framework.jwt_tokens import JwtValidator
from identity.contrib.rest_framework.keys import KeyStore


class TokenValidator:
    """Validate any access token of one authority."""

    def __init__(self, settings: ResourceServerSettings, keys: KeyStore | None = None,
                 introspector: Introspector | None = None) -> None:
        self.settings = settings
        self.keys = keys or KeyStore(settings)
        self.jwt = JwtValidator(settings, self.keys)
        self.introspector = introspector or Introspector(settings, self.keys)

    def validate(self, token: str, *, allow_bound: bool = False) -> dict[str, Any]:
        """Return the token's claims; raise _InvalidToken or _Unavailable. A token bound to a
        key (`cnf`) is refused unless `allow_bound`: the caller checks the proof of the key."""
        if token.count(".") == 2:
            return self.jwt.validate(token, allow_bound=allow_bound)
        return self.introspector.validate(token, allow_bound=allow_bound)


_lock = threading.Lock()
_validator: TokenValidator | None = None


def get_validator() -> TokenValidator:
    """Return the process's validator, building it (and reading the settings) on first use."""
    validator = _validator
    if validator is not None:
        return validator
    return _build()


def _build() -> TokenValidator:
    global _validator
    with _lock:
        if _validator is None:
            _validator = TokenValidator(conf.get_settings())
        return _validator


def reset() -> None:
    """Drop the validator with its keys and cached metadata; the next request builds anew."""
    global _validator
    with _lock:
        _validator = None


conf.on_change(reset)
