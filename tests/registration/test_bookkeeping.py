"""What registration leaves behind: audit records without secrets, hashed secrets and tokens,
the admin's marker, discovery, and export and import like any other client."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from tests.registration.conftest import registration_path, send

pytestmark = pytest.mark.django_db


def test_every_write_is_audited_without_secrets(client, registered) -> None:
    from identity.models import AuditEvent

    reply = registered()
    path, token = registration_path(reply), reply["registration_access_token"]
    body = {"client_id": reply["client_id"], "grant_types": ["client_credentials"],
            "scope": "api1", "client_name": "Renamed"}
    assert send(client, "PUT", path, body, token=token).status_code == 200
    assert send(client, "DELETE", path, token=token).status_code == 204
    events = list(AuditEvent.objects.order_by("at", "pk"))
    assert [(e.via, e.action, e.target_type, e.target) for e in events] == [
        ("registration", "create", "client", reply["client_id"]),
        ("registration", "change", "client", reply["client_id"]),
        ("registration", "delete", "client", reply["client_id"]),
    ]
    assert events[0].actor == "client:dcr.admin"
    assert events[1].actor == events[2].actor == f"registration:{reply['client_id']}"
    assert events[0].changes["client_name"] == [None, "Robot"]
    assert events[1].changes == {"client_name": ["Robot", "Renamed"]}
    text = json.dumps([e.changes for e in events])
    from identity.hashing import hash_secret
    from identity.validation.registration import registration_token_hash

    for secret in (reply["client_secret"], token, hash_secret(reply["client_secret"]),
                   registration_token_hash(token)):
        assert secret not in text


def test_anonymous_registrations_are_audited_as_such(register, identity_config) -> None:
    from identity.models import AuditEvent
    from tests.registration.conftest import SERVICE

    identity_config(REGISTRATION_SCOPES=["api1"], REGISTRATION_ALLOW_ANONYMOUS=True)
    assert register(SERVICE, token=None).status_code == 201
    assert AuditEvent.objects.get().actor == "anonymous"


def test_secrets_and_tokens_are_stored_hashed_only(registered) -> None:
    from clients_app.models import ClientRegistration, ClientSecret
    from identity.hashing import hash_secret
    from identity.validation.registration import registration_token_hash
    from tests.helpers.database import database_text

    reply = registered()
    dump = database_text()
    assert reply["client_secret"] not in dump
    assert reply["registration_access_token"] not in dump
    secret = ClientSecret.objects.get(client__client_id=reply["client_id"])
    assert secret.value == hash_secret(reply["client_secret"])
    stored = ClientRegistration.objects.get(client__client_id=reply["client_id"])
    assert stored.token_hash == registration_token_hash(reply["registration_access_token"])


def test_a_refused_registration_writes_nothing(register) -> None:
    from clients_app.models import Client, ClientRegistration
    from identity.models import AuditEvent

    before = Client.objects.count()
    assert register({"grant_types": ["password"]}).status_code == 400
    assert Client.objects.count() == before
    assert not ClientRegistration.objects.exists() and not AuditEvent.objects.exists()


@pytest.mark.parametrize("path", ["/.well-known/openid-configuration",
                                  "/.well-known/oauth-authorization-server"])
def test_discovery_advertises_the_endpoint(client, dcr_server, identity_config, path) -> None:
    identity_config(ISSUER="https://id.example.com")
    assert client.get(path).json()["registration_endpoint"] == "https://id.example.com/connect/dcr"


def test_the_client_uri_follows_the_issuer(client, dcr_server, identity_config,
                                          token_post) -> None:
    from tests.helpers.calls import client_credentials_token
    from tests.registration.conftest import ADMIN_AUTH, DCR, SERVICE

    identity_config(ISSUER="https://id.example.com", REGISTRATION_SCOPES=["api1"])
    token = client_credentials_token(token_post, auth=ADMIN_AUTH, scope="dcr")
    reply = send(client, "POST", DCR, SERVICE, token=token).json()
    assert reply["registration_client_uri"] == \
        f"https://id.example.com/connect/dcr/{reply['client_id']}"


def test_the_admin_marks_registered_clients(registered) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.test import Client as HttpClient

    reply = registered()
    user = get_user_model().objects.create_user("viewer", password="pw-view-123", is_staff=True)
    user.user_permissions.add(Permission.objects.get(content_type__app_label="clients_app",
                                                     codename="view_client"))
    browser = HttpClient()
    browser.force_login(user)
    page = browser.get("/admin/clients_app/client/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "column-registered" in html and reply["client_id"] in html
    only = browser.get("/admin/clients_app/client/?registered=yes").content.decode()
    assert reply["client_id"] in only and "service.client" not in only
    others = browser.get("/admin/clients_app/client/?registered=no").content.decode()
    assert reply["client_id"] not in others and "service.client" in others
    change = browser.get(f"/admin/clients_app/client/{_pk(reply['client_id'])}/change/")
    assert change.status_code == 200


def _pk(client_id: str) -> int:
    from clients_app.models import Client

    return int(Client.objects.get(client_id=client_id).pk)


def test_registered_clients_export_and_import_like_the_others(registered, token_post,
                                                              tmp_path) -> None:
    reply = registered({"grant_types": ["client_credentials"], "scope": "api1",
                        "client_name": "Robot"})
    out = io.StringIO()
    call_command("export_clients", reply["client_id"], stdout=out)
    document = json.loads(out.getvalue())
    (exported,) = document["IdentityServer"]["Clients"]
    assert exported["ClientId"] == reply["client_id"] and exported["ClientName"] == "Robot"
    path = tmp_path / "clients.json"
    path.write_text(out.getvalue(), encoding="utf-8")
    report = io.StringIO()
    call_command("import_clients", str(path), stdout=report)
    assert "0 created, 0 changed" in report.getvalue()
    assert token_post({"grant_type": "client_credentials", "scope": "api1"},
                      auth=(reply["client_id"], reply["client_secret"])).status_code == 200


def test_an_admin_save_keeps_the_registration(registered) -> None:
    from clients_app.models import Client, ClientRegistration

    reply = registered()
    row = Client.objects.get(client_id=reply["client_id"])
    row.client_name = "Edited by staff"
    row.save()
    assert ClientRegistration.objects.filter(client=row).exists()
