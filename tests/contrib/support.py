"""Keys, signed tokens and a stub identity server for the contrib tests.

The stub serves what the API reads from an identity server (discovery, JWKS, introspection)
on 127.0.0.1 from a thread, and counts the calls; tests change what it answers as they go.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.cache.backends.locmem import LocMemCache
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

AUDIENCE = "api1"


@cache
def rsa_key(name: str = "rsa", bits: int = 2048) -> rsa.RSAPrivateKey:
    """An RSA key per name, made once per test run (generating one takes a while)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


@cache
def ec_key(name: str = "ec", curve: str = "P-256") -> ec.EllipticCurvePrivateKey:
    curves = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1(), "P-521": ec.SECP521R1()}
    return ec.generate_private_key(curves[curve])


def public_jwk(key: Any, kid: str, **members: Any) -> dict[str, Any]:
    """The public JWK of a private key, with its kid (and other members given)."""
    exporter = RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else ECAlgorithm
    jwk = exporter.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "use": "sig", **members}


def claims_for(issuer: str, **overrides: Any) -> dict[str, Any]:
    """Valid RFC 9068 claims for `issuer` and api1; None values are left out."""
    now = int(time.time())
    claims = {"iss": issuer, "aud": AUDIENCE, "exp": now + 300, "iat": now, "nbf": now,
              "client_id": "service.client", "sub": "alice", "scope": "api1 api1.read",
              "jti": "j1"}
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def sign(claims: Mapping[str, Any], key: Any, kid: str | None = "rsa", algorithm: str = "RS256",
         **header: Any) -> str:
    """A JWT signed with PyJWT, typ at+jwt unless `header` says otherwise."""
    headers = {"typ": "at+jwt", **({"kid": kid} if kid is not None else {}), **header}
    return jwt.encode(dict(claims), key, algorithm=algorithm, headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(claims: Mapping[str, Any], header: Mapping[str, Any],
          secret: bytes | None = None) -> str:
    """A JWT built by hand: unsigned ('none') without `secret`, HMAC-SHA256 with it (an
    attacker using a published public key as the HMAC secret)."""
    signing_input = (_b64(json.dumps(dict(header)).encode()) + "."
                     + _b64(json.dumps(dict(claims)).encode()))
    signature = b"" if secret is None else hmac.new(secret, signing_input.encode(),
                                                    hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)


def settings_for(issuer: str, **overrides: Any) -> dict[str, Any]:
    """An IDENTITY_RESOURCE_SERVER dictionary for a stub at `issuer`."""
    return {"AUTHORITY": issuer, "AUDIENCE": AUDIENCE, "REQUIRE_HTTPS": False,
            "HTTP_TIMEOUT": 5, **overrides}


# --- the stub identity server -----------------------------------------------------------------


@dataclass
class Stub:
    """What the stub answers, and what it was asked."""

    url: str = ""
    keys: list[dict[str, Any]] = field(default_factory=list)
    # token -> introspection answer; a token not in here is inactive
    active: dict[str, dict[str, Any]] = field(default_factory=dict)
    failing: bool = False  # answer 503 to everything
    hits: Counter[str] = field(default_factory=Counter)
    introspection_auth: list[str] = field(default_factory=list)
    on_request: Callable[[str], None] | None = None

    def discovery(self) -> dict[str, Any]:
        return {"issuer": self.url, "jwks_uri": f"{self.url}/jwks",
                "introspection_endpoint": f"{self.url}/introspect"}


def _handler(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _answer(self, body: Any, status: int = 200) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            stub.hits[self.path] += 1
            if stub.failing:
                self._answer({"error": "down"}, 503)
            elif self.path == "/.well-known/openid-configuration":
                self._answer(stub.discovery())
            elif self.path == "/jwks":
                self._answer({"keys": stub.keys})
            else:
                self._answer({}, 404)

        def do_POST(self) -> None:  # noqa: N802
            stub.hits[self.path] += 1
            length = int(self.headers.get("Content-Length", "0"))
            form = parse_qs(self.rfile.read(length).decode())
            stub.introspection_auth.append(self.headers.get("Authorization", ""))
            if stub.failing:
                self._answer({"error": "down"}, 503)
                return
            token = form.get("token", [""])[0]
            self._answer(stub.active.get(token, {"active": False}))

    return Handler


@contextmanager
def stub_server() -> Iterator[Stub]:
    """Run a stub identity server on 127.0.0.1 for the `with` block."""
    stub = Stub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    stub.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# --- a cache that shows what it was asked to keep ---------------------------------------------

RECORDED: list[tuple[str, Any, float | None]] = []


class RecordingCache(LocMemCache):
    """Local memory that records every set: (key, value, timeout)."""

    def set(self, key: Any, value: Any, timeout: Any = None, version: Any = None) -> None:
        RECORDED.append((key, value, timeout))
        super().set(key, value, timeout, version)
