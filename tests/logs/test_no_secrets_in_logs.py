"""Secrets, passwords, codes and tokens never reach the logs.

Every logger is captured at DEBUG, SQL included, over a full run: client credentials, sign-in,
code, refresh, userinfo, introspection, revocation and sign-out, with failures of each kind.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlencode

import pytest
from django.db import connection

from identity.domain.client import AccessTokenType
from tests.factories import make_client, make_interactive_client, make_secret
from tests.helpers.basic_auth import basic_auth
from tests.helpers.calls import post_form as _form
from tests.helpers.calls import refresh
from tests.helpers.flow import authorize, authorize_params, exchange
from tests.helpers.pkce import Pkce

CLIENT_SECRET = "s3cr3t-Client-Value-0F9A"
WRONG_SECRET = "wrong-Guess-Value-77Q"
PASSWORD = "pw-alice-123"
WRONG_PASSWORD = "wrong-Password-Guess-5X"


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return basic_auth((client_id, secret))


@pytest.fixture
def everything_logged(caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("django", "django.db.backends", "django.request", "identity", "clients_app"):
        caplog.set_level(logging.DEBUG, logger=name)
    connection.force_debug_cursor = True  # log SQL and its parameters, as DEBUG=True would
    yield caplog
    connection.force_debug_cursor = False


def test_a_full_run_logs_no_secret_code_or_token(client, seeded, alice,
                                                 everything_logged) -> None:
    seeded(make_client(client_secrets=(make_secret(CLIENT_SECRET),)),
           make_client("reference.client", client_secrets=(make_secret(CLIENT_SECRET),),
                       access_token_type=AccessTokenType.Reference),
           make_interactive_client(client_secrets=(make_secret(CLIENT_SECRET),)))
    sensitive = {CLIENT_SECRET, WRONG_SECRET, PASSWORD, WRONG_PASSWORD}
    auth = ("interactive", CLIENT_SECRET)

    grant = {"grant_type": "client_credentials", "scope": "api1"}
    jwt = _form(client, "/connect/token", grant, **_basic("service.client", CLIENT_SECRET))
    reference = _form(client, "/connect/token", grant,
                      **_basic("reference.client", CLIENT_SECRET))
    assert _form(client, "/connect/token", grant,
                 **_basic("service.client", WRONG_SECRET)).status_code == 401
    assert _form(client, "/connect/token", {**grant, "client_id": "service.client",
                                            "client_secret": WRONG_SECRET}).status_code == 401
    sensitive |= {jwt.json()["access_token"], reference.json()["access_token"]}

    assert client.post("/account/login", {"username": "alice", "password": WRONG_PASSWORD}
                       ).status_code == 200
    assert client.post("/account/login", {"username": "alice", "password": PASSWORD,
                                           "next": "/account/grants"}).status_code == 302

    pkce = Pkce.new()
    redirect = authorize(client, **authorize_params(pkce))
    code = re.search(r"code=([^&]+)", redirect["Location"]).group(1)
    tokens = exchange(client, code, pkce, auth=auth).json()
    assert exchange(client, code, pkce, auth=auth).status_code == 400  # a replay
    pkce = Pkce.new()
    code2 = re.search(r"code=([^&]+)", authorize(client, **authorize_params(pkce))["Location"]
                      ).group(1)
    tokens2 = exchange(client, code2, pkce, auth=auth).json()
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens2['access_token']}"}
    assert client.get("/connect/userinfo", **bearer).status_code == 200
    refreshed = refresh(client, tokens2["refresh_token"], auth=auth).json()
    assert refresh(client, tokens2["refresh_token"], auth=auth).status_code == 400  # reuse
    sensitive |= {code, code2, pkce.verifier, refreshed["access_token"]}
    for issued in (tokens, tokens2, refreshed):
        sensitive |= {issued["access_token"], issued["refresh_token"], issued["id_token"]}

    for token in (tokens2["access_token"], reference.json()["access_token"], "not-a-token"):
        _form(client, "/connect/introspect", {"token": token},
              **_basic("service.client", CLIENT_SECRET))
    _form(client, "/connect/revocation", {"token": tokens["refresh_token"]},
          **_basic("interactive", CLIENT_SECRET))
    client.get("/connect/endsession?" + urlencode({"id_token_hint": tokens2["id_token"]}))

    text = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}"
                     for r in everything_logged.records)
    assert "SELECT" in text and "oauth error" in text  # the capture did see the run
    for value in sensitive:
        assert value not in text, f"{value[:12]}... was logged"
        # A JWT's payload alone identifies it; a code's or token's first half would help guess.
        for part in value.split(".") if value.count(".") == 2 else [value[: len(value) // 2]]:
            if len(part) >= 12:
                assert part not in text, f"part of {value[:12]}... was logged"
