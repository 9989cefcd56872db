"""Helpers that walk the authorization code flow through Django's test client."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

REDIRECT = "http://localhost:21402/signin-oidc"


@dataclass
class Pkce:
    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode()).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())


def authorize_params(pkce: Pkce | None = None, **overrides: str) -> dict[str, str]:
    params = {"client_id": "interactive", "redirect_uri": REDIRECT, "response_type": "code",
              "scope": "openid profile email api1 offline_access", "state": "st-123",
              "nonce": "n-456"}
    if pkce is not None:
        params.update(code_challenge=pkce.challenge, code_challenge_method="S256")
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def authorize(client, **params: str):
    return client.get("/connect/authorize?" + urlencode(params))


def redirect_params(response) -> dict[str, str]:
    """Return the query (or fragment) parameters of a redirect to the client."""
    location = response["Location"]
    parts = urlsplit(location)
    raw = parts.fragment or parts.query
    return {k: v[0] for k, v in parse_qs(raw).items()}


def login(client, username: str = "alice", password: str = "pw-alice-123"):
    client.login(username=username, password=password)


def get_code(client, pkce: Pkce, **overrides: str) -> str:
    response = authorize(client, **authorize_params(pkce, **overrides))
    assert response.status_code == 302, response.content[:500]
    params = redirect_params(response)
    assert "code" in params, params
    return params["code"]


def exchange(client, code: str, pkce: Pkce | None, *, redirect_uri: str = REDIRECT,
             auth=("interactive", "secret")):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if pkce is not None:
        data["code_verifier"] = pkce.verifier
    headers = {}
    if auth is not None:
        raw = f"{auth[0]}:{auth[1]}".encode()
        headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(raw).decode()
    return client.post("/connect/token", urlencode(data),
                       content_type="application/x-www-form-urlencoded", **headers)


def refresh(client, token: str, scope: str | None = None, auth=("interactive", "secret")):
    data = {"grant_type": "refresh_token", "refresh_token": token}
    if scope:
        data["scope"] = scope
    raw = f"{auth[0]}:{auth[1]}".encode()
    return client.post("/connect/token", urlencode(data),
                       content_type="application/x-www-form-urlencoded",
                       HTTP_AUTHORIZATION="Basic " + base64.b64encode(raw).decode())


def authorize_post(client, **params: str):
    """Send the authorization request as a form POST (OpenID Connect Core §3.1.2.1)."""
    return client.post("/connect/authorize", urlencode(params),
                       content_type="application/x-www-form-urlencoded")


def login_with_form(client, next_url: str, username: str = "alice",
                    password: str = "pw-alice-123"):
    """Submit the login page's form as a browser would, returning the response."""
    return client.post("/account/login",
                       {"username": username, "password": password, "next": next_url})


def assert_never_framed_or_cached(response) -> None:
    """Assert the headers every interactive page carries: no framing, no caching."""
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "no-store" in response["Cache-Control"]


def post_token(client, data: dict[str, str], auth=("interactive", "secret")):
    """POST a form to the token endpoint; Basic credentials unless `auth` is None."""
    headers = {}
    if auth is not None:
        raw = f"{auth[0]}:{auth[1]}".encode()
        headers["HTTP_AUTHORIZATION"] = "Basic " + base64.b64encode(raw).decode()
    return client.post("/connect/token", urlencode(data),
                       content_type="application/x-www-form-urlencoded", **headers)


def sign_in_for_tokens(client, *, auth=("interactive", "secret"), **overrides: str) -> dict:
    """Sign alice in (if needed), get a PKCE code and redeem it; return the token response."""
    pkce = Pkce.new()
    if not client.session.get("_auth_user_id"):
        login(client)
    code = get_code(client, pkce, **overrides)
    response = exchange(client, code, pkce, auth=auth)
    assert response.status_code == 200, response.content
    return response.json()


def verified_claims(client, token: str, *, typ: str | None = None, leeway: int = 0) -> dict:
    """Check a JWT's signature against the server's JWKS (fetched over the test client);
    `leeway` accepts tokens issued by a server clock moved forward."""
    import jwt

    header = jwt.get_unverified_header(token)
    if typ is not None:
        assert header["typ"] == typ, header
    keys = client.get("/.well-known/openid-configuration/jwks").json()["keys"]
    jwk = next(k for k in keys if k["kid"] == header["kid"])
    return jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=[header["alg"]], leeway=leeway,
                      options={"verify_aud": False})


def sign_in_to(client, client_id: str = "interactive", redirect_uri: str = REDIRECT,
               **overrides: str) -> dict:
    """Run the code flow for a signed-in user with one client; return the token response."""
    pkce = Pkce.new()
    code = get_code(client, pkce, client_id=client_id, redirect_uri=redirect_uri, **overrides)
    response = exchange(client, code, pkce, redirect_uri=redirect_uri, auth=(client_id, "secret"))
    assert response.status_code == 200, response.content
    return response.json()


def is_signed_in(client) -> bool:
    """Tell whether the browser session is signed in: authorize asks for a login or not."""
    response = authorize(client, **authorize_params(Pkce.new()))
    assert response.status_code == 302, response.content[:500]
    return not response["Location"].startswith("/account/login?")


# --- introspection and revocation (RFC 7662, RFC 7009) ------------------------------------------

API_AUTH = ("api1", "api-secret")
INTROSPECT = "/connect/introspect"
REVOKE = "/connect/revocation"


def basic_auth(auth) -> dict[str, str]:
    """Return the test client's header argument for Basic credentials (form-encoded first)."""
    from urllib.parse import quote_plus

    if auth is None:
        return {}
    raw = f"{quote_plus(auth[0])}:{quote_plus(auth[1])}".encode()
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(raw).decode()}


def introspect(client, token: str | None, *, auth=API_AUTH, **params: str):
    """POST `token` to the introspection endpoint, as api1 with its ApiSecret by default."""
    data = {**({"token": token} if token is not None else {}), **params}
    return client.post(INTROSPECT, urlencode(data),
                       content_type="application/x-www-form-urlencoded", **basic_auth(auth))


def revoke(client, token: str | None, *, auth=("interactive", "secret"), **params: str):
    """POST `token` to the revocation endpoint, as the interactive client by default."""
    data = {**({"token": token} if token is not None else {}), **params}
    return client.post(REVOKE, urlencode(data),
                       content_type="application/x-www-form-urlencoded", **basic_auth(auth))


def seed_with_api_secrets(*clients) -> None:
    """Seed clients (the reference two by default) and APIs that may call introspection:
    api1 with the ApiSecret "api-secret", api2 with "api2-secret"."""
    from clients_app.importing import import_document
    from clients_app.mapping import real_models
    from identity.config_document import ConfigDocument
    from identity.domain.resources import (
        STANDARD_IDENTITY_RESOURCES,
        ApiResource,
        ApiScope,
        Resources,
    )
    from tests.factories import make_client, make_interactive_client, make_secret

    resources = Resources(
        identity_resources=STANDARD_IDENTITY_RESOURCES,
        api_scopes=(ApiScope(name="api1"), ApiScope(name="api2.read_only")),
        api_resources=(
            ApiResource(name="api1", scopes=("api1",), api_secrets=(make_secret("api-secret"),)),
            ApiResource(name="api2", scopes=("api2.read_only",),
                        api_secrets=(make_secret("api2-secret"),))))
    import_document(ConfigDocument(clients=clients or (make_client(), make_interactive_client()),
                                   resources=resources), real_models())
