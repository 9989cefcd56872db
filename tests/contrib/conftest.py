"""Fixtures of the contrib tests: a stub identity server, and the API's settings pointing at it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.contrib.support import Stub, ec_key, public_jwk, rsa_key, settings_for, stub_server


@pytest.fixture
def stub() -> Iterator[Stub]:
    """A stub identity server publishing an RSA key ("rsa") and a P-256 key ("ec")."""
    with stub_server() as server:
        server.keys = [public_jwk(rsa_key(), "rsa"), public_jwk(ec_key(), "ec")]
        yield server


@pytest.fixture
def resource_server(settings: Any, stub: Stub) -> Callable[..., None]:
    """Point IDENTITY_RESOURCE_SERVER at the stub; call it again to override keys."""

    def configure(**overrides: Any) -> None:
        settings.IDENTITY_RESOURCE_SERVER = settings_for(stub.url, **overrides)

    configure()
    return configure
