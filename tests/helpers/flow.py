"""The authorization code flow walked through Django's test client, as a browser and a client
application would: authorize, sign in, get the code, redeem it with PKCE."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.helpers.basic_auth import Credentials
from tests.helpers.calls import FORM, INTERACTIVE_AUTH, post_token
from tests.helpers.pkce import Pkce

REDIRECT = "http://localhost:21402/signin-oidc"  # the interactive client's redirect URI
PASSWORD = "pw-alice-123"  # the `alice` fixture's password


def authorize_params(pkce: Pkce | None = None, **overrides: str | None) -> dict[str, str]:
    """Return the interactive client's authorization request (with S256 PKCE when `pkce` is
    given); `overrides` replace parameters, None removes one."""
    params: dict[str, str | None] = {
        "client_id": "interactive", "redirect_uri": REDIRECT, "response_type": "code",
        "scope": "openid profile email api1 offline_access", "state": "st-123",
        "nonce": "n-456"}
    if pkce is not None:
        params.update(code_challenge=pkce.challenge, code_challenge_method="S256")
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def authorize(client: Any, **params: str) -> Any:
    """Send the authorization request as a GET with `params` in the query."""
    return client.get("/connect/authorize?" + urlencode(params))


def authorize_post(client: Any, **params: str) -> Any:
    """Send the authorization request as a form POST (OpenID Connect Core §3.1.2.1)."""
    return client.post("/connect/authorize", urlencode(params), content_type=FORM)


def redirect_params(response: Any) -> dict[str, str]:
    """Return the query (or fragment) parameters of a redirect to the client."""
    parts = urlsplit(response["Location"])
    raw = parts.fragment or parts.query
    return {k: v[0] for k, v in parse_qs(raw).items()}


def query_of(url: str) -> dict[str, str]:
    """Return the query parameters of `url`, the first value of each."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def login(client: Any, username: str = "alice", password: str = PASSWORD) -> None:
    """Sign the browser in without the login page (Django's test client login)."""
    client.login(username=username, password=password)


def login_with_form(client: Any, next_url: str, username: str = "alice",
                    password: str = PASSWORD) -> Any:
    """Submit the login page's form as a browser would, returning the response."""
    return client.post("/account/login",
                       {"username": username, "password": password, "next": next_url})


def age_session(client: Any, seconds: int) -> None:
    """Move the sign-in time of the client's session `seconds` into the past."""
    from identity.http.session import AUTH_TIME

    session = client.session
    session[AUTH_TIME] -= seconds
    session.save()


def is_signed_in(client: Any) -> bool:
    """Tell whether the browser session is signed in: authorize asks for a login or not."""
    response = authorize(client, **authorize_params(Pkce.new()))
    assert response.status_code == 302, response.content[:500]
    return not response["Location"].startswith("/account/login?")


def get_code(client: Any, pkce: Pkce, **overrides: str) -> str:
    """Run authorize for a signed-in browser; return the code it redirects back with."""
    response = authorize(client, **authorize_params(pkce, **overrides))
    assert response.status_code == 302, response.content[:500]
    params = redirect_params(response)
    assert "code" in params, params
    return params["code"]


def exchange(client: Any, code: str, pkce: Pkce | None, *, redirect_uri: str = REDIRECT,
             auth: Credentials | None = INTERACTIVE_AUTH) -> Any:
    """Redeem `code` at the token endpoint (RFC 6749 §4.1.3), with the PKCE verifier if any."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if pkce is not None:
        data["code_verifier"] = pkce.verifier
    return post_token(client, data, auth=auth)


def sign_in_for_tokens(client: Any, *, auth: Credentials = INTERACTIVE_AUTH,
                       **overrides: str) -> dict[str, Any]:
    """Sign alice in (if needed), get a PKCE code and redeem it; return the token response."""
    pkce = Pkce.new()
    if not client.session.get("_auth_user_id"):
        login(client)
    code = get_code(client, pkce, **overrides)
    response = exchange(client, code, pkce, auth=auth)
    assert response.status_code == 200, response.content
    return response.json()


def sign_in_to(client: Any, client_id: str = "interactive", redirect_uri: str = REDIRECT,
               **overrides: str) -> dict[str, Any]:
    """Run the code flow for a signed-in user with one client; return the token response."""
    pkce = Pkce.new()
    code = get_code(client, pkce, client_id=client_id, redirect_uri=redirect_uri, **overrides)
    response = exchange(client, code, pkce, redirect_uri=redirect_uri, auth=(client_id, "secret"))
    assert response.status_code == 200, response.content
    return response.json()


def verified_claims(client: Any, token: str, *, typ: str | None = None,
                    leeway: int = 0) -> dict[str, Any]:
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


def assert_never_framed_or_cached(response: Any) -> None:
    """Assert the headers every interactive page carries: no framing, no caching."""
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "no-store" in response["Cache-Control"]
