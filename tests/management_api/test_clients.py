"""The clients and secrets of the management API, through HTTP: who may call, what is stored,
field-level errors, ETags, and the effect at the token endpoint at the next request."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client as HttpClient

from identity import clock
from identity.models import AuditEvent
from tests.helpers.calls import post_form
from tests.management_api.conftest import MANAGE, READ, Api

pytestmark = pytest.mark.django_db

CLIENTS = "/api/clients"
NEW = {"client_id": "billing.worker", "allowed_grant_types": ["client_credentials"],
       "allowed_scopes": ["api1"], "access_token_lifetime": 600}


def _token_status(http: HttpClient, client_id: str, secret: str, **params: str) -> Any:
    return post_form(http, "/connect/token", {"grant_type": "client_credentials", **params},
                     auth=(client_id, secret))


def _create(api: Api, **overrides: Any) -> Any:
    response = api.post(CLIENTS, {**NEW, **overrides})
    assert response.status_code == 201, response.content
    return response


# ---- who may call -----------------------------------------------------------------------------

def test_without_a_token_the_answer_is_401_with_a_bearer_challenge(api_seeded, client) -> None:
    response = client.get(CLIENTS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_token_not_issued_here_is_refused(api_seeded, client) -> None:
    response = Api(client, "e30.e30.c2ln").get(CLIENTS)
    assert response.status_code == 401
    assert "not accepted" in response.json()["detail"]


def test_a_token_without_the_management_scope_is_forbidden(token_for, client) -> None:
    response = Api(client, token_for("api1")).get(CLIENTS)
    assert response.status_code == 403
    assert MANAGE.replace(".", "") in response.json()["detail"].replace(".", "")


def test_the_read_scope_reads_and_changes_nothing(token_for, client) -> None:
    reader = Api(client, token_for(READ))
    assert reader.get(CLIENTS).status_code == 200
    assert reader.get(f"{CLIENTS}/service.client").status_code == 200
    assert reader.post(CLIENTS, NEW).status_code == 403
    assert reader.patch(f"{CLIENTS}/service.client", {"enabled": False}).status_code == 403
    assert reader.delete(f"{CLIENTS}/service.client").status_code == 403
    assert reader.post(f"{CLIENTS}/service.client/secrets", {}).status_code == 403
    assert not AuditEvent.objects.exists()


def test_a_token_stops_working_when_its_client_is_disabled(api) -> None:
    assert api.patch(f"{CLIENTS}/automation", {"enabled": False}).status_code == 200
    assert api.get(CLIENTS).status_code == 401


def test_a_view_only_staff_user_reads_and_changes_nothing(staff) -> None:
    viewer = staff("clients_app.view_client", "clients_app.view_clientsecret")
    assert viewer.get(CLIENTS).status_code == 200
    assert viewer.get(f"{CLIENTS}/service.client/secrets").status_code == 200
    assert viewer.post(CLIENTS, NEW).status_code == 403
    assert viewer.put(f"{CLIENTS}/service.client", {"client_id": "x"}).status_code == 403
    assert viewer.patch(f"{CLIENTS}/service.client", {"enabled": False}).status_code == 403
    assert viewer.delete(f"{CLIENTS}/service.client").status_code == 403
    assert viewer.post(f"{CLIENTS}/service.client/secrets", {}).status_code == 403
    assert viewer.post(f"{CLIENTS}/service.client/secrets/1/expire", {}).status_code == 403


def test_staff_need_the_matching_model_permission(staff) -> None:
    nobody = staff(username="no-perms")
    assert nobody.get(CLIENTS).status_code == 403
    adder = staff("clients_app.add_client", username="adder")
    assert adder.post(CLIENTS, NEW).status_code == 201
    assert adder.delete(f"{CLIENTS}/billing.worker").status_code == 403
    # Secrets need the permission on the client as well as on secrets, as in the admin.
    secrets_only = staff("clients_app.add_clientsecret", username="secrets-only")
    assert secrets_only.post(f"{CLIENTS}/billing.worker/secrets", {}).status_code == 403
    both = staff("clients_app.add_clientsecret", "clients_app.change_client", username="both")
    assert both.post(f"{CLIENTS}/billing.worker/secrets", {}).status_code == 201


def test_a_user_who_is_not_staff_is_not_let_in(api_seeded) -> None:
    user = User.objects.create_superuser("root", password="pw-unused")
    user.is_staff = False
    user.save()
    http = HttpClient()
    http.force_login(user)
    assert http.get(CLIENTS).status_code == 401


def test_a_staff_session_needs_the_csrf_token_to_write(staff, api_seeded) -> None:
    user = User.objects.create_superuser("root", password="pw-unused")
    http = HttpClient(enforce_csrf_checks=True)
    http.force_login(user)
    assert http.get(CLIENTS).status_code == 200
    response = http.post(CLIENTS, json.dumps(NEW), content_type="application/json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


# ---- create, read, change, delete -------------------------------------------------------------

def test_a_created_client_gets_tokens_at_once_with_the_secret_shown_once(api, client) -> None:
    body = _create(api).json()
    assert body["client_id"] == "billing.worker" and body["access_token_lifetime"] == 600
    [generated] = body["generated_secrets"]
    response = _token_status(client, "billing.worker", generated["value"])
    assert response.status_code == 200 and response.json()["expires_in"] == 600
    read = api.get(f"{CLIENTS}/billing.worker")
    assert generated["value"] not in read.content.decode()
    listed = api.get(f"{CLIENTS}/billing.worker/secrets").json()
    assert listed == [{k: generated[k] for k in ("id", "type", "description", "expiration",
                                                  "created")}]
    assert "value" not in listed[0]


def test_secrets_asked_for_at_creation_are_generated_as_described(api, client) -> None:
    body = _create(api, secrets=[{"description": "ci"}, {"description": "rollover",
                                                         "expiration": "2099-01-01T00:00:00Z"}]
                   ).json()
    assert [s["description"] for s in body["generated_secrets"]] == ["ci", "rollover"]
    assert body["generated_secrets"][1]["expiration"].startswith("2099-01-01")
    for secret in body["generated_secrets"]:
        assert _token_status(client, "billing.worker", secret["value"]).status_code == 200


def test_a_public_client_gets_no_secret(api) -> None:
    body = _create(api, client_id="spa", allowed_grant_types=["authorization_code"],
                   require_client_secret=False, redirect_uris=["https://spa.example.com/cb"],
                   allowed_scopes=["openid"]).json()
    assert body["generated_secrets"] == []


def test_every_property_is_read_with_collections_nested(api) -> None:
    body = api.get(f"{CLIENTS}/interactive").json()
    assert body["allowed_grant_types"] == ["authorization_code"]
    assert body["redirect_uris"] == ["http://localhost:21402/signin-oidc"]
    assert body["refresh_token_usage"] == "OneTimeOnly"
    assert body["access_token_type"] == "Jwt"
    assert body["claims"] == [] and body["properties"] == {}
    assert "client_secrets" not in body and "secrets" not in body
    assert {"created", "updated", "last_accessed"} <= set(body)


def test_a_change_holds_at_the_token_endpoint_at_the_next_request(api, client) -> None:
    assert _token_status(client, "service.client", "secret").json()["expires_in"] == 3600
    response = api.patch(f"{CLIENTS}/service.client", {"access_token_lifetime": 120})
    assert response.status_code == 200 and response.json()["access_token_lifetime"] == 120
    assert _token_status(client, "service.client", "secret").json()["expires_in"] == 120
    assert api.patch(f"{CLIENTS}/service.client", {"enabled": False}).status_code == 200
    assert _token_status(client, "service.client", "secret").status_code == 401


def test_put_replaces_the_whole_client_and_keeps_its_secrets(api, client) -> None:
    body = {"client_id": "service.client", "allowed_grant_types": ["client_credentials"],
            "allowed_scopes": ["api2.read_only"], "claims": [{"type": "tier", "value": "gold"}],
            "properties": {"team": "billing"}}
    response = api.put(f"{CLIENTS}/service.client", body)
    assert response.status_code == 200, response.content
    stored = response.json()
    assert stored["allowed_scopes"] == ["api2.read_only"]
    assert stored["access_token_lifetime"] == 3600  # not sent: the default
    assert stored["claims"] == [{"type": "tier", "value": "gold", "value_type": "string"}]
    assert stored["properties"] == {"team": "billing"}
    token = _token_status(client, "service.client", "secret", scope="api2.read_only")
    assert token.status_code == 200
    assert _token_status(client, "service.client", "secret", scope="api1").status_code == 400


def test_what_a_get_returned_can_be_changed_and_put_back(api) -> None:
    current = api.get(f"{CLIENTS}/interactive").json()
    current["access_token_lifetime"] = 1200
    replaced = api.put(f"{CLIENTS}/interactive", current)
    assert replaced.status_code == 200, replaced.content
    assert replaced.json()["access_token_lifetime"] == 1200
    assert replaced.json()["redirect_uris"] == current["redirect_uris"]


def test_a_client_renamed_by_put_is_found_only_under_its_new_id(api, client) -> None:
    current = api.get(f"{CLIENTS}/service.client").json()
    current["client_id"] = "service.renamed"
    for read_only in ("created", "updated", "last_accessed"):
        del current[read_only]
    assert api.put(f"{CLIENTS}/service.client", current).status_code == 200
    assert _token_status(client, "service.client", "secret").status_code == 401
    assert _token_status(client, "service.renamed", "secret").status_code == 200


def test_delete_removes_the_client_and_its_access(api, client) -> None:
    assert _token_status(client, "service.client", "secret").status_code == 200
    assert api.delete(f"{CLIENTS}/service.client").status_code == 204
    assert api.get(f"{CLIENTS}/service.client").status_code == 404
    assert _token_status(client, "service.client", "secret").status_code == 401


# ---- errors -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("change", "field", "words"), [
    ({"allowed_grant_types": ["password"]}, "allowed_grant_types", "password"),
    ({"allowed_grant_types": ["implicit", "authorization_code"]}, "allowed_grant_types",
     "cannot be combined"),
    ({"allowed_scopes": ["no.such.scope"]}, "allowed_scopes", "not defined"),
    ({"access_token_lifetime": 10**8}, "access_token_lifetime", "at most"),
    ({"access_token_lifetime": "an hour"}, "access_token_lifetime", "integer"),
    ({"access_token_lifetime": 2**40}, "access_token_lifetime", "less than or equal"),
    ({"enabled": "maybe"}, "enabled", "boolean"),
    ({"refresh_token_usage": "Forever"}, "refresh_token_usage", "OneTimeOnly"),
    ({"client_name": "x" * 201}, "client_name", "200"),
    ({"redirect_uris": ["http://app.example.com/cb"], "allowed_grant_types":
      ["authorization_code"]}, "redirect_uris", "https"),
    ({"redirect_uris": ["https://app.example.com/cb#frag"], "allowed_grant_types":
      ["authorization_code"]}, "redirect_uris", "fragment"),
    ({"allowed_grant_types": ["authorization_code"]}, "redirect_uris", "redirect URI"),
    ({"redirect_uris": "https://app.example.com/cb"}, "redirect_uris", "list"),
    ({"allowed_cors_origins": ["https://app.example.com/"]}, "allowed_cors_origins", "origin"),
    ({"claims": [{"value": "gold"}]}, "claims", "required"),
    ({"properties": ["a"]}, "properties", "dictionary"),
    ({"client_id": " padded "}, "client_id", "spaces"),
    ({"back_channel_logout_uri": "http://app.example.com/bcl"}, "back_channel_logout_uri",
     "use https"),
    ({"dpop_validation_mode": 0}, "dpop_validation_mode", "Custom is not supported"),
    ({"acess_token_lifetime": 60}, "acess_token_lifetime", "spelling"),
    ({"claims": [{"type": "tier", "value": "gold", "valuetype": "int"}]}, "claims", "spelling"),
    ({"secrets": [{"descripton": "ci"}]}, "secrets", "spelling"),
])
def test_bad_fields_are_named_with_what_to_fix(api, change, field, words) -> None:
    response = api.post(CLIENTS, {**NEW, **change})
    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors, errors
    assert words in json.dumps(errors[field]), errors
    assert not AuditEvent.objects.exists()


def test_a_duplicate_client_id_is_a_field_error(api) -> None:
    response = api.post(CLIENTS, {**NEW, "client_id": "service.client"})
    assert response.status_code == 400 and "exists" in response.json()["client_id"][0]


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_a_400(api, client, body) -> None:
    response = client.post(CLIENTS, body, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {api.token}")
    assert response.status_code == 400


def test_a_form_body_is_refused_with_415(api, client) -> None:
    response = client.post(CLIENTS, "client_id=x", content_type="application/x-www-form-urlencoded",
                           HTTP_AUTHORIZATION=f"Bearer {api.token}")
    assert response.status_code == 415


def test_an_unknown_client_is_a_404(api) -> None:
    assert api.get(f"{CLIENTS}/nobody").status_code == 404
    assert api.patch(f"{CLIENTS}/nobody", {"enabled": False}).status_code == 404
    assert api.get(f"{CLIENTS}/service.client/secrets/abc").status_code == 404


# ---- ETag and If-Match ------------------------------------------------------------------------

def test_a_write_from_a_stale_read_is_refused_with_412(api) -> None:
    read = api.get(f"{CLIENTS}/service.client")
    tag = read["ETag"]
    assert tag.startswith('"') and api.get(f"{CLIENTS}/service.client")["ETag"] == tag
    first = api.patch(f"{CLIENTS}/service.client", {"access_token_lifetime": 100},
                      **{"If-Match": tag})
    assert first.status_code == 200 and first["ETag"] != tag
    second = api.patch(f"{CLIENTS}/service.client", {"access_token_lifetime": 200},
                       **{"If-Match": tag})
    assert second.status_code == 412
    assert api.get(f"{CLIENTS}/service.client").json()["access_token_lifetime"] == 100
    assert api.delete(f"{CLIENTS}/service.client", **{"If-Match": tag}).status_code == 412
    assert api.patch(f"{CLIENTS}/service.client", {"access_token_lifetime": 200},
                     **{"If-Match": first["ETag"]}).status_code == 200
    assert api.patch(f"{CLIENTS}/service.client", {"access_token_lifetime": 300},
                     **{"If-Match": "*"}).status_code == 200
    assert api.patch(f"{CLIENTS}/service.client", {"access_token_lifetime": 300},
                     **{"If-Match": f"W/{first['ETag']}"}).status_code == 412


def test_a_change_made_elsewhere_changes_the_etag(api) -> None:
    from clients_app.models import Client, ClientScope

    tag = api.get(f"{CLIENTS}/service.client")["ETag"]
    ClientScope.objects.create(client=Client.objects.get(client_id="service.client"),
                               scope="api2.read_only")
    assert api.get(f"{CLIENTS}/service.client")["ETag"] != tag
    assert api.patch(f"{CLIENTS}/service.client", {"enabled": False},
                     **{"If-Match": tag}).status_code == 412


# ---- lists ------------------------------------------------------------------------------------

def test_lists_page_filter_search_and_order(api) -> None:
    for n in range(7):
        _create(api, client_id=f"batch.{n}", enabled=n % 2 == 0)
    page = api.get(f"{CLIENTS}?page_size=4").json()
    assert page["count"] == 10 and len(page["results"]) == 4 and page["next"]
    second = api.get(page["next"].replace("http://testserver", "")).json()
    assert [c["client_id"] for c in second["results"]][0] == "batch.3"
    disabled = api.get(f"{CLIENTS}?enabled=false").json()
    assert [c["client_id"] for c in disabled["results"]] == ["batch.1", "batch.3", "batch.5"]
    code = api.get(f"{CLIENTS}?grant_type=authorization_code").json()
    assert [c["client_id"] for c in code["results"]] == ["interactive"]
    found = api.get(f"{CLIENTS}?search=batch&ordering=-client_id&page_size=2").json()
    assert found["count"] == 7
    assert [c["client_id"] for c in found["results"]] == ["batch.6", "batch.5"]
    assert api.get(f"{CLIENTS}?enabled=perhaps").status_code == 400
    assert api.get(f"{CLIENTS}?page=99").status_code == 404


# ---- secrets ----------------------------------------------------------------------------------

def test_a_new_secret_works_at_once_and_an_expired_one_stops(api, client) -> None:
    created = api.post(f"{CLIENTS}/service.client/secrets", {"description": "rotation"})
    assert created.status_code == 201
    new = created.json()
    assert new["description"] == "rotation" and len(new["value"]) >= 43
    assert _token_status(client, "service.client", new["value"]).status_code == 200
    old_id = api.get(f"{CLIENTS}/service.client/secrets").json()[0]["id"]
    expired = api.post(f"{CLIENTS}/service.client/secrets/{old_id}/expire")
    assert expired.status_code == 200 and expired.json()["expiration"]
    assert _token_status(client, "service.client", "secret").status_code == 401
    assert _token_status(client, "service.client", new["value"]).status_code == 200


def test_the_last_secret_of_a_confidential_client_cannot_be_deleted(api) -> None:
    [only] = api.get(f"{CLIENTS}/service.client/secrets").json()
    refused = api.delete(f"{CLIENTS}/service.client/secrets/{only['id']}")
    assert refused.status_code == 400 and "replacement" in json.dumps(refused.json())
    api.post(f"{CLIENTS}/service.client/secrets", {})
    assert api.delete(f"{CLIENTS}/service.client/secrets/{only['id']}").status_code == 204
    assert len(api.get(f"{CLIENTS}/service.client/secrets").json()) == 1


# ---- audit and headers ------------------------------------------------------------------------

def test_every_write_is_audited_without_secrets(api) -> None:
    body = _create(api).json()
    api.patch(f"{CLIENTS}/billing.worker", {"access_token_lifetime": 900})
    api.post(f"{CLIENTS}/billing.worker/secrets", {"description": "second"})
    api.delete(f"{CLIENTS}/billing.worker")
    events = list(AuditEvent.objects.order_by("pk"))
    assert [(e.action, e.target_type) for e in events] == [
        ("create", "client"), ("change", "client"), ("create", "client secret"),
        ("delete", "client")]
    assert {e.actor for e in events} == {"client:automation"} and {e.via for e in events} == {
        "api"}
    assert events[1].changes["access_token_lifetime"] == [600, 900]
    trail = json.dumps([e.changes for e in events])
    assert body["generated_secrets"][0]["value"] not in trail


def test_answers_are_not_cached_on_the_way(api) -> None:
    assert api.get(CLIENTS)["Cache-Control"] == "no-store"
    assert _create(api)["Cache-Control"] == "no-store"


def test_the_schema_describes_the_api_to_its_callers(api, client) -> None:
    schema = api.get("/api/schema?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/clients/{client_id}/secrets/{id}/expire/" in paths
    assert "/api/api-scopes/{name}/" in paths
    assert client.get("/api/schema").status_code == 401


def _one_window(monkeypatch) -> None:
    # The limits count in fixed windows: requests on both sides of a minute's turn would be
    # counted apart.
    frozen = clock.now()
    monkeypatch.setattr(clock, "now", lambda: frozen)


def test_the_rate_limit_is_per_caller(api, token_for, client, identity_config,
                                      monkeypatch) -> None:
    identity_config(MANAGEMENT_THROTTLE_RATE="3/minute")
    _one_window(monkeypatch)
    assert [api.get(CLIENTS).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert int(api.get(CLIENTS)["Retry-After"]) <= 60
    other = Api(client, token_for("api1 " + READ))  # the same client, another scope: one caller
    assert other.get(CLIENTS).status_code == 429


def test_the_rate_limit_counts_in_the_database_when_the_cache_is_per_process(
        api, identity_config, monkeypatch) -> None:
    from django.core.cache import caches

    identity_config(MANAGEMENT_THROTTLE_RATE="2/minute")
    _one_window(monkeypatch)
    assert api.get(CLIENTS).status_code == 200
    caches["default"].clear()  # another worker's cache: empty
    assert api.get(CLIENTS).status_code == 200
    caches["default"].clear()
    assert api.get(CLIENTS).status_code == 429


def test_staff_browse_the_api_in_the_browser(staff) -> None:
    viewer = staff("clients_app.view_client")
    page = viewer.http.get(CLIENTS, HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and b"service.client" in page.content
    assert page["Content-Type"].startswith("text/html")


def test_the_audit_trail_is_readable_and_unchangeable_in_the_admin(api, staff) -> None:
    _create(api)
    viewer = staff("identity.view_auditevent")
    listing = viewer.http.get("/admin/identity/auditevent/")
    assert listing.status_code == 200
    assert b"client:automation" in listing.content and b"billing.worker" in listing.content
    event = AuditEvent.objects.get()
    assert viewer.http.get(f"/admin/identity/auditevent/{event.pk}/delete/").status_code == 403
    assert viewer.http.post(f"/admin/identity/auditevent/{event.pk}/change/",
                            {"actor": "someone else"}).status_code == 403
    assert AuditEvent.objects.get().actor == "client:automation"


def test_the_schema_is_valid_openapi_without_a_warning(tmp_path) -> None:
    from django.core.management import call_command

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "accessToken" in text and "staffSession" in text
    assert "OneTimeOnly" in text  # enumerations are listed, not plain strings


@pytest.mark.parametrize("path", ["/api/", CLIENTS, "/api/signing-keys", "/api/schema"])
def test_http_basic_user_passwords_are_never_checked(api_seeded, client, path) -> None:
    from tests.helpers.basic_auth import basic

    User.objects.create_superuser("root", password="root-password-1")
    response = client.get(path, HTTP_AUTHORIZATION=basic("root", "root-password-1"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_the_root_lists_the_resources_to_callers(api) -> None:
    listing = api.get("/api/").json()
    assert {"clients", "api-scopes", "signing-keys", "grants"} <= set(listing)
