"""The benchmark's signing ceilings skip the Accept-Language negotiation, as the protocol
endpoints do (bench.middleware): a ceiling that negotiated would do work the token endpoint does
not, and every ratio to it would look better than it is."""

from __future__ import annotations

import pytest
from django.test import override_settings

from bench import settings as bench_settings

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("bench_urls"),
]


@pytest.fixture
def bench_urls():
    with override_settings(ROOT_URLCONF="bench.urls", MIDDLEWARE=bench_settings.MIDDLEWARE):
        yield


@pytest.mark.parametrize("path", ["/bench/ceiling/django", "/bench/ceiling/es256"])
def test_a_ceiling_answers_without_negotiating_a_language(client, path) -> None:
    response = client.post(path, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    assert not response.has_header("Content-Language")
    assert "Accept-Language" not in response.get("Vary", "")


def test_the_token_endpoint_answers_the_same_way_under_the_bench_settings(token_post,
                                                                           seeded) -> None:
    seeded()
    response = token_post({"grant_type": "client_credentials"},
                          auth=("service.client", "secret"), accept_language="fr")
    assert response.status_code == 200, response.content
    assert not response.has_header("Content-Language")


def test_pages_still_negotiate_under_the_bench_settings(client) -> None:
    page = client.get("/account/login", HTTP_ACCEPT_LANGUAGE="fr")
    assert page["Content-Language"] == "fr"
    assert "Accept-Language" in page["Vary"]
