"""Register a client, use it at once, read it, replace it and delete it (RFC 7591, RFC 7592)."""

from __future__ import annotations

import pytest

from tests.helpers.calls import TOKEN, introspect, post_form, userinfo
from tests.registration.conftest import DCR, SERVICE, registration_path, send

pytestmark = pytest.mark.django_db


def test_a_registered_client_gets_tokens_at_once(client, registered, token_post) -> None:
    reply = registered()
    assert reply["client_id"] and reply["client_secret"]
    assert reply["grant_types"] == ["client_credentials"]
    assert reply["response_types"] == []
    assert reply["token_endpoint_auth_method"] == "client_secret_basic"
    assert reply["scope"] == "api1"
    assert reply["client_name"] == "Robot"
    assert reply["client_secret_expires_at"] == 0
    assert isinstance(reply["client_id_issued_at"], int)
    assert reply["registration_client_uri"] == "http://testserver" + registration_path(reply)
    response = token_post({"grant_type": "client_credentials", "scope": "api1"},
                          auth=(reply["client_id"], reply["client_secret"]))
    assert response.status_code == 200, response.content
    # client_secret_post works as well: the server accepts both methods of any client.
    response = token_post({"grant_type": "client_credentials", "client_id": reply["client_id"],
                           "client_secret": reply["client_secret"]})
    assert response.status_code == 200, response.content


def test_the_response_is_created_and_never_cached(register) -> None:
    response = register(SERVICE)
    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"


def test_client_ids_and_tokens_are_new_every_time(registered) -> None:
    first, second = registered(), registered()
    assert first["client_id"] != second["client_id"] and len(first["client_id"]) >= 32
    assert first["registration_access_token"] != second["registration_access_token"]
    assert first["client_secret"] != second["client_secret"]


def test_read_returns_the_metadata_and_no_new_secret(client, registered) -> None:
    reply = registered()
    token = reply["registration_access_token"]
    response = send(client, "GET", registration_path(reply), token=token)
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert "client_secret" not in body
    assert body["registration_access_token"] == token  # not rotated
    expected = {k: v for k, v in reply.items() if k != "client_secret"}
    assert body == expected


def test_update_replaces_the_metadata_and_keeps_the_secret(client, registered,
                                                           token_post) -> None:
    reply = registered()
    path, token = registration_path(reply), reply["registration_access_token"]
    body = {"client_id": reply["client_id"], "client_secret": reply["client_secret"],
            "grant_types": ["client_credentials"], "client_name": "Robot 2", "scope": "api1",
            "contacts": ["ops@example.com"], "tos_uri": "https://example.com/tos"}
    response = send(client, "PUT", path, body, token=token)
    assert response.status_code == 200, response.content
    updated = response.json()
    assert updated["client_name"] == "Robot 2" and updated["contacts"] == ["ops@example.com"]
    assert "client_secret" not in updated
    assert send(client, "GET", path, token=token).json() == updated
    auth = (reply["client_id"], reply["client_secret"])  # the secret is kept
    assert token_post({"grant_type": "client_credentials", "scope": "api1"},
                      auth=auth).status_code == 200
    # A full replacement: what the request omits is gone.
    body = {"client_id": reply["client_id"], "grant_types": ["client_credentials"]}
    replaced = send(client, "PUT", path, body, token=token).json()
    assert "client_name" not in replaced and "contacts" not in replaced
    assert "scope" not in replaced


def test_an_update_is_seen_although_the_client_was_cached(client, registered,
                                                          token_post) -> None:
    reply = registered()
    auth = (reply["client_id"], reply["client_secret"])
    # The token request puts the client in the store cache.
    assert token_post({"grant_type": "client_credentials", "scope": "api1"},
                      auth=auth).status_code == 200
    body = {"client_id": reply["client_id"], "grant_types": ["client_credentials"],
            "scope": "openid"}
    send(client, "PUT", registration_path(reply), body,
         token=reply["registration_access_token"])
    refused = token_post({"grant_type": "client_credentials", "scope": "api1"}, auth=auth)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"


def test_a_public_client_becoming_confidential_gets_a_secret_once(client, registered,
                                                                 token_post) -> None:
    reply = registered({"redirect_uris": ["com.example.app:/callback"],
                        "token_endpoint_auth_method": "none", "scope": "openid"})
    assert "client_secret" not in reply and "client_secret_expires_at" not in reply
    assert reply["token_endpoint_auth_method"] == "none"
    body = {"client_id": reply["client_id"], "grant_types": ["authorization_code",
                                                             "client_credentials"],
            "redirect_uris": ["com.example.app:/callback"], "scope": "api1",
            "token_endpoint_auth_method": "client_secret_post"}
    response = send(client, "PUT", registration_path(reply), body,
                    token=reply["registration_access_token"])
    assert response.status_code == 200, response.content
    secret = response.json()["client_secret"]
    assert token_post({"grant_type": "client_credentials", "scope": "api1"},
                      auth=(reply["client_id"], secret)).status_code == 200


def test_delete_removes_the_client_and_everything_it_holds(client, registered, token_post,
                                                           identity_config, alice) -> None:
    from datetime import timedelta

    from clients_app.models import Client, ClientRegistration
    from identity import clock
    from identity.models import Consent, PersistedGrant
    from tests.helpers.flow import exchange, get_code, login
    from tests.helpers.pkce import Pkce

    identity_config(REGISTRATION_SCOPES=["openid", "profile", "email", "api1"],
                    REGISTRATION_REQUIRE_CONSENT=False)
    reply = registered({"redirect_uris": ["http://localhost:7000/cb"],
                        "grant_types": ["authorization_code", "refresh_token",
                                        "client_credentials"],
                        "scope": "openid profile api1 offline_access"})
    client_id, auth = reply["client_id"], (reply["client_id"], reply["client_secret"])
    # A user's tokens through the code flow: a JWT access token and a refresh token.
    login(client)
    pkce = Pkce.new()
    code = get_code(client, pkce, client_id=client_id, redirect_uri="http://localhost:7000/cb",
                    scope="openid profile api1 offline_access")
    tokens = exchange(client, code, pkce, redirect_uri="http://localhost:7000/cb", auth=auth)
    assert tokens.status_code == 200, tokens.content
    user_jwt, refresh = tokens.json()["access_token"], tokens.json()["refresh_token"]
    own_jwt = token_post({"grant_type": "client_credentials", "scope": "api1"},
                         auth=auth).json()["access_token"]
    now = clock.now()
    PersistedGrant.objects.create(key="r" * 64, type="reference_token", client_id=client_id,
                                  data={"claims": {}}, created=now,
                                  expires=now + timedelta(hours=1))
    Consent.objects.create(subject_id=str(alice.pk), client_id=client_id, scopes=["openid"],
                           created=now)
    for token in (user_jwt, own_jwt):
        assert introspect(client, token).json()["active"] is True
    assert introspect(client, refresh, auth=auth).json()["active"] is True
    assert userinfo(client, user_jwt).status_code == 200
    assert PersistedGrant.objects.filter(client_id=client_id).count() >= 2

    path, token = registration_path(reply), reply["registration_access_token"]
    response = send(client, "DELETE", path, token=token)
    assert response.status_code == 204 and response.content == b""

    assert not Client.objects.filter(client_id=client_id).exists()
    assert not ClientRegistration.objects.exists()
    assert not PersistedGrant.objects.filter(client_id=client_id).exists()
    assert not Consent.objects.filter(client_id=client_id).exists()
    for token_value in (user_jwt, own_jwt):
        assert introspect(client, token_value).json() == {"active": False}
    # The refresh token's row is gone; its client could not even authenticate.
    assert post_form(client, TOKEN, {"grant_type": "refresh_token", "refresh_token": refresh},
                     auth=auth).status_code == 401
    assert userinfo(client, user_jwt).status_code == 401
    refused = post_form(client, TOKEN, {"grant_type": "client_credentials"}, auth=auth)
    assert refused.status_code == 401
    assert send(client, "GET", path, token=token).status_code == 401
    assert send(client, "DELETE", path, token=token).status_code == 401


def test_other_clients_are_untouched_by_a_delete(client, registered, token_post) -> None:
    first, second = registered(), registered()
    send(client, "DELETE", registration_path(first), token=first["registration_access_token"])
    assert token_post({"grant_type": "client_credentials", "scope": "api1"},
                      auth=(second["client_id"], second["client_secret"])).status_code == 200
    assert token_post({"grant_type": "client_credentials", "scope": "api1"},
                      auth=("service.client", "secret")).status_code == 200


def test_a_native_app_registers_without_a_secret(registered) -> None:
    reply = registered({"redirect_uris": ["http://127.0.0.1:7890/cb", "com.example.app:/cb"],
                        "token_endpoint_auth_method": "none", "scope": "openid"})
    from clients_app.models import Client

    row = Client.objects.get(client_id=reply["client_id"])
    assert row.require_client_secret is False and row.require_pkce is True
    assert not row.client_secrets.exists()


def test_metadata_maps_onto_the_client(registered) -> None:
    from clients_app.stores import OrmClientStore

    reply = registered({
        "redirect_uris": ["https://app.example.com/cb"], "client_name": "Web",
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_post", "scope": "openid email",
        "contacts": ["a@example.com"], "logo_uri": "https://app.example.com/logo.png",
        "client_uri": "https://app.example.com", "policy_uri": "https://app.example.com/p",
        "tos_uri": "https://app.example.com/t",
        "post_logout_redirect_uris": ["https://app.example.com/bye"],
        "frontchannel_logout_uri": "https://app.example.com/fc",
        "frontchannel_logout_session_required": False,
        "backchannel_logout_uri": "https://app.example.com/bc",
        "backchannel_logout_session_required": False, "software_id": "sw-1",
        "software_version": "1.0"})
    stored = OrmClientStore().find_client_by_id(reply["client_id"])
    assert stored is not None
    assert stored.client_name == "Web" and stored.allowed_grant_types == ("authorization_code",)
    assert stored.allow_offline_access is True
    assert stored.redirect_uris == ("https://app.example.com/cb",)
    assert stored.allowed_scopes == ("openid", "email")
    assert stored.logo_uri == "https://app.example.com/logo.png"
    assert stored.client_uri == "https://app.example.com"
    assert stored.post_logout_redirect_uris == ("https://app.example.com/bye",)
    assert stored.front_channel_logout_uri == "https://app.example.com/fc"
    assert stored.front_channel_logout_session_required is False
    assert stored.back_channel_logout_uri == "https://app.example.com/bc"
    assert stored.back_channel_logout_session_required is False
    assert reply["backchannel_logout_uri"] == "https://app.example.com/bc"
    assert reply["backchannel_logout_session_required"] is False
    assert stored.require_consent is True and stored.require_pkce is True
    assert reply["scope"] == "openid email offline_access"
    assert reply["token_endpoint_auth_method"] == "client_secret_post"
    assert reply["grant_types"] == ["authorization_code", "refresh_token"]
    for member in ("contacts", "policy_uri", "tos_uri", "software_id", "software_version"):
        assert member in reply


def test_the_secret_lifetime_sets_client_secret_expires_at(registered, identity_config) -> None:
    import time

    identity_config(REGISTRATION_SCOPES=["api1"], REGISTRATION_SECRET_LIFETIME=3600)
    reply = registered()
    assert abs(reply["client_secret_expires_at"] - (time.time() + 3600)) < 60


def test_the_client_id_prefix_is_used(registered, identity_config) -> None:
    identity_config(REGISTRATION_SCOPES=["api1"], REGISTRATION_CLIENT_ID_PREFIX="dcr-")
    assert registered()["client_id"].startswith("dcr-")


def test_the_registration_endpoint_is_not_the_client_uri(client, initial_token) -> None:
    assert send(client, "GET", DCR, token=initial_token).status_code == 405
