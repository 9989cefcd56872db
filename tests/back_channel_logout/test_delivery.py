"""Back-channel logout through the public surface: sign out in a browser, and the clients of
the session receive logout tokens that an independent JOSE library accepts."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from joserfc import jwt
from joserfc.jwk import KeySet

from identity.models import BackChannelLogout
from tests.back_channel_logout.listener import Listener, closed_port_url
from tests.factories import make_interactive_client
from tests.helpers.flow import login, sign_in_to

pytestmark = pytest.mark.django_db

ISSUER = "http://testserver"
EVENT = "http://schemas.openid.net/event/backchannel-logout"


def app(client_id: str, port: int, **overrides: Any) -> Any:
    """An interactive client at its own loopback redirect URI."""
    return make_interactive_client(
        client_id, redirect_uris=(f"http://localhost:{port}/signin-oidc",), **overrides)


def sign_in_all(client: Any, apps: dict[str, int],
                sign_in: Callable[[Any], None] = login) -> dict[str, dict[str, Any]]:
    """Sign alice in (with `sign_in`), then in to each client; return each client's ID token
    claims, with the token itself as `_raw`."""
    sign_in(client)
    claims = {}
    for cid, port in apps.items():
        token = sign_in_to(client, cid, f"http://localhost:{port}/signin-oidc")["id_token"]
        claims[cid] = {**verify_jwt(client, token, cid, typ=None), "_raw": token}
    return claims


def django_logout(client: Any, user: Any) -> None:
    """Sign out with django.contrib.auth.logout, as a host project's own view would."""
    from django.contrib.auth import logout
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import RequestFactory

    request = RequestFactory().post("/account/logout")
    request.session = SessionStore(client.session.session_key)
    request.user = user
    logout(request)


def verify_jwt(client: Any, token: str, audience: str, *, typ: str | None) -> dict[str, Any]:
    """Verify a JWT with joserfc against the server's published JWKS; return its claims."""
    keys = KeySet.import_key_set(client.get("/.well-known/openid-configuration/jwks").json())
    decoded = jwt.decode(token, keys, algorithms=["RS256", "PS256", "ES256"])
    if typ is not None:
        assert decoded.header["typ"] == typ
    claims = dict(decoded.claims)
    assert claims["iss"] == ISSUER and claims["aud"] == audience
    return claims


def end_session(client: Any, id_token: str) -> Any:
    return client.get("/connect/endsession?" + urlencode({"id_token_hint": id_token}))


def assert_logout_token(client: Any, token: str, audience: str) -> dict[str, Any]:
    claims = verify_jwt(client, token, audience, typ="logout+jwt")
    assert claims["events"] == {EVENT: {}}
    assert "nonce" not in claims
    assert claims["iat"] <= int(time.time()) + 1 and 0 < claims["exp"] - claims["iat"] <= 120
    assert len(claims["jti"]) >= 16
    return claims


def test_sign_out_reaches_the_clients_of_the_session_only(client, seeded, alice,
                                                          listener: Listener) -> None:
    seeded(app("a", 21501, back_channel_logout_uri=listener.url("/a")),
           app("b", 21502, back_channel_logout_uri=listener.url("/b"),
               back_channel_logout_session_required=False),
           app("unused", 21503, back_channel_logout_uri=listener.url("/unused")),
           app("plain", 21504))
    tokens = sign_in_all(client, {"a": 21501, "b": 21502, "plain": 21504})
    hint = sign_in_to(client, "a", "http://localhost:21501/signin-oidc")["id_token"]

    response = end_session(client, hint)

    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert listener.paths() == ["/a", "/b"]
    for received in listener.received:
        audience = received.path.strip("/")
        assert received.content_type == "application/x-www-form-urlencoded"
        claims = assert_logout_token(client, received.logout_token, audience)
        assert claims["sub"] == tokens[audience]["sub"] == str(alice.pk)
        # sid is sent whenever known, BackChannelLogoutSessionRequired or not
        assert claims["sid"] == tokens[audience]["sid"]
    assert not BackChannelLogout.objects.exists()
    jtis = {assert_logout_token(client, r.logout_token, r.path.strip("/"))["jti"]
            for r in listener.received}
    assert len(jtis) == 2


def test_pairwise_client_gets_its_own_subject(client, seeded, alice, listener) -> None:
    seeded(app("pw", 21511, back_channel_logout_uri=listener.url("/pw"),
               pair_wise_subject_salt="pepper"))
    tokens = sign_in_all(client, {"pw": 21511})

    django_logout(client, alice)  # Django's own sign-out counts too

    claims = assert_logout_token(client, listener.received[0].logout_token, "pw")
    assert claims["sub"] == tokens["pw"]["sub"] != str(alice.pk)


def test_signing_out_without_a_session_sends_nothing(client, seeded, listener) -> None:
    seeded(app("a", 21521, back_channel_logout_uri=listener.url("/a")))
    response = client.get("/connect/endsession")
    assert response.status_code == 200
    assert listener.received == []


def test_a_hanging_client_does_not_hold_up_the_sign_out(client, seeded, alice, listener,
                                                        identity_config) -> None:
    identity_config(BACK_CHANNEL_LOGOUT_TIMEOUT=0.5)
    hanging, trickling = Listener().start(), Listener().start()
    hanging.mode, trickling.mode = "hang", "trickle"
    try:
        seeded(app("a", 21531, back_channel_logout_uri=listener.url("/a")),
               app("slow", 21532, back_channel_logout_uri=hanging.url("/slow")),
               app("drip", 21533, back_channel_logout_uri=trickling.url("/drip")))
        sign_in_all(client, {"a": 21531, "slow": 21532, "drip": 21533})
        hint = sign_in_to(client, "a", "http://localhost:21531/signin-oidc")["id_token"]

        started = time.monotonic()
        response = end_session(client, hint)
        elapsed = time.monotonic() - started
    finally:
        hanging.stop()
        trickling.stop()

    assert response.status_code == 200
    assert elapsed < 0.5 * 3  # generous: the bound is the timeout plus a little
    assert listener.paths() == ["/a"]
    kept = {(k.client_id, k.attempts) for k in BackChannelLogout.objects.all()}
    assert kept == {("slow", 1), ("drip", 1)}


def test_failures_are_kept_retried_and_delivered_when_the_client_is_back(
        client, seeded, alice, listener, identity_config, caplog) -> None:
    identity_config(BACK_CHANNEL_LOGOUT_RETRY_DELAY=0, BACK_CHANNEL_LOGOUT_TIMEOUT=1)
    caplog.set_level(logging.INFO)
    listener.mode = "fail"
    seeded(app("a", 21541, back_channel_logout_uri=listener.url("/a")))
    tokens = sign_in_all(client, {"a": 21541})

    end_session(client, tokens["a"]["_raw"])

    kept = BackChannelLogout.objects.get()
    assert (kept.client_id, kept.uri, kept.attempts, kept.last_error) == (
        "a", listener.url("/a"), 1, "HTTP 500")
    assert kept.subject == tokens["a"]["sub"] and kept.session_id == tokens["a"]["sid"]
    call_command("send_back_channel_logouts")
    assert BackChannelLogout.objects.get().attempts == 2

    listener.mode = "ok"
    call_command("send_back_channel_logouts")

    assert not BackChannelLogout.objects.exists()
    assert len(listener.received) == 3
    first, last = listener.received[0].logout_token, listener.received[-1].logout_token
    claims = assert_logout_token(client, last, "a")
    assert claims["sid"] == tokens["a"]["sid"] and claims["sub"] == tokens["a"]["sub"]
    assert claims["jti"] != assert_logout_token(client, first, "a")["jti"]
    for received in listener.received:  # tokens never reach the logs
        assert received.logout_token not in caplog.text
        assert received.logout_token.split(".")[2] not in caplog.text
    assert "back-channel logout to client 'a'" in caplog.text and "delivered" in caplog.text


def test_an_unreachable_client_is_given_up_after_the_retries(
        client, seeded, alice, identity_config, caplog) -> None:
    identity_config(BACK_CHANNEL_LOGOUT_RETRY_DELAY=0, BACK_CHANNEL_LOGOUT_RETRIES=2)
    seeded(app("gone", 21551, back_channel_logout_uri=closed_port_url("/gone")))
    tokens = sign_in_all(client, {"gone": 21551})

    end_session(client, tokens["gone"]["_raw"])

    assert "Connection" in BackChannelLogout.objects.get().last_error
    call_command("send_back_channel_logouts")
    assert BackChannelLogout.objects.get().attempts == 2
    call_command("send_back_channel_logouts")
    assert not BackChannelLogout.objects.exists()
    assert "given up after 3 attempts" in caplog.text
    call_command("send_back_channel_logouts")  # nothing left: nothing happens


def test_a_retry_not_yet_due_is_left_alone(client, seeded, alice, listener,
                                           identity_config) -> None:
    identity_config(BACK_CHANNEL_LOGOUT_RETRY_DELAY=3600)
    listener.mode = "fail"
    seeded(app("a", 21561, back_channel_logout_uri=listener.url("/a")))
    tokens = sign_in_all(client, {"a": 21561})
    end_session(client, tokens["a"]["_raw"])

    call_command("send_back_channel_logouts")

    assert BackChannelLogout.objects.get().attempts == 1
    assert len(listener.received) == 1


def test_discovery_advertises_back_channel_logout(client, seeded) -> None:
    seeded()
    doc = client.get("/.well-known/openid-configuration").json()
    assert doc["backchannel_logout_supported"] is True
    assert doc["backchannel_logout_session_supported"] is True


def test_a_redirect_is_not_followed_and_counts_as_a_failure(client, seeded, alice, listener,
                                                            identity_config) -> None:
    listener.mode = "redirect"
    seeded(app("a", 21571, back_channel_logout_uri=listener.url("/a")))
    tokens = sign_in_all(client, {"a": 21571})

    end_session(client, tokens["a"]["_raw"])

    assert listener.paths() == ["/a"]
    assert BackChannelLogout.objects.get().last_error == "HTTP 307"


def test_a_disabled_client_is_skipped(client, seeded, alice, listener) -> None:
    from clients_app.models import Client as ClientRow

    seeded(app("a", 21581, back_channel_logout_uri=listener.url("/a")),
           app("off", 21582, back_channel_logout_uri=listener.url("/off")))
    tokens = sign_in_all(client, {"a": 21581, "off": 21582})
    row = ClientRow.objects.get(client_id="off")
    row.enabled = False
    row.save()  # as the admin saves it: the cached client is dropped

    end_session(client, tokens["a"]["_raw"])

    assert listener.paths() == ["/a"]


def test_pending_logouts_are_listed_in_the_admin(admin_client, seeded, alice, client,
                                                 listener) -> None:
    listener.mode = "fail"
    seeded(app("a", 21591, back_channel_logout_uri=listener.url("/a")))
    tokens = sign_in_all(client, {"a": 21591})
    end_session(client, tokens["a"]["_raw"])

    page = admin_client.get("/admin/identity/backchannellogout/").content.decode()

    assert listener.url("/a") in page and "HTTP 500" in page


def test_without_retries_a_failure_is_given_up_at_once(client, seeded, alice, listener,
                                                       identity_config, caplog) -> None:
    identity_config(BACK_CHANNEL_LOGOUT_RETRIES=0)
    listener.mode = "fail"
    seeded(app("a", 21601, back_channel_logout_uri=listener.url("/a")))
    tokens = sign_in_all(client, {"a": 21601})

    end_session(client, tokens["a"]["_raw"])

    assert len(listener.received) == 1 and not BackChannelLogout.objects.exists()
    assert "given up after 1 attempt" in caplog.text
