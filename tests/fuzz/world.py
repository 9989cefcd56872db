"""The server the fuzz tests run against: its issuer, the paths of its endpoints, and the
clients registered on it (what the oracles check redirects against)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ISSUER = "http://testserver"

PATHS = {
    "token": "/connect/token", "authorize": "/connect/authorize",
    "userinfo": "/connect/userinfo", "introspect": "/connect/introspect",
    "revocation": "/connect/revocation", "endsession": "/connect/endsession",
    "consent": "/connect/consent", "login": "/account/login", "grants": "/account/grants",
    "discovery": "/.well-known/openid-configuration",
    "oauth-metadata": "/.well-known/oauth-authorization-server",
    "jwks": "/.well-known/openid-configuration/jwks",
}
CORS_ORIGINS = frozenset({"https://app.example.com"})  # the web client's AllowedCorsOrigins
CORS_ENDPOINTS = frozenset({"token", "userinfo", "revocation", "discovery", "oauth-metadata",
                            "jwks"})


@dataclass(frozen=True)
class Registered:
    redirect_uris: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    front_channel_logout_uri: str | None = None


REGISTRY: dict[str, Registered] = {
    "service.client": Registered(),
    "interactive": Registered(("http://localhost:21402/signin-oidc",), ("http://localhost:21402/",),
                              "http://localhost:21402/signout-oidc"),
    "web": Registered(("https://app.example.com/signin-oidc", "https://app.example.com/cb?tenant=a"),
                      ("https://app.example.com/signed-out", "https://app.example.com/bye?x=1"),
                      "https://app.example.com/front-channel"),
    "native": Registered(("http://127.0.0.1/callback", "http://[::1]/callback")),
    "mobile": Registered(("com.example.app:/oauth2redirect",)),
}


def fuzz_clients() -> tuple[Any, ...]:
    from tests.factories import make_client, make_interactive_client

    web, native, mobile = REGISTRY["web"], REGISTRY["native"], REGISTRY["mobile"]
    return (
        make_client(),
        make_interactive_client(),
        make_interactive_client(
            "web", redirect_uris=web.redirect_uris,
            post_logout_redirect_uris=web.post_logout_redirect_uris,
            front_channel_logout_uri=web.front_channel_logout_uri, require_consent=True,
            allowed_cors_origins=("https://app.example.com",)),
        make_interactive_client("native", require_client_secret=False, client_secrets=(),
                                redirect_uris=native.redirect_uris, post_logout_redirect_uris=(),
                                front_channel_logout_uri=None),
        make_interactive_client("mobile", require_client_secret=False, client_secrets=(),
                                redirect_uris=mobile.redirect_uris, post_logout_redirect_uris=(),
                                front_channel_logout_uri=None),
    )
