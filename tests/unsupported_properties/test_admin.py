"""The admin refuses unsupported values on the field or inline they concern; nothing is saved."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as HttpClient

from clients_app import models
from tests.clients_app.test_admin import CLIENT_ADD, client_add_data, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def api1() -> models.ApiScope:
    return models.ApiScope.objects.create(name="api1")


@pytest.mark.parametrize(("fields", "message"), [
    pytest.param({"require_dpop": "on"}, "true is not supported yet: this server has no DPoP",
                 id="require-dpop"),
    pytest.param({"require_pushed_authorization": "on"}, "true is not supported yet: there is no "
                 "pushed authorization endpoint", id="require-par"),
    pytest.param({"back_channel_logout_uri": "https://app.example.com/bc"},
                 "back-channel logout is not implemented", id="back-channel-logout"),
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


def test_local_login_cannot_be_switched_off(admin_client: HttpClient, api1: Any) -> None:
    data = client_add_data(admin_client, "svc.unsupported")
    data.pop("enable_local_login")  # an unticked box is not submitted

    response = admin_client.post(CLIENT_ADD, data)

    assert "false is not supported yet: there are no external identity providers" in \
        text_of(response)
    assert not models.Client.objects.exists()
