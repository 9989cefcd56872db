"""The everyday client admin: kinds, choices instead of free text, unsupported settings, the
one-time secret page and the client list, through Django's test client."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client as HttpClient

from clients_app import models
from clients_app.forms import known_scope_names
from identity.stores.registry import get_client_store, get_key_ring
from identity.validation.client_config import validate_client
from tests.admin_permissions.test_actions import staff
from tests.clients_app.test_admin import (
    GENERATED_RE,
    changelist_rows,
    form_fields,
    result_ids,
    save_client,
    text_of,
)
from tests.factories import make_client, make_interactive_client
from tests.helpers.calls import post_token
from tests.helpers.forms import add_generated_secret

pytestmark = pytest.mark.django_db

CLIENTS = "/admin/clients_app/client/"
ADD = f"{CLIENTS}add/"
KIND_TITLES = ("Machine to machine", "Web application", "Single-page application",
               "Native application", "Device (TV, console)", "Other")


@pytest.fixture(autouse=True)
def scopes() -> None:
    for name in ("openid", "profile"):
        models.IdentityResource.objects.get_or_create(name=name)
    models.ApiScope.objects.get_or_create(name="api1")


def selected(page: str, name: str) -> list[str]:
    """Return the options of select `name` in the order shown, the selected one marked '*'."""
    found = re.search(rf'<select name="{re.escape(name)}"[^>]*>(.*?)</select>', page, re.S)
    assert found, name
    return [("*" if sel else "") + value for value, sel in
            re.findall(r'<option value="([^"]*)"( selected)?', found.group(1))]


def add_client(client: HttpClient, kind: str, **changes: str) -> Any:
    url = f"{ADD}?kind={kind}"
    data = form_fields(client.get(url))
    data.update(changes)
    return client.post(url, data)


def saved(client_id: str) -> Any:
    stored = get_client_store().find_client_by_id(client_id)
    assert stored is not None
    assert validate_client(stored, known_scope_names()) == []
    return stored


def shown_secret(client: HttpClient, response: Any) -> str:
    assert response.status_code == 303, text_of(response)
    page = client.get(response["Location"])
    (secret,) = GENERATED_RE.findall(page.content.decode())
    return secret


# ---- chooser and kinds -------------------------------------------------------------------------

def test_add_without_a_kind_shows_the_chooser(admin_client: HttpClient) -> None:
    page = text_of(admin_client.get(ADD))
    for title in KIND_TITLES:
        assert title in page
    for slug in ("machine", "web", "spa", "native", "device", "custom"):
        assert f'href="?kind={slug}"' in page
    assert 'name="client_id"' not in page


def test_device_form_opens_the_device_settings(admin_client: HttpClient) -> None:
    page = admin_client.get(f"{ADD}?kind=device").content.decode()
    fields = form_fields(admin_client.get(f"{ADD}?kind=device"))
    assert fields["allowed_grant_types-0-grant_type"] == (
        "urn:ietf:params:oauth:grant-type:device_code")
    assert "require_client_secret" not in fields  # a public client by default
    for name in ("user_code_type", "device_code_lifetime", "polling_interval"):
        assert f'name="{name}"' in page


def test_machine_form_defaults_and_its_client_gets_a_token(admin_client: HttpClient) -> None:
    page = admin_client.get(f"{ADD}?kind=machine").content.decode()
    fields = form_fields(admin_client.get(f"{ADD}?kind=machine"))
    assert fields["require_client_secret"] == "on"
    assert "allow_offline_access" not in fields
    assert fields["allowed_grant_types-0-grant_type"] == "client_credentials"
    assert fields["client_secrets-0-generate"] == "on"
    assert selected(page, "allowed_grant_types-0-grant_type") == [
        "", "authorization_code", "*client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code"]

    response = add_client(admin_client, "machine", client_id="svc.machine",
                          **{"allowed_scopes-0-scope": "api1"})

    secret = shown_secret(admin_client, response)
    stored = saved("svc.machine")
    assert stored.allowed_grant_types == ("client_credentials",)
    assert stored.allowed_scopes == ("api1",)
    token = post_token(HttpClient(), {"grant_type": "client_credentials", "scope": "api1"},
                       auth=("svc.machine", secret))
    assert token.status_code == 200, token.content
    assert json.loads(token.content)["access_token"]


def test_web_form_defaults_and_save(admin_client: HttpClient) -> None:
    fields = form_fields(admin_client.get(f"{ADD}?kind=web"))
    assert fields["require_client_secret"] == "on"
    assert fields["require_pkce"] == "on"
    assert fields["allow_offline_access"] == "on"
    assert fields["allowed_grant_types-0-grant_type"] == "authorization_code"
    assert fields["redirect_uris-0-redirect_uri"] == ""  # to fill in; placeholder shown

    response = add_client(admin_client, "web", client_id="web.portal", **{
        "redirect_uris-0-redirect_uri": "https://portal.example.com/signin-oidc"})

    shown_secret(admin_client, response)
    stored = saved("web.portal")
    assert stored.allowed_grant_types == ("authorization_code",)
    assert stored.require_client_secret and stored.require_pkce and stored.allow_offline_access
    assert set(stored.allowed_scopes) == {"openid", "profile", "offline_access"}
    assert len(stored.client_secrets) == 1


def test_web_form_without_a_redirect_uri_is_refused_with_the_rule(
        admin_client: HttpClient) -> None:
    response = add_client(admin_client, "web", client_id="web.nouri")
    assert response.status_code == 200
    assert "authorization_code needs at least one redirect URI" in text_of(response)


def test_spa_form_is_public_with_a_cors_origin(admin_client: HttpClient) -> None:
    page = admin_client.get(f"{ADD}?kind=spa").content.decode()
    fields = form_fields(admin_client.get(f"{ADD}?kind=spa"))
    assert "require_client_secret" not in fields  # unticked
    assert 'placeholder="https://app.example.com"' in page
    assert not any(k.startswith("client_secrets-0") for k in fields)

    response = add_client(admin_client, "spa", client_id="spa.app", **{
        "redirect_uris-0-redirect_uri": "https://spa.example.com/callback",
        "allowed_cors_origins-0-origin": "https://spa.example.com"})

    assert response.status_code == 302, text_of(response)
    stored = saved("spa.app")
    assert not stored.require_client_secret and stored.require_pkce
    assert stored.allowed_cors_origins == ("https://spa.example.com",)
    assert stored.client_secrets == ()


def test_native_form_has_a_loopback_redirect_uri(admin_client: HttpClient) -> None:
    fields = form_fields(admin_client.get(f"{ADD}?kind=native"))
    assert fields["redirect_uris-0-redirect_uri"] == "http://127.0.0.1"

    response = add_client(admin_client, "native", client_id="native.app")

    assert response.status_code == 302, text_of(response)
    stored = saved("native.app")
    assert stored.redirect_uris == ("http://127.0.0.1",)
    assert not stored.require_client_secret and stored.allow_offline_access


def test_kind_form_folds_what_does_not_matter(admin_client: HttpClient) -> None:
    page = admin_client.get(f"{ADD}?kind=machine").content.decode()
    # Refresh tokens and CORS do not matter to a machine: folded, still in the form.
    assert re.search(r'<details><summary>\s*<h2[^>]*>Advanced: tokens', page)
    assert re.search(r'<details><summary>\s*<h2 id="allowed_cors_origins-heading"', page)
    assert not re.search(r'<details><summary>\s*<h2 id="allowed_scopes-heading"', page)
    # FAPI 2.0 settings are folded under their own heading, still in the form.
    assert re.search(r'<details><summary>\s*<h2[^>]*>Advanced: high security \(FAPI 2\.0\)',
                     page)
    for name in ("require_dpop", "require_request_object", "require_pushed_authorization",
                 "dpop_validation_mode", "dpop_clock_skew", "pushed_authorization_lifetime"):
        assert f'name="{name}"' in page
    # Back-channel logout is offered; settings of features that do not exist are not at all.
    assert 'name="back_channel_logout_uri"' in page
    assert 'name="back_channel_logout_session_required"' in page
    for name in ("coordinate_lifetime_with_user_session", "ciba_lifetime"):
        assert f'name="{name}"' not in page
    # The device flow's settings are folded under their own heading.
    assert re.search(r'<details><summary>\s*<h2[^>]*>Advanced: device flow', page)
    assert 'name="device_code_lifetime"' in page


def test_change_view_shows_the_derived_kind(admin_client: HttpClient) -> None:
    row = save_client(make_interactive_client("web.app"))
    page = text_of(admin_client.get(f"{CLIENTS}{row.pk}/change/"))
    assert "Web application" in page
    assert 'name="client_id"' in page


# ---- choices -----------------------------------------------------------------------------------

def test_scope_select_offers_existing_scopes_and_a_new_one_at_once(
        admin_client: HttpClient) -> None:
    options = selected(admin_client.get(f"{ADD}?kind=machine").content.decode(),
                       "allowed_scopes-0-scope")
    assert options[0] == "*"  # nothing chosen yet
    assert {"openid", "profile", "offline_access", "api1"} <= set(options)
    assert "orders.read" not in options

    models.ApiScope.objects.create(name="orders.read")

    options = selected(admin_client.get(f"{ADD}?kind=machine").content.decode(),
                       "allowed_scopes-0-scope")
    assert "orders.read" in options


def test_stored_values_outside_the_lists_stay_shown(admin_client: HttpClient) -> None:
    row = save_client(make_client("svc.old", allowed_scopes=("api1",)))
    models.ClientGrantType.objects.filter(client=row).update(grant_type="password")
    models.ClientScope.objects.filter(client=row).update(scope="retired.scope")

    page = admin_client.get(f"{CLIENTS}{row.pk}/change/").content.decode()

    assert "*password" in selected(page, "allowed_grant_types-0-grant_type")
    assert "*retired.scope" in selected(page, "allowed_scopes-0-scope")


# ---- unsupported settings ----------------------------------------------------------------------

def test_unsupported_setting_with_a_stored_value_is_shown_with_the_message(
        admin_client: HttpClient) -> None:
    row = save_client(make_client("svc.coordinated"))
    plain = admin_client.get(f"{CLIENTS}{row.pk}/change/").content.decode()
    assert 'name="coordinate_lifetime_with_user_session"' not in plain
    assert "Not supported yet" not in plain
    models.Client.objects.filter(pk=row.pk).update(
        coordinate_lifetime_with_user_session=True, ciba_lifetime=60)

    page = text_of(admin_client.get(f"{CLIENTS}{row.pk}/change/"))

    assert "Not supported yet" in page
    assert 'name="coordinate_lifetime_with_user_session"' in page  # there to be fixed
    assert "token lifetimes are not tied" in page
    assert 'name="ciba_lifetime"' in page
    assert "has no effect yet" in page


def test_a_stored_custom_dpop_validation_mode_is_shown_once_with_the_message(
        admin_client: HttpClient) -> None:
    row = save_client(make_client("svc.dpop"))
    models.Client.objects.filter(pk=row.pk).update(dpop_validation_mode=0)

    page = text_of(admin_client.get(f"{CLIENTS}{row.pk}/change/"))

    assert "Not supported yet" in page
    assert "Custom is not supported" in page
    assert page.count('name="dpop_validation_mode"') == 1


# ---- the one-time secret page ------------------------------------------------------------------

def _generate(admin_client: HttpClient) -> tuple[str, models.Client]:
    row = save_client(make_client("svc.rollover", allowed_scopes=("api1",)))
    change = f"{CLIENTS}{row.pk}/change/"
    fields = form_fields(admin_client.get(change))
    add_generated_secret(fields)
    response = admin_client.post(change, fields)
    assert response.status_code == 303, text_of(response)
    assert response["Location"].startswith(f"{change}secret/") or \
        response["Location"].startswith(f"{CLIENTS}{row.pk}/secret/")
    return response["Location"], row


def test_generated_secret_is_shown_once_after_a_redirect(admin_client: HttpClient) -> None:
    url, _ = _generate(admin_client)

    first = admin_client.get(url)
    assert first.status_code == 200
    assert "no-store" in first["Cache-Control"]
    (secret,) = GENERATED_RE.findall(first.content.decode())
    assert 'data-copy="secret-1"' in first.content.decode()
    assert "clients_app/copy_secret.js" in first.content.decode()

    again = admin_client.get(url)
    assert again.status_code == 410
    assert "no-store" in again["Cache-Control"]
    assert "already shown" in text_of(again)
    assert secret not in again.content.decode()


def test_the_session_row_never_holds_the_plaintext(admin_client: HttpClient) -> None:
    url, _ = _generate(admin_client)
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_data FROM django_session")
        raw = "".join(row[0] for row in cursor.fetchall())
    decoded = repr([s.get_decoded() for s in Session.objects.all()])
    token = url.rstrip("/").rsplit("/", 1)[1]

    (secret,) = GENERATED_RE.findall(admin_client.get(url).content.decode())

    assert secret not in raw and secret not in decoded
    assert token not in decoded  # the token is half of the key: only in the URL


def test_view_only_staff_get_403_on_the_secret_page(admin_client: HttpClient) -> None:
    url, _ = _generate(admin_client)
    viewer = staff("clients_app.view_client", "clients_app.view_clientsecret")

    assert viewer.get(url).status_code == 403
    assert viewer.get(ADD).status_code == 403  # the chooser needs the add permission
    assert viewer.get(f"{ADD}?kind=web").status_code == 403
    # The refusal did not spend the secret.
    assert GENERATED_RE.findall(admin_client.get(url).content.decode())


def test_another_session_cannot_read_the_secret(admin_client: HttpClient,
                                                django_user_model: Any) -> None:
    url, _ = _generate(admin_client)
    other = HttpClient()
    other.force_login(django_user_model.objects.get(username="admin"))
    assert other.get(url).status_code == 410
    assert GENERATED_RE.findall(admin_client.get(url).content.decode())


def test_api_resource_generated_secret_goes_through_the_page(admin_client: HttpClient) -> None:
    add = "/admin/clients_app/apiresource/add/"
    fields = form_fields(admin_client.get(add))
    fields.update({"name": "orders", "api_secrets-TOTAL_FORMS": "1",
                   "api_secrets-0-type": "SharedSecret", "api_secrets-0-generate": "on"})
    response = admin_client.post(add, fields)
    assert response.status_code == 303
    assert "/secret/" in response["Location"]
    assert GENERATED_RE.findall(admin_client.get(response["Location"]).content.decode())


# ---- the list ----------------------------------------------------------------------------------

def test_list_shows_kinds_and_filters_by_kind(admin_client: HttpClient) -> None:
    save_client(make_client("svc.m"))
    save_client(make_interactive_client("web.w"))
    save_client(make_interactive_client("spa.s", require_client_secret=False, client_secrets=(),
                                        allowed_cors_origins=("https://spa.example.com",)))
    save_client(make_interactive_client("nat.n", require_client_secret=False, client_secrets=()))

    rows = changelist_rows(admin_client.get(CLIENTS))

    assert {k: v["kind"] for k, v in rows.items()} == {
        "svc.m": "Machine to machine", "web.w": "Web application",
        "spa.s": "Single-page application", "nat.n": "Native application"}
    assert {"enabled", "last_accessed", "secret_expiry"} <= set(rows["svc.m"])
    assert result_ids(admin_client.get(CLIENTS, {"kind": "spa"})) == ["spa.s"]
    assert result_ids(admin_client.get(CLIENTS, {"kind": "machine"})) == ["svc.m"]
    assert result_ids(admin_client.get(CLIENTS, {"kind": "device"})) == []
    viewer = staff("clients_app.view_client")
    assert result_ids(viewer.get(CLIENTS, {"kind": "web"})) == ["web.w"]


def test_signing_key_list_abbreviates_key_ids(admin_client: HttpClient) -> None:
    kid = get_key_ring().signing_key().kid
    page = admin_client.get("/admin/identity/signingkey/").content.decode()
    if len(kid) > 12:
        assert f'title="{kid}"' in page
        assert f">{kid[:12]}…<" in page
