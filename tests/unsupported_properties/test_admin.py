"""The admin refuses unsupported values on the field or inline they concern; nothing is saved."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as HttpClient

from clients_app import models
from tests.clients_app.test_admin import CLIENT_ADD, client_add_data, form_fields, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def api1() -> models.ApiScope:
    return models.ApiScope.objects.create(name="api1")


@pytest.mark.parametrize(("fields", "message"), [
    pytest.param({"grant_types": ["password"]}, "password is not supported yet by this server",
                 id="password-grant"),
    pytest.param({"access_token_lifetime": "2000000000"},
                 "is 2000000000 s; at most 604800 s (7 days) is allowed.", id="huge-lifetime"),
])
def test_unsupported_value_is_refused_with_a_clear_message(
        admin_client: HttpClient, api1: Any, fields: dict[str, Any], message: str) -> None:
    data = client_add_data(admin_client, "svc.unsupported", **fields)

    response = admin_client.post(CLIENT_ADD, data)

    assert response.status_code == 200
    assert message in text_of(response)
    assert not models.Client.objects.exists()


UNSUPPORTED_FIELDS = {"coordinate_lifetime_with_user_session": "true"}


def test_unsupported_settings_are_not_offered_and_posting_them_changes_nothing(
        admin_client: HttpClient, api1: Any) -> None:
    # The form leaves out settings whose feature does not exist (enable_local_login included):
    # a crafted POST of them is ignored like any unknown field, and the defaults are honoured.
    page = admin_client.get(f"{CLIENT_ADD}?kind=custom").content.decode()
    data = client_add_data(admin_client, "svc.unsupported", **UNSUPPORTED_FIELDS)
    for name in (*UNSUPPORTED_FIELDS, "enable_local_login"):
        assert f'name="{name}"' not in page, name

    response = admin_client.post(CLIENT_ADD, data)

    assert response.status_code == 302, text_of(response)
    row = models.Client.objects.get(client_id="svc.unsupported")
    assert (row.coordinate_lifetime_with_user_session, row.enable_local_login) == (None, True)


def test_fapi_settings_are_offered_and_saved(admin_client: HttpClient, api1: Any) -> None:
    page = admin_client.get(f"{CLIENT_ADD}?kind=custom").content.decode()
    for name in ("require_dpop", "require_pushed_authorization", "require_request_object",
                 "dpop_validation_mode", "dpop_clock_skew", "pushed_authorization_lifetime"):
        assert f'name="{name}"' in page, name
    data = client_add_data(admin_client, "svc.fapi", require_dpop="on",
                           require_pushed_authorization="on", dpop_validation_mode="3")

    response = admin_client.post(CLIENT_ADD, data)

    assert response.status_code == 302, text_of(response)
    row = models.Client.objects.get(client_id="svc.fapi")
    assert (row.require_dpop, row.require_pushed_authorization, row.dpop_validation_mode) == \
        (True, True, 3)


def test_custom_dpop_validation_mode_is_refused_on_the_field(
        admin_client: HttpClient, api1: Any) -> None:
    data = client_add_data(admin_client, "svc.custom", dpop_validation_mode="0")

    response = admin_client.post(CLIENT_ADD, data)

    assert response.status_code == 200
    assert "Custom is not supported" in text_of(response)
    assert not models.Client.objects.exists()


def test_stored_unsupported_value_is_shown_and_refused_until_fixed(
        admin_client: HttpClient, api1: Any) -> None:
    admin_client.post(CLIENT_ADD, client_add_data(admin_client, "svc.bcl"))
    row = models.Client.objects.get(client_id="svc.bcl")
    models.Client.objects.filter(pk=row.pk).update(enable_local_login=False)
    change = f"{CLIENT_ADD.removesuffix('add/')}{row.pk}/change/"
    fields = form_fields(admin_client.get(change))

    refused = admin_client.post(change, fields)

    assert refused.status_code == 200
    assert "false is not supported yet: there are no external identity providers" in \
        text_of(refused)
    fields["enable_local_login"] = "on"
    assert admin_client.post(change, fields).status_code == 302
    row.refresh_from_db()
    assert row.enable_local_login is True
