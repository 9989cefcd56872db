"""A sample API protected by the demo server's access tokens.

GET /identity with `Authorization: Bearer <access token>` answers the token's claims as JSON.
The token must be a JWT access token (typ at+jwt) signed with a key from the server's JWKS,
issued by the server, for the audience api1 (the ApiResource that holds the scope api1), with
the scope api1.

    .venv/bin/python demo/api.py [--issuer URL] [--port 5002]

Standard library plus PyJWT.
"""

from __future__ import annotations

import argparse
import json
import os
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import jwt

AUDIENCE = "api1"  # the ApiResource's name: the server's access tokens carry it in aud
SCOPE = "api1"


class Unauthorized(Exception):
    """The request does not carry a token this API accepts; the value is WWW-Authenticate."""


class Api(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, issuer: str) -> None:
        self.issuer = issuer.rstrip("/")
        self._keys: jwt.PyJWKClient | None = None
        self.algorithms: list[str] = []
        super().__init__((host, port), Handler)

    def keys(self) -> jwt.PyJWKClient:
        # Read on first use: the server may start after this API. PyJWKClient refetches the
        # JWKS when a token names a key it does not know (signing key rotation).
        if self._keys is None:
            url = f"{self.issuer}/.well-known/openid-configuration"
            with urllib.request.urlopen(url, timeout=10) as response:
                doc = json.loads(response.read())
            # The server signs access tokens with the keys and algorithms of its ID tokens.
            self.algorithms = doc["id_token_signing_alg_values_supported"]
            self._keys = jwt.PyJWKClient(doc["jwks_uri"])
        return self._keys

    def claims(self, authorization: str) -> dict[str, Any]:
        """Return the claims of the Bearer token in `authorization`, or raise Unauthorized."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized(f'Bearer realm="{AUDIENCE}"')  # RFC 6750 §3.1: no error code
        invalid = 'Bearer error="invalid_token"'
        try:
            token = token.strip()
            # RFC 9068 §4: typ at+jwt, so that an ID token is never taken for an access token.
            typ = str(jwt.get_unverified_header(token).get("typ", "")).lower()
            if typ.removeprefix("application/") != "at+jwt":
                raise Unauthorized(invalid)
            keys = self.keys()
            key = keys.get_signing_key_from_jwt(token)
            claims = jwt.decode(token, key.key, algorithms=self.algorithms,
                                audience=AUDIENCE, issuer=self.issuer,
                                options={"require": ["iss", "aud", "exp", "sub"]})
        except (jwt.PyJWTError, OSError, ValueError, KeyError):
            raise Unauthorized(invalid) from None
        if SCOPE not in str(claims.get("scope", "")).split():
            raise Unauthorized(f'Bearer error="insufficient_scope", scope="{SCOPE}"')
        return claims


class Handler(BaseHTTPRequestHandler):
    server: Api

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if urlsplit(self.path).path != "/identity":
            self.answer(404, {"error": "not found; try GET /identity with a Bearer token"})
            return
        try:
            claims = self.server.claims(self.headers.get("Authorization", ""))
        except Unauthorized as err:
            challenge = str(err)
            # RFC 6750 §3.1: a missing scope is 403, anything else about the token 401.
            status = 403 if "insufficient_scope" in challenge else 401
            self.answer(status, {"error": "unauthorized"}, {"WWW-Authenticate": challenge})
            return
        self.answer(200, {"message": "Hello from the sample API", "claims": claims})

    def answer(self, status: int, body: dict[str, Any],
               headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, indent=2).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", "Cache-Control": "no-store",
                            "Content-Length": str(len(data)), **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        print(f"sample API: {self.command} {urlsplit(self.path).path} {code}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issuer", default=os.environ.get("IDENTITY_ISSUER",
                                                          "http://127.0.0.1:8000"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_API_PORT", 5002)))
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    args = parser.parse_args()
    api = Api(args.host, args.port, args.issuer)
    print(f"sample API: http://localhost:{args.port}/identity (issuer {args.issuer})", flush=True)
    try:
        api.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
