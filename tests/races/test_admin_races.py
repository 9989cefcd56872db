"""Admins saving the same client at once through the change form, and imports meanwhile.

Each admin opens the change page, then all post their own change together (PostgreSQL only).
No update may be lost: the first save wins and every save made from a page opened before it is
refused with a form error, until the admin reloads. The tests without threads run on SQLite too.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.test import Client as HttpClient

from clients_app import models
from clients_app.mapping import client_to_domain
from identity.config_document import load_document
from identity.constants import CLAIM_VALUE_TYPE_STRING
from identity.domain.client import ClientClaim
from tests.clients_app.test_admin import form_fields, text_of
from tests.races.documents import holds, run_import, write
from tests.races.harness import race, repeat

ADMINS = 3
CHANGED = "was changed by someone else since you opened it; reload the page"
RACE = (pytest.mark.django_db(transaction=True, serialized_rollback=True),
        pytest.mark.usefixtures("postgresql_only"))
_round = itertools.count()


def _race(test: Any) -> Any:
    for mark in RACE:
        test = mark(test)
    return test


def _client_page(folder: Path) -> tuple[Path, str]:
    """Import a fresh pair of clients; return the document and the change URL of one."""
    path = write(folder, f"r{next(_round)}", "blue")
    assert "created" in run_import(path)
    row = models.Client.objects.get(client_id=load_document(path).clients[0].client_id)
    return path, f"/admin/clients_app/client/{row.pk}/change/"


def _add_row(fields: dict[str, str], prefix: str, **values: str) -> None:
    total = int(fields[f"{prefix}-TOTAL_FORMS"])
    fields[f"{prefix}-TOTAL_FORMS"] = str(total + 1)
    fields.update({f"{prefix}-{total}-{name}": value for name, value in values.items()})


def _edit(page: dict[str, str], name: str) -> dict[str, str]:
    """Return the POST, from the fields of an opened change page, of a change to the name and
    to several inlines: a redirect URI, CORS origin and property of this admin's own, and a
    claim every admin adds (a table without a unique key: concurrent saves would each insert
    it)."""
    fields = {**page, "client_name": name}
    _add_row(fields, "redirect_uris", redirect_uri=f"https://blue.web.example.com/{name}")
    _add_row(fields, "allowed_cors_origins", origin=f"https://{name}.example.com")
    _add_row(fields, "properties", key=name, value="edited")
    _add_row(fields, "claims", type="reviewed", value="yes", value_type=CLAIM_VALUE_TYPE_STRING)
    return fields


def _save(browser: HttpClient, url: str, fields: dict[str, str]) -> str:
    response = browser.post(url, fields)
    if response.status_code == 302:
        return "saved"
    page = text_of(response)
    if response.status_code == 200 and CHANGED in page:
        return "refused"
    errors = re.findall(r'<ul class="errorlist[^>]*>(.*?)</ul>', page, re.S)
    return f"{response.status_code}: " + "; ".join(re.sub(r"<[^>]+>", " ", e) for e in errors)


def _expected(path: Path, name: str) -> Any:
    """The client of the document with one admin's change."""
    client = load_document(path).clients[0]
    return dataclasses.replace(
        client, client_name=name,
        redirect_uris=(*client.redirect_uris, f"https://blue.web.example.com/{name}"),
        allowed_cors_origins=(*client.allowed_cors_origins, f"https://{name}.example.com"),
        properties=tuple(sorted((*client.properties, (name, "edited")))),
        claims=(*client.claims, ClientClaim(type="reviewed", value="yes")))


def _stored(path: Path) -> Any:
    return client_to_domain(models.Client.objects.get(
        client_id=load_document(path).clients[0].client_id))


def _browser(user: Any) -> HttpClient:
    browser = HttpClient()
    browser.force_login(user)
    return browser


def _open(browser: HttpClient, url: str) -> dict[str, str]:
    return form_fields(browser.get(url))


@pytest.fixture
def admins(admin_user) -> list[HttpClient]:
    """A signed-in browser for each admin, and one more."""
    return [_browser(admin_user) for _ in range(ADMINS + 1)]


# ---- admins against admins ---------------------------------------------------------------------

def _admins_round(folder: Path, admins: list[HttpClient]) -> str:
    path, url = _client_page(folder)
    # Opened once for all (rendering it is most of a round's time): every admin has it from
    # before the first save, which is what counts.
    page = _open(admins[0], url)
    results = race(ADMINS, lambda i: (admins[i], _edit(page, f"admin{i}")),
                   lambda prepared: _save(prepared[0], url, prepared[1]))
    outcomes = Counter(results)
    assert outcomes == {"saved": 1, "refused": ADMINS - 1}, outcomes
    winner = f"admin{results.index('saved')}"
    # The winner's change whole, each row once; nothing of the refused changes.
    assert _stored(path) == _expected(path, winner)
    return "1 saved, the others refused"


@_race
def test_admins_saving_the_same_client_at_once_lose_no_update(tmp_path, admins) -> None:
    repeat(lambda: _admins_round(tmp_path, admins))


# ---- admins against an import ------------------------------------------------------------------

def _admins_and_import_round(folder: Path, admins: list[HttpClient]) -> str:
    path, url = _client_page(folder)
    page = _open(admins[0], url)
    # Green changes other fields than the admins do: an import that wrote only what differed
    # from what it read before an admin's save would keep part of that save.
    green = write(folder, path.stem.split("-")[0], "green")

    def prepare(index: int) -> Any:
        return None if index == ADMINS else (admins[index], _edit(page, f"admin{index}"))

    def act(prepared: Any) -> str:
        if prepared is None:
            return "import: " + run_import(green)
        return _save(prepared[0], url, prepared[1])

    results = race(ADMINS + 1, prepare, act)
    outcomes = Counter(results)
    assert holds(green), f"the database holds a mix of the import and an admin's save: {outcomes}"
    assert not [r for r in results if r.startswith("import: refused")], outcomes
    assert outcomes["saved"] <= 1 and outcomes["saved"] + outcomes["refused"] == ADMINS, outcomes
    return "an admin saved, then the import" if outcomes["saved"] else "the import, no admin"


@_race
def test_admins_and_an_import_at_once_leave_the_document(tmp_path, admins) -> None:
    repeat(lambda: _admins_and_import_round(tmp_path, admins))


@_race
def test_admins_and_an_import_at_once_when_importing_is_slow(tmp_path, admins,
                                                            slow_import) -> None:
    repeat(lambda: _admins_and_import_round(tmp_path, admins))


# ---- admins against an action ------------------------------------------------------------------

def _admins_and_action_round(folder: Path, admins: list[HttpClient]) -> str:
    path, url = _client_page(folder)
    pk = url.split("/")[-3]
    page = _open(admins[0], url)

    def prepare(index: int) -> Any:
        return admins[index], None if index == ADMINS else _edit(page, f"admin{index}")

    def act(prepared: Any) -> str:
        browser, fields = prepared
        if fields is None:
            response = browser.post("/admin/clients_app/client/", {
                "action": "disable_clients", "index": "0", "_selected_action": [pk]})
            return "disabled" if response.status_code == 302 else str(response.status_code)
        return _save(browser, url, fields)

    outcomes = Counter(race(ADMINS + 1, prepare, act))
    assert outcomes["disabled"] == 1, outcomes
    assert outcomes["saved"] <= 1 and outcomes["saved"] + outcomes["refused"] == ADMINS, outcomes
    # Every page showed the client enabled: a save that re-enabled it undid the action.
    assert models.Client.objects.get(pk=pk).enabled is False, f"the action was undone: {outcomes}"
    return "an admin saved, then the action" if outcomes["saved"] else "the action, no admin"


@_race
def test_admins_and_the_disable_action_at_once_lose_no_update(tmp_path, admins) -> None:
    repeat(lambda: _admins_and_action_round(tmp_path, admins))


# ---- one after the other (any database) --------------------------------------------------------

@pytest.mark.django_db
def test_a_save_from_a_page_opened_before_another_save_is_refused(tmp_path,
                                                                  admin_user) -> None:
    path, url = _client_page(tmp_path)
    first, second = _browser(admin_user), _browser(admin_user)
    late = _edit(_open(first, url), "first")
    assert _save(second, url, _edit(_open(second, url), "second")) == "saved"

    assert _save(first, url, late) == "refused"
    assert _stored(path) == _expected(path, "second")
    # The refused form is shown again as it was posted: saving it again is refused again.
    assert _save(first, url, late) == "refused"
    # After a reload, the same change goes through.
    assert _save(first, url, _edit(_open(first, url), "first")) == "saved"
    assert _stored(path).client_name == "first"


@pytest.mark.django_db
def test_a_save_after_an_import_changed_the_client_is_refused(tmp_path, admin_user) -> None:
    path, url = _client_page(tmp_path)
    browser = _browser(admin_user)
    late = _edit(_open(browser, url), "admin")
    green = write(tmp_path, path.stem.split("-")[0], "green")
    assert "2 changed" in run_import(green)

    assert _save(browser, url, late) == "refused"
    assert holds(green)


@pytest.mark.django_db
def test_a_save_after_the_client_was_disabled_is_refused(tmp_path, admin_user) -> None:
    path, url = _client_page(tmp_path)
    browser = _browser(admin_user)
    late = _edit(_open(browser, url), "admin")
    row = models.Client.objects.get(client_id=load_document(path).clients[0].client_id)
    browser.post("/admin/clients_app/client/", {
        "action": "disable_clients", "index": "0", "_selected_action": [str(row.pk)]})

    assert _save(browser, url, late) == "refused"
    assert models.Client.objects.get(pk=row.pk).enabled is False


@pytest.mark.django_db
def test_a_scope_saved_from_a_page_opened_before_another_save_is_refused(admin_user) -> None:
    scope = models.ApiScope.objects.create(name="api.edited")
    url = f"/admin/clients_app/apiscope/{scope.pk}/change/"
    first, second = _browser(admin_user), _browser(admin_user)
    late = {**form_fields(first.get(url)), "display_name": "first"}
    assert second.post(url, {**form_fields(second.get(url)),
                             "display_name": "second"}).status_code == 302

    response = first.post(url, late)

    assert response.status_code == 200
    assert "This API scope " + CHANGED in text_of(response)
    assert models.ApiScope.objects.get(pk=scope.pk).display_name == "second"
