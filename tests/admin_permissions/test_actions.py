"""Every admin action checks the permission it needs; view-only staff see no secret hashes.

A staff user gets exactly the permissions a test names. An action they may not run is not
offered, and posting it anyway (as a crafted request would) changes nothing.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client as HttpClient

from clients_app import models
from identity import clock
from identity.hashing import hash_secret
from identity.models import PersistedGrant, SigningKey
from identity.stores.registry import get_key_ring
from tests.helpers.seeding import seed_with_api_secrets

pytestmark = pytest.mark.django_db

CLIENTS = "/admin/clients_app/client/"
API_RESOURCES = "/admin/clients_app/apiresource/"
GRANTS = "/admin/identity/persistedgrant/"
KEYS = "/admin/identity/signingkey/"
CLIENT_HASH = hash_secret("secret")  # service.client's and interactive's secret
API_HASH = hash_secret("api-secret")  # api1's
VIEW_ALL = ("clients_app.view_client", "clients_app.view_clientsecret",
            "clients_app.view_apiresource", "clients_app.view_apiresourcesecret",
            "identity.view_persistedgrant", "identity.view_signingkey")


def staff(*perms: str) -> HttpClient:
    """A signed-in staff user (not a superuser) with exactly `perms` ("app.codename")."""
    user = get_user_model().objects.create_user("staff", password="pw-staff-123",
                                                is_staff=True)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label,
                                                         codename=codename))
    client = HttpClient()
    client.force_login(user)
    return client


def offered(client: HttpClient, changelist: str) -> set[str]:
    response = client.get(changelist)
    assert response.status_code == 200
    form = response.context["action_form"]  # None when no action is offered
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


def run(client: HttpClient, changelist: str, action: str, pks: list, **extra: str):
    return client.post(changelist, {"action": action, "_selected_action": pks, **extra})


def _client_pk(client_id: str = "service.client") -> int:
    return models.Client.objects.get(client_id=client_id).pk


def _enabled() -> dict[str, bool]:
    return dict(models.Client.objects.values_list("client_id", "enabled"))


def _grant(key: str) -> None:
    now = clock.now()
    PersistedGrant.objects.create(key=key, type="refresh_token", client_id="interactive",
                                  subject_id="s1", data={}, created=now,
                                  expires=now + timedelta(hours=1))


@pytest.fixture
def seeded_admin_data() -> None:
    seed_with_api_secrets()
    models.Client.objects.filter(client_id="interactive").update(enabled=False)


# --- clients: enable, disable, export -----------------------------------------------------------


@pytest.mark.parametrize("action", ["enable_clients", "disable_clients", "export_clients"])
def test_view_only_staff_cannot_run_client_actions(seeded_admin_data, action) -> None:
    client = staff(*VIEW_ALL)
    assert offered(client, CLIENTS) == set()
    before = _enabled()
    response = run(client, CLIENTS, action, [_client_pk(), _client_pk("interactive")])
    assert response.status_code in (200, 302)  # the list again, or "No action selected."
    assert response["Content-Type"].startswith("text/html")
    assert _enabled() == before
    assert CLIENT_HASH not in response.content.decode()


def test_staff_who_may_change_clients_may_enable_and_disable_them(seeded_admin_data) -> None:
    client = staff("clients_app.view_client", "clients_app.change_client")
    assert offered(client, CLIENTS) == {"enable_clients", "disable_clients"}
    run(client, CLIENTS, "disable_clients", [_client_pk()])
    assert _enabled() == {"service.client": False, "interactive": False}
    run(client, CLIENTS, "enable_clients", [_client_pk(), _client_pk("interactive")])
    assert _enabled() == {"service.client": True, "interactive": True}


@pytest.mark.parametrize("perms, allowed", [
    (("clients_app.change_client",), False),  # may not see or set the secrets
    (("clients_app.change_client", "clients_app.view_clientsecret"), False),
    (("clients_app.view_client", "clients_app.change_clientsecret"), False),
    (("clients_app.change_client", "clients_app.change_clientsecret"), True),
])
def test_export_needs_the_permissions_that_show_secret_hashes(seeded_admin_data, perms,
                                                              allowed) -> None:
    client = staff(*perms)
    assert ("export_clients" in offered(client, CLIENTS)) is allowed
    response = run(client, CLIENTS, "export_clients", [_client_pk()])
    if allowed:
        assert response["Content-Type"] == "application/json"
        secrets = json.loads(response.content)["IdentityServer"]["Clients"][0]["ClientSecrets"]
        assert [s["Value"] for s in secrets] == [CLIENT_HASH]
    else:
        assert response["Content-Type"].startswith("text/html")
        assert CLIENT_HASH not in response.content.decode()


# --- secret hashes on pages --------------------------------------------------------------------


def test_view_only_staff_see_no_secret_hashes_on_any_page(seeded_admin_data) -> None:
    client = staff(*VIEW_ALL)
    api1 = models.ApiResource.objects.get(name="api1").pk
    pages = [CLIENTS, f"{CLIENTS}{_client_pk()}/change/", f"{CLIENTS}{_client_pk()}/history/",
             API_RESOURCES, f"{API_RESOURCES}{api1}/change/", f"{API_RESOURCES}{api1}/history/"]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert CLIENT_HASH not in html and API_HASH not in html, url
    change_page = client.get(f"{CLIENTS}{_client_pk()}/change/").content.decode()
    assert "client_secrets-0-description" not in change_page  # read-only
    assert "active" in change_page  # the secret's status is still shown


def test_staff_who_may_change_secrets_see_the_hash_they_edit(seeded_admin_data) -> None:
    # The counterpart of the test above: the hash is on that page for those who may set it.
    client = staff("clients_app.change_client", "clients_app.change_clientsecret",
                   "clients_app.change_apiresource", "clients_app.change_apiresourcesecret")
    api1 = models.ApiResource.objects.get(name="api1").pk
    assert CLIENT_HASH in client.get(f"{CLIENTS}{_client_pk()}/change/").content.decode()
    assert API_HASH in client.get(f"{API_RESOURCES}{api1}/change/").content.decode()


def test_view_only_staff_cannot_generate_a_secret(seeded_admin_data) -> None:
    client = staff(*VIEW_ALL)
    pk = _client_pk()
    count = models.ClientSecret.objects.count()
    response = client.post(f"{CLIENTS}{pk}/change/", {
        "client_secrets-TOTAL_FORMS": "1", "client_secrets-INITIAL_FORMS": "0",
        "client_secrets-0-generate": "on", "client_secrets-0-type": "SharedSecret"})
    assert response.status_code == 403
    assert "generated-secret" not in response.content.decode()
    assert models.ClientSecret.objects.count() == count


# --- persisted grants: revoke ------------------------------------------------------------------


def test_view_only_staff_cannot_revoke_grants() -> None:
    _grant("g1")
    client = staff(*VIEW_ALL)
    assert "revoke" not in offered(client, GRANTS)
    response = run(client, GRANTS, "revoke", ["g1"])
    assert response.status_code in (200, 302)
    assert PersistedGrant.objects.filter(key="g1").exists()


def test_staff_who_may_delete_grants_may_revoke_them() -> None:
    _grant("g1")
    _grant("g2")
    client = staff("identity.view_persistedgrant", "identity.delete_persistedgrant")
    assert offered(client, GRANTS) == {"revoke"}  # still no row-by-row delete
    run(client, GRANTS, "revoke", ["g1"])
    assert set(PersistedGrant.objects.values_list("key", flat=True)) == {"g2"}


# --- signing keys: revoke ----------------------------------------------------------------------


def test_view_only_staff_cannot_revoke_signing_keys() -> None:
    key = SigningKey.objects.get(kid=get_key_ring().signing_key().kid)
    client = staff(*VIEW_ALL)
    assert offered(client, KEYS) == set()
    for extra in ({}, {"post": "yes"}):
        response = run(client, KEYS, "revoke", [key.pk], **extra)
        assert response.status_code in (200, 302)
        assert "This cannot be undone" not in response.content.decode()
    assert list(SigningKey.objects.values_list("kid", "revoked_at")) == [(key.kid, None)]


def test_staff_who_may_revoke_keys_confirm_then_revoke_and_a_new_key_signs() -> None:
    ring = get_key_ring()
    old = SigningKey.objects.get(kid=ring.signing_key().kid)
    client = staff("identity.view_signingkey", "identity.revoke_signingkey")
    assert offered(client, KEYS) == {"revoke"}

    confirm = run(client, KEYS, "revoke", [old.pk])
    assert confirm.status_code == 200
    page = confirm.content.decode()
    assert "This cannot be undone." in page and old.kid in page
    assert 'name="post" value="yes"' in page
    assert SigningKey.objects.get(pk=old.pk).revoked_at is None  # nothing yet

    done = client.post(KEYS, {"action": "revoke", "_selected_action": [old.pk], "post": "yes"},
                       follow=True)
    assert SigningKey.objects.get(pk=old.pk).revoked_at is not None
    new = ring.signing_key()
    assert new.kid != old.kid and new.stored.activates_at <= clock.now()
    assert {k["kid"] for k in ring.jwks()["keys"]} == {new.kid}
    shown = [str(m) for m in done.context["messages"]]
    assert f"New RS256 key {new.kid} signs from now on." in shown
    assert any(m.startswith("1 key(s) revoked") for m in shown)
    listing = client.get(KEYS).content.decode()
    assert "revoked" in listing
