"""Scopes and resources of the management API, through HTTP: what a client may be allowed
follows at once, names in use are protected, and an API's generated secret calls introspection."""

from __future__ import annotations

import json

import pytest

from identity.models import AuditEvent
from tests.helpers.calls import introspect, post_form
from tests.management_api.conftest import READ, Api

pytestmark = pytest.mark.django_db


def _cc(http, scope: str) -> int:
    return int(post_form(http, "/connect/token", {"grant_type": "client_credentials",
                                                   "scope": scope},
                         auth=("service.client", "secret")).status_code)


def test_a_new_api_scope_can_be_allowed_and_requested_at_once(api, client) -> None:
    created = api.post("/api/api-scopes", {"name": "invoices.read", "display_name": "Invoices",
                                           "user_claims": ["email"],
                                           "properties": {"team": "billing"}})
    assert created.status_code == 201, created.content
    assert created.json()["properties"] == {"team": "billing"}
    assert api.patch("/api/clients/service.client",
                     {"allowed_scopes": ["api1", "invoices.read"]}).status_code == 200
    assert _cc(client, "invoices.read") == 200
    assert api.patch("/api/api-scopes/invoices.read", {"enabled": False}).status_code == 200
    assert _cc(client, "invoices.read") == 400


def test_a_scope_in_use_is_neither_deleted_nor_renamed(api) -> None:
    refused = api.delete("/api/api-scopes/api1")
    assert refused.status_code == 400 and "service.client" in json.dumps(refused.json())
    renamed = api.patch("/api/api-scopes/api1", {"name": "api.one"})
    assert renamed.status_code == 400
    api.post("/api/api-scopes", {"name": "unused"})
    assert api.delete("/api/api-scopes/unused").status_code == 204
    assert api.get("/api/api-scopes/unused").status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "two words"}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": "api1"}, "name"),  # exists
    ({"name": "ok", "user_claims": "email"}, "user_claims"),
    ({"name": "ok", "required": "sometimes"}, "required"),
    ({"name": "ok", "dispay_name": "Typo"}, "dispay_name"),
])
def test_bad_scope_fields_are_named(api, body, field) -> None:
    response = api.post("/api/api-scopes", body)
    assert response.status_code == 400 and field in response.json(), response.content


def test_identity_resources_are_managed_like_scopes(api) -> None:
    listed = api.get("/api/identity-resources").json()
    assert "openid" in [r["name"] for r in listed["results"]]
    created = api.post("/api/identity-resources", {"name": "employee",
                                                   "user_claims": ["employee_id"]})
    assert created.status_code == 201, created.content
    assert api.delete("/api/identity-resources/openid").status_code == 400  # interactive uses it


def test_an_api_resource_with_a_generated_secret_introspects(api, client) -> None:
    created = api.post("/api/api-resources", {"name": "billing", "scopes": ["api1"]})
    assert created.status_code == 201, created.content
    secret = api.post("/api/api-resources/billing/secrets", {"description": "gateway"})
    assert secret.status_code == 201
    token = post_form(client, "/connect/token", {"grant_type": "client_credentials"},
                      auth=("service.client", "secret")).json()["access_token"]
    answer = introspect(client, token, auth=("billing", secret.json()["value"]))
    assert answer.status_code == 200 and answer.json()["active"] is True
    listed = api.get("/api/api-resources/billing/secrets").json()
    assert [s["description"] for s in listed] == ["gateway"] and "value" not in listed[0]
    assert api.delete(f"/api/api-resources/billing/secrets/{listed[0]['id']}").status_code == 204
    assert introspect(client, token, auth=("billing", secret.json()["value"])).status_code == 401


def test_put_replaces_an_api_resource_and_keeps_its_secrets(api) -> None:
    api.post("/api/api-resources", {"name": "billing", "scopes": ["api1"],
                                    "display_name": "Billing"})
    api.post("/api/api-resources/billing/secrets", {})
    tag = api.get("/api/api-resources/billing")["ETag"]
    replaced = api.put("/api/api-resources/billing", {"name": "billing",
                                                      "scopes": ["api2.read_only"]},
                       **{"If-Match": tag})
    assert replaced.status_code == 200
    assert replaced.json()["display_name"] is None
    assert replaced.json()["scopes"] == ["api2.read_only"]
    assert len(api.get("/api/api-resources/billing/secrets").json()) == 1
    assert api.put("/api/api-resources/billing", {"name": "billing"},
                   **{"If-Match": tag}).status_code == 412


def test_view_only_staff_and_read_tokens_change_no_resource(staff, token_for, client) -> None:
    viewer = staff("clients_app.view_apiscope")
    assert viewer.get("/api/api-scopes").status_code == 200
    assert viewer.post("/api/api-scopes", {"name": "x"}).status_code == 403
    assert viewer.get("/api/api-resources").status_code == 403  # no view_apiresource
    reader = Api(client, token_for(READ))
    assert reader.get("/api/api-resources").status_code == 200
    assert reader.delete("/api/api-scopes/api1").status_code == 403
    assert not AuditEvent.objects.exists()


def test_resource_writes_are_audited(api) -> None:
    api.post("/api/api-scopes", {"name": "audited"})
    api.patch("/api/api-scopes/audited", {"display_name": "Audited"})
    api.delete("/api/api-scopes/audited")
    events = [(e.action, e.target_type, e.target) for e in AuditEvent.objects.order_by("pk")]
    assert events == [("create", "API scope", "audited"), ("change", "API scope", "audited"),
                      ("delete", "API scope", "audited")]
