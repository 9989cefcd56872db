"""The benchmark's signing ceilings do no work the token endpoint does not: they skip the
Accept-Language negotiation, as the protocol endpoints do (bench.middleware), and find the issuer
as the token endpoint finds it. A ceiling doing more would make every ratio to it look better
than it is."""

from __future__ import annotations

import jwt
import pytest

from bench import settings as bench_settings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def bench_urls(settings) -> None:
    settings.ROOT_URLCONF = "bench.urls"
    settings.MIDDLEWARE = bench_settings.MIDDLEWARE


@pytest.mark.parametrize("path", ["/bench/ceiling/django", "/bench/ceiling/es256",
                                  "/bench/ceiling/rs256-mget"])
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


def test_a_ceiling_signs_the_issuer_the_token_endpoint_signs(client, token_post, seeded,
                                                             identity_config) -> None:
    # A configured issuer, not the request's host: worked out from the request, a ceiling's
    # issuer would cost the ceiling work (and a claim size) the token endpoint does not have.
    identity_config(ISSUER="https://id.example.com")
    seeded()
    ours = token_post({"grant_type": "client_credentials"}, auth=("service.client", "secret"))
    ceiling = client.post("/bench/ceiling/es256")
    assert ours.status_code == ceiling.status_code == 200
    issuers = {jwt.decode(r.json()["access_token"], options={"verify_signature": False})["iss"]
               for r in (ours, ceiling)}
    assert issuers == {"https://id.example.com"}
