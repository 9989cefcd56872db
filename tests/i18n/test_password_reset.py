"""Password reset by email through Django's views: offered only with an email backend, no
account oracle, our headers on every page, and a link that really changes the password."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import environ
import pytest
from django.core import mail

from identity.endpoints.password_reset import password_reset_enabled
from tests.helpers.flow import is_signed_in, login_with_form

pytestmark = pytest.mark.django_db

RESET = "/account/password/reset"
NEW_PASSWORD = "a-new-Pass-4812"


@pytest.fixture
def email_backend(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def no_email(settings):
    # What the project's default EMAIL_URL (dummymail://) configures; pytest-django itself
    # switches every test to locmem.
    settings.EMAIL_BACKEND = environ.Env.EMAIL_SCHEMES["dummymail"]


def assert_headers(response) -> None:
    assert response["X-Frame-Options"] == "DENY"
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "no-referrer"


def reset_link(message) -> str:
    found = re.search(r"https?://[^/\s]+(/account/password/reset/[^/\s]+/[^/\s]+)", message.body)
    assert found, message.body
    return found.group(1)


@pytest.mark.parametrize("path", [RESET, RESET + "/sent", RESET + "/done", RESET + "/MQ/x-y"])
def test_pages_are_404_without_an_email_backend(client, no_email, path: str) -> None:
    assert not password_reset_enabled()
    assert client.get(path).status_code == 404
    assert client.post(path, {"email": "alice@example.com"}).status_code == 404


def test_the_project_default_is_the_dummy_backend(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("EMAIL_URL", "DJANGO_SETTINGS_MODULE")}
    code = "import settings.settings as s; print(s.EMAIL_BACKEND, s.DEFAULT_FROM_EMAIL)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                         env={**env, "SECRET_KEY": "x", "ENV_FILE": str(tmp_path / "none")})
    assert out.stdout.split() == [environ.Env.EMAIL_SCHEMES["dummymail"], "identity@localhost"]


def test_the_sign_in_page_knows_whether_reset_is_offered(client, no_email, settings) -> None:
    assert client.get("/account/login").context["password_reset_enabled"] is False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert client.get("/account/login").context["password_reset_enabled"] is True


def test_reset_by_email_sets_a_new_password(client, seeded, alice, email_backend) -> None:
    seeded()
    form = client.get(RESET)
    assert form.status_code == 200
    assert_headers(form)
    assert b'<label for="id_email"' in form.content
    sent = client.post(RESET, {"email": "Alice@Example.com"})
    assert sent.status_code == 302 and sent["Location"] == RESET + "/sent"
    assert_headers(sent)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    assert message.from_email == "identity@localhost"
    assert "\n" not in message.subject

    opened = client.get(reset_link(message))
    assert opened.status_code == 302  # Django moves the token out of the URL
    assert_headers(opened)
    page = client.get(opened["Location"])
    assert page.status_code == 200 and page.context["validlink"]
    assert_headers(page)
    done = client.post(opened["Location"],
                       {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == RESET + "/done"
    assert_headers(client.get(done["Location"]))

    assert client.get(reset_link(message)).context["validlink"] is False  # used once only
    assert not is_signed_in(client)
    assert login_with_form(client, "/account/grants", password=NEW_PASSWORD).status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(NEW_PASSWORD)


def test_unknown_email_gets_the_same_answer_and_no_mail(client, alice, email_backend) -> None:
    unknown = client.post(RESET, {"email": "nobody@example.com"})
    known = client.post(RESET, {"email": "alice@example.com"})
    assert unknown.status_code == known.status_code == 302
    assert unknown["Location"] == known["Location"]
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["alice@example.com"]
    assert_headers(client.get(RESET + "/sent"))


def test_mismatched_passwords_are_refused(client, alice, email_backend) -> None:
    client.post(RESET, {"email": "alice@example.com"})
    opened = client.get(reset_link(mail.outbox[0]))
    refused = client.post(opened["Location"],
                          {"new_password1": NEW_PASSWORD, "new_password2": "other-Pass-999"})
    assert refused.status_code == 200
    assert_headers(refused)
    alice.refresh_from_db()
    assert not alice.check_password(NEW_PASSWORD)


def test_a_forged_link_is_refused(client, alice, email_backend) -> None:
    page = client.get(RESET + "/MQ/bad-token")
    assert page.status_code == 200 and page.context["validlink"] is False
    assert_headers(page)


def test_pages_and_mail_in_french(client, alice, email_backend) -> None:
    form = client.get(RESET, HTTP_ACCEPT_LANGUAGE="fr")
    assert form["Content-Language"] == "fr"
    assert "Réinitialiser votre mot de passe" in form.content.decode()
    client.post(RESET, {"email": "alice@example.com"}, HTTP_ACCEPT_LANGUAGE="fr")
    assert "mot de passe" in mail.outbox[0].body


def test_requests_from_one_address_are_limited(client, alice, email_backend,
                                               identity_config) -> None:
    identity_config(AUTH_FAILURE_LIMIT=2)
    for _ in range(2):
        assert client.post(RESET, {"email": "alice@example.com"}).status_code == 302
    refused = client.post(RESET, {"email": "alice@example.com"})
    assert refused.status_code == 429 and refused["Retry-After"]
    assert_headers(refused)
    assert len(mail.outbox) == 2
