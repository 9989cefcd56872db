"""With Redis as the cache, failures counted by one server process lock the caller out of all."""

from __future__ import annotations

import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from urllib.parse import urlencode

import pytest

from tests.factories import REFERENCE_DOCUMENT
from tests.helpers.forms import csrf_token
from tests.helpers.servers import free_port, gunicorn, manage, shared_cache_project, token_status

pytestmark = pytest.mark.own_database


def _login(base: str, password: str) -> int:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/account/login").read().decode()
    token = csrf_token(page)
    form = urlencode({"csrfmiddlewaretoken": token, "username": "bob", "password": password,
                      "next": "/account/grants"}).encode()
    try:
        return opener.open(urllib.request.Request(f"{base}/account/login", data=form)).status
    except urllib.error.HTTPError as err:
        return err.code


def test_failures_in_one_process_count_in_every_other(tmp_path) -> None:
    env = shared_cache_project(tmp_path, REFERENCE_DOCUMENT)
    manage(env, "shell", "-c", "from django.contrib.auth.models import User; "
                               "User.objects.create_user('bob', password='bob-password-1')")
    with gunicorn(env, free_port(), workers=1) as a, gunicorn(env, free_port(), workers=1) as b:
        # AUTH_FAILURE_LIMIT is 10: five failures on each server make ten in all.
        for base in (a, b) * 5:
            assert token_status(base, secret="guess") == 401
            assert _login(base, "guess") == 200  # the form again, with its error
        assert token_status(a) == 429 and token_status(b) == 429
        assert _login(a, "bob-password-1") == 429 and _login(b, "bob-password-1") == 429
