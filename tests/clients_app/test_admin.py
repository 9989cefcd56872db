"""The Django admin of clients, scopes and resources, driven through Django's test client."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.db import connection
from django.http import HttpResponse
from django.test import Client as HttpClient

from clients_app import models
from clients_app.mapping import client_child_rows, client_column_values, real_models
from identity.config_document import parse_json
from identity.domain.client import Client
from identity.freshness import current_generation
from identity.hashing import hash_secret, verify_shared_secret
from identity.stores.caching import client_cache_key
from identity.stores.registry import get_client_store, get_resource_store
from tests.factories import make_client, make_interactive_client, make_secret
from tests.helpers.forms import add_generated_secret

pytestmark = pytest.mark.django_db

ADMIN = "/admin/clients_app"
CLIENT_ADD = f"{ADMIN}/client/add/"
CLIENT_CHANGELIST = f"{ADMIN}/client/"
CLIENT_INLINES = (
    "client_secrets", "allowed_grant_types", "redirect_uris", "post_logout_redirect_uris",
    "allowed_scopes", "allowed_cors_origins", "claims", "properties",
    "identity_provider_restrictions",
)
TYPED_SECRET = "typed-plaintext-Zq8v3Kx1"
GENERATED_RE = re.compile(r'<code class="generated-secret">([^<]*)</code>')


# ---- helpers -----------------------------------------------------------------------------------

class _FormFields(HTMLParser):
    """Collect what a browser would submit: named inputs, checked boxes, selects, textareas."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: dict[str, str] = {}
        self._select: str | None = None
        self._first_option: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name", "")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("submit", "button", "image", "file", "reset"):
                return
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields[name] = a.get("value") or "on"
                return
            self.fields[name] = a.get("value", "")
        elif tag == "select" and name:
            self._select, self._first_option = name, None
        elif tag == "option" and self._select:
            if self._first_option is None:
                self._first_option = a.get("value", "")
                self.fields.setdefault(self._select, self._first_option)
            if "selected" in a:
                self.fields[self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.fields[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            # A browser drops the newline that follows <textarea>.
            value = self.fields[self._textarea] + data
            self.fields[self._textarea] = value.removeprefix("\n")


def form_fields(response: HttpResponse) -> dict[str, str]:
    """Return the fields a browser would post from an admin form page (no __prefix__ rows)."""
    assert response.status_code == 200, response.status_code
    parser = _FormFields()
    parser.feed(response.content.decode())
    return {k: v for k, v in parser.fields.items() if "__prefix__" not in k}


def inline_rows(prefix: str, rows: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """Return the management form and fields of an inline holding only new `rows`."""
    data = {f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": "0",
            f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}
    for i, row in enumerate(rows):
        data.update({f"{prefix}-{i}-{name}": value for name, value in row.items()})
    return data


def replace_inlines(fields: Mapping[str, str], inlines: Mapping[str, Sequence[Mapping[str, str]]]
                    ) -> dict[str, str]:
    """Return `fields` with each named inline replaced by new rows."""
    data = {k: v for k, v in fields.items()
            if not any(k.startswith(f"{prefix}-") for prefix in inlines)}
    for prefix, rows in inlines.items():
        data.update(inline_rows(prefix, rows))
    return data


def client_add_data(admin_client: HttpClient, client_id: str = "svc.orders", *,
                    grant_types: Iterable[str] = ("client_credentials",),
                    secrets: Sequence[Mapping[str, str]] = ({"secret": TYPED_SECRET},),
                    scopes: Iterable[str] = ("api1",),
                    redirect_uris: Iterable[str] = (),
                    cors_origins: Iterable[str] = (),
                    **fields: str) -> dict[str, str]:
    """Build the whole POST of the client add form: the page's defaults, every inline's
    management form, the given rows and field overrides."""
    data = form_fields(admin_client.get(f"{CLIENT_ADD}?kind=custom"))
    rows: dict[str, list[Mapping[str, str]]] = {prefix: [] for prefix in CLIENT_INLINES}
    rows["client_secrets"] = [{"type": "SharedSecret", **s} for s in secrets]
    rows["allowed_grant_types"] = [{"grant_type": g} for g in grant_types]
    rows["allowed_scopes"] = [{"scope": s} for s in scopes]
    rows["redirect_uris"] = [{"redirect_uri": u} for u in redirect_uris]
    rows["allowed_cors_origins"] = [{"origin": o} for o in cors_origins]
    data = replace_inlines(data, rows)
    data.update(client_id=client_id, **fields)
    return data


def text_of(response: HttpResponse) -> str:
    """Return the page with HTML entities decoded, for searching messages."""
    return html.unescape(response.content.decode())


def save_client(client: Client) -> models.Client:
    """Store a domain client as rows, as an import would."""
    row = models.Client.objects.create(**client_column_values(client))
    for children in client_child_rows(real_models(), row, client).values():
        for child in children:
            child.save()
    return row


def database_dump() -> str:
    """Return every row of every table, and the decoded sessions, as one text."""
    parts: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            parts.extend(repr(row) for row in cursor.fetchall())
    parts.extend(repr(s.get_decoded()) for s in Session.objects.all())
    return "\n".join(parts)


def changelist_rows(response: HttpResponse) -> dict[str, dict[str, str]]:
    """Return the changelist's rows by client id: column name to inner HTML."""
    assert response.status_code == 200
    rows = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", response.content.decode(), re.S):
        cells = dict(re.findall(r'<t[hd] class="field-(\w+)[^"]*">(.*?)</t[hd]>', tr, re.S))
        if "client_id" in cells:
            rows[re.sub(r"<[^>]+>", "", cells["client_id"])] = cells
    return rows


def result_ids(response: HttpResponse) -> list[str]:
    """Return the client ids the changelist lists."""
    assert response.status_code == 200
    return sorted(c.client_id for c in response.context["cl"].result_list)


def run_action(admin_client: HttpClient, action: str, rows: Iterable[models.Client],
               **kwargs: Any) -> HttpResponse:
    """Apply a changelist action to the given client rows."""
    return admin_client.post(CLIENT_CHANGELIST, {
        "action": action, "index": "0", "select_across": "0",
        "_selected_action": [str(r.pk) for r in rows]}, **kwargs)


@pytest.fixture
def api1() -> models.ApiScope:
    return models.ApiScope.objects.create(name="api1")


# ---- changelist --------------------------------------------------------------------------------

def test_changelist_shows_grant_types_enabled_secret_expiry_and_last_use(
        admin_client: HttpClient) -> None:
    used = datetime(2031, 1, 2, 15, 4, tzinfo=UTC)
    save_client(make_client("svc.dated", client_secrets=(
        make_secret("a", expiration=datetime(2032, 1, 1, tzinfo=UTC)),
        make_secret("b", expiration=datetime(2031, 5, 6, tzinfo=UTC)),
        make_secret("c", expiration=datetime(2020, 1, 1, tzinfo=UTC)))))
    models.Client.objects.filter(client_id="svc.dated").update(last_accessed=used)
    save_client(make_client("svc.forever", enabled=False))
    save_client(make_client(
        "svc.stale", client_secrets=(make_secret(expiration=datetime(2020, 1, 1, tzinfo=UTC)),)))
    save_client(make_interactive_client("web.app", allowed_grant_types=(
        "authorization_code", "client_credentials")))

    rows = changelist_rows(admin_client.get(CLIENT_CHANGELIST))

    assert set(rows) == {"svc.dated", "svc.forever", "svc.stale", "web.app"}
    assert rows["svc.dated"]["grant_types"] == "client_credentials"
    assert sorted(rows["web.app"]["grant_types"].split(", ")) == [
        "authorization_code", "client_credentials"]
    assert 'alt="True"' in rows["svc.dated"]["enabled"]
    assert 'alt="False"' in rows["svc.forever"]["enabled"]
    assert rows["svc.dated"]["secret_expiry"] == "2031-05-06"  # earliest unexpired one
    assert rows["svc.forever"]["secret_expiry"] == "never"
    assert "all expired" in rows["svc.stale"]["secret_expiry"]
    assert rows["svc.dated"]["last_accessed"] == "Jan. 2, 2031, 3:04 p.m."
    assert rows["svc.forever"]["last_accessed"] == "-"


def test_changelist_searches_by_client_id_and_by_name(admin_client: HttpClient) -> None:
    save_client(make_client("svc.billing", client_name="Invoices robot"))
    save_client(make_client("svc.reports", client_name="Nightly reports"))

    assert result_ids(admin_client.get(CLIENT_CHANGELIST, {"q": "billing"})) == ["svc.billing"]
    assert result_ids(admin_client.get(CLIENT_CHANGELIST, {"q": "nightly"})) == ["svc.reports"]
    assert result_ids(admin_client.get(CLIENT_CHANGELIST, {"q": "nothing-like-it"})) == []


def test_changelist_filters_by_enabled_and_by_grant_type(admin_client: HttpClient) -> None:
    save_client(make_client("svc.on"))
    save_client(make_client("svc.off", enabled=False))
    save_client(make_interactive_client("web.app"))

    assert result_ids(admin_client.get(CLIENT_CHANGELIST, {"enabled__exact": "0"})) == ["svc.off"]
    assert result_ids(admin_client.get(CLIENT_CHANGELIST, {"enabled__exact": "1"})) == [
        "svc.on", "web.app"]
    by_grant = admin_client.get(CLIENT_CHANGELIST,
                                {"allowed_grant_types__grant_type": "authorization_code"})
    assert result_ids(by_grant) == ["web.app"]
    by_grant = admin_client.get(CLIENT_CHANGELIST,
                                {"allowed_grant_types__grant_type": "client_credentials"})
    assert result_ids(by_grant) == ["svc.off", "svc.on"]


# ---- secrets -----------------------------------------------------------------------------------

def test_typed_secret_is_stored_only_as_its_sha256(admin_client: HttpClient, api1: Any) -> None:
    data = client_add_data(admin_client, "svc.typed", client_name="Typed secret")

    response = admin_client.post(CLIENT_ADD, data)

    assert response.status_code == 302, text_of(response)
    row = models.Client.objects.get(client_id="svc.typed")
    assert [g.grant_type for g in row.allowed_grant_types.all()] == ["client_credentials"]
    assert [s.scope for s in row.allowed_scopes.all()] == ["api1"]
    (secret,) = row.client_secrets.all()
    assert secret.value == hash_secret(TYPED_SECRET)
    assert len(secret.value) == 44
    assert secret.type == "SharedSecret"
    assert TYPED_SECRET not in database_dump()
    assert TYPED_SECRET not in admin_client.get(response["Location"]).content.decode()


def test_pasted_plaintext_in_the_hash_field_is_refused(admin_client: HttpClient,
                                                       api1: Any) -> None:
    data = client_add_data(admin_client, "svc.pasted", secrets=[{"value": "not-a-hash"}])

    response = admin_client.post(CLIENT_ADD, data)

    assert response.status_code == 200
    assert "is not a Base64 SHA-256 (44 characters)" in text_of(response)
    assert not models.Client.objects.filter(client_id="svc.pasted").exists()
    assert "not-a-hash" not in database_dump()


def test_typing_a_secret_and_ticking_generate_together_is_refused(admin_client: HttpClient,
                                                                  api1: Any) -> None:
    data = client_add_data(admin_client, "svc.both",
                           secrets=[{"secret": TYPED_SECRET, "generate": "on"}])

    response = admin_client.post(CLIENT_ADD, data)

    assert response.status_code == 200
    assert "Either type a secret or tick Generate, not both." in text_of(response)
    assert not models.Client.objects.filter(client_id="svc.both").exists()


def test_generated_secret_is_shown_once_and_stored_hashed(admin_client: HttpClient,
                                                          api1: Any) -> None:
    data = client_add_data(admin_client, "svc.generated",
                           secrets=[{"generate": "on", "description": "rollout 1"}])

    posted = admin_client.post(CLIENT_ADD, data)

    assert posted.status_code == 303  # to the secret page: a reload never saves again
    response = admin_client.get(posted["Location"])
    assert response.status_code == 200
    assert "no-store" in [d.strip() for d in response["Cache-Control"].split(",")]
    shown = GENERATED_RE.findall(response.content.decode())
    assert len(shown) == 1
    secret = shown[0]
    assert len(secret) >= 43  # 256 bits, URL-safe Base64
    assert response.content.decode().count(secret) == 1
    assert "rollout 1" in text_of(response)
    row = models.Client.objects.get(client_id="svc.generated")
    (stored,) = row.client_secrets.all()
    assert stored.value == hash_secret(secret)
    assert secret not in database_dump()
    change_url = f"{ADMIN}/client/{row.pk}/change/"
    assert f'href="{change_url}"' in response.content.decode()
    change_page = admin_client.get(change_url)
    assert change_page.status_code == 200
    assert secret not in change_page.content.decode()
    assert not GENERATED_RE.search(change_page.content.decode())
    client = get_client_store().find_client_by_id("svc.generated")
    assert client is not None
    assert verify_shared_secret(secret, client.client_secrets)


def test_generated_secret_on_an_existing_client_is_shown_once(admin_client: HttpClient) -> None:
    row = save_client(make_client("svc.rollover", allowed_scopes=("openid",)))
    change_url = f"{ADMIN}/client/{row.pk}/change/"
    fields = form_fields(admin_client.get(change_url))
    add_generated_secret(fields)

    posted = admin_client.post(change_url, fields)

    assert posted.status_code == 303
    response = admin_client.get(posted["Location"])
    (secret,) = GENERATED_RE.findall(response.content.decode())
    values = sorted(s.value for s in row.client_secrets.all())
    assert values == sorted([hash_secret("secret"), hash_secret(secret)])
    assert secret not in admin_client.get(change_url).content.decode()


def test_expired_secret_is_marked_expired_on_the_change_page(admin_client: HttpClient) -> None:
    later = datetime.now(UTC) + timedelta(days=30)
    row = save_client(make_client("svc.expiring", allowed_scopes=("openid",), client_secrets=(
        make_secret("old", description="old one", expiration=datetime(2020, 3, 4, tzinfo=UTC)),
        make_secret("new", description="new one", expiration=later))))

    page = text_of(admin_client.get(f"{ADMIN}/client/{row.pk}/change/"))

    assert "expired 2020-03-04" in page
    assert page.count("expired ") == 1  # the live secret is not marked
    assert f"active until {later.date()}" in page


# ---- configuration rules -----------------------------------------------------------------------

@pytest.mark.parametrize(("overrides", "message"), [
    pytest.param({"grant_types": ["implicit", "authorization_code"],
                  "redirect_uris": ["https://app.example.com/cb"]},
                 "authorization_code and implicit cannot be combined", id="implicit+code"),
    pytest.param({"secrets": []}, "a secret is required for client_credentials, but none is "
                 "configured", id="client_credentials-without-secret"),
    pytest.param({"grant_types": ["authorization_code"],
                  "redirect_uris": ["http://app.example.com/cb"]},
                 "'http://app.example.com/cb' uses http on a non-loopback host; use https",
                 id="http-redirect"),
    pytest.param({"grant_types": ["authorization_code"],
                  "redirect_uris": ["https://app.example.com/cb#frag"]},
                 "'https://app.example.com/cb#frag' must not contain a fragment", id="fragment"),
    pytest.param({"cors_origins": ["https://app.example.com/path"]},
                 "'https://app.example.com/path' is not a bare origin", id="cors-path"),
    pytest.param({"scopes": ["api1", "no.such.scope"]},
                 "'no.such.scope' not defined; add an API scope or identity resource",
                 id="unknown-scope"),
    pytest.param({"access_token_lifetime": "0"}, "must be a positive number of seconds.",
                 id="zero-lifetime"),
    pytest.param({"access_token_lifetime": "-60"}, "must be a positive number of seconds.",
                 id="negative-lifetime"),
])
def test_configuration_rule_is_enforced_with_a_clear_message_and_nothing_saved(
        admin_client: HttpClient, api1: Any, overrides: dict[str, Any], message: str) -> None:
    data = client_add_data(admin_client, "svc.rules", **overrides)

    response = admin_client.post(CLIENT_ADD, data)

    assert response.status_code == 200
    assert message in text_of(response)
    assert 'class="errornote"' in response.content.decode()
    assert not models.Client.objects.exists()
    assert not models.ClientSecret.objects.exists()


def test_valid_interactive_client_passes_the_same_rules(admin_client: HttpClient,
                                                        api1: Any) -> None:
    data = client_add_data(
        admin_client, "web.ok", grant_types=["authorization_code"],
        redirect_uris=["http://127.0.0.1:8400/cb", "com.example.app:/cb"],
        cors_origins=["https://app.example.com"], scopes=["openid", "profile", "api1"])

    response = admin_client.post(CLIENT_ADD, data)

    assert response.status_code == 302, text_of(response)
    client = get_client_store().find_client_by_id("web.ok")
    assert client is not None
    assert client.redirect_uris == ("http://127.0.0.1:8400/cb", "com.example.app:/cb")
    assert client.allowed_cors_origins == ("https://app.example.com",)


# ---- actions and the client cache --------------------------------------------------------------

def _cached_key(client_id: str) -> str:
    # The local-memory cache is not shared: its keys carry the configuration generation.
    return f"{client_cache_key(client_id)}:g{current_generation()}"


def test_disable_action_disables_and_the_store_sees_it_at_once(admin_client: HttpClient) -> None:
    row = save_client(make_client("svc.cached"))
    other = save_client(make_client("svc.untouched"))
    store = get_client_store()
    assert store.find_client_by_id("svc.cached").enabled is True
    assert caches["default"].get(_cached_key("svc.cached")) is not None  # cached now

    response = run_action(admin_client, "disable_clients", [row], follow=True)

    assert "1 client(s) disabled." in text_of(response)
    assert models.Client.objects.get(pk=row.pk).enabled is False
    assert models.Client.objects.get(pk=other.pk).enabled is True
    client = get_client_store().find_client_by_id("svc.cached")
    assert client is not None
    assert client.enabled is False


def test_enable_action_enables_and_the_store_sees_it_at_once(admin_client: HttpClient) -> None:
    first = save_client(make_client("svc.one", enabled=False))
    second = save_client(make_client("svc.two", enabled=False))
    assert get_client_store().find_client_by_id("svc.one").enabled is False

    response = run_action(admin_client, "enable_clients", [first, second], follow=True)

    assert "2 client(s) enabled." in text_of(response)
    assert set(models.Client.objects.values_list("enabled", flat=True)) == {True}
    assert get_client_store().find_client_by_id("svc.one").enabled is True


def test_export_action_returns_the_selected_clients_as_a_json_document(
        admin_client: HttpClient) -> None:
    models.ApiScope.objects.create(name="api1")
    models.ApiScope.objects.create(name="api2.read_only")
    exported = save_client(make_interactive_client("web.app"))
    also = save_client(make_client("svc.one", client_name="One"))
    save_client(make_client("svc.not-selected"))

    response = run_action(admin_client, "export_clients", [exported, also])

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="clients.json"'
    document = parse_json(response.content.decode(), "export")
    by_id = {c.client_id: c for c in document.clients}
    assert sorted(by_id) == ["svc.one", "web.app"]
    assert by_id["web.app"] == make_interactive_client("web.app")
    assert by_id["svc.one"] == make_client("svc.one", client_name="One")
    assert {s.name for s in document.resources.api_scopes} == {"api1", "api2.read_only"}


def test_editing_a_client_invalidates_the_cached_client(admin_client: HttpClient) -> None:
    row = save_client(make_client("svc.edited", client_name="Before", allowed_scopes=("openid",)))
    assert get_client_store().find_client_by_id("svc.edited").client_name == "Before"
    assert caches["default"].get(_cached_key("svc.edited")) is not None
    change_url = f"{ADMIN}/client/{row.pk}/change/"
    fields = form_fields(admin_client.get(change_url))
    fields.update(client_name="After", access_token_lifetime="120")

    response = admin_client.post(change_url, fields)

    assert response.status_code == 302, text_of(response)
    client = get_client_store().find_client_by_id("svc.edited")
    assert client is not None
    assert (client.client_name, client.access_token_lifetime) == ("After", 120)
    assert verify_shared_secret("secret", client.client_secrets)  # the kept secret still works


def test_editing_only_an_inline_invalidates_the_cached_client(admin_client: HttpClient) -> None:
    row = save_client(make_client("svc.scopes", allowed_scopes=("openid",)))
    assert get_client_store().find_client_by_id("svc.scopes").allowed_scopes == ("openid",)
    change_url = f"{ADMIN}/client/{row.pk}/change/"
    fields = form_fields(admin_client.get(change_url))
    total = int(fields["allowed_scopes-TOTAL_FORMS"])
    fields.update({"allowed_scopes-TOTAL_FORMS": str(total + 1),
                   f"allowed_scopes-{total}-scope": "profile"})

    response = admin_client.post(change_url, fields)

    assert response.status_code == 302, text_of(response)
    client = get_client_store().find_client_by_id("svc.scopes")
    assert client is not None
    assert client.allowed_scopes == ("openid", "profile")


# ---- scopes and resources ----------------------------------------------------------------------

def test_api_scope_admin_adds_a_scope_with_claims(admin_client: HttpClient) -> None:
    assert admin_client.get(f"{ADMIN}/apiscope/").status_code == 200
    fields = form_fields(admin_client.get(f"{ADMIN}/apiscope/add/"))
    fields = replace_inlines(fields, {"user_claims": [{"type": "email"}, {"type": "role"}]})
    fields.update(name="orders.read", display_name="Read orders")

    response = admin_client.post(f"{ADMIN}/apiscope/add/", fields)

    assert response.status_code == 302, text_of(response)
    scope = models.ApiScope.objects.get(name="orders.read")
    assert sorted(c.type for c in scope.user_claims.all()) == ["email", "role"]
    (found,) = get_resource_store().find_resources_by_scope_names(["orders.read"]).api_scopes
    assert found.display_name == "Read orders"
    page = admin_client.get(f"{ADMIN}/apiscope/{scope.pk}/change/")
    assert page.status_code == 200
    assert "orders.read" in page.content.decode()


def test_api_resource_admin_shows_a_generated_api_secret_once(admin_client: HttpClient) -> None:
    fields = form_fields(admin_client.get(f"{ADMIN}/apiresource/add/"))
    fields = replace_inlines(fields, {
        "scopes": [{"scope": "orders.read"}],
        "user_claims": [{"type": "role"}],
        "api_secrets": [{"type": "SharedSecret", "generate": "on"}],
    })
    fields.update(name="orders")

    posted = admin_client.post(f"{ADMIN}/apiresource/add/", fields)

    assert posted.status_code == 303
    response = admin_client.get(posted["Location"])
    assert response.status_code == 200
    assert "no-store" in [d.strip() for d in response["Cache-Control"].split(",")]
    (secret,) = GENERATED_RE.findall(response.content.decode())
    api = models.ApiResource.objects.get(name="orders")
    assert [s.scope for s in api.scopes.all()] == ["orders.read"]
    assert [s.value for s in api.api_secrets.all()] == [hash_secret(secret)]
    assert secret not in database_dump()
    (found,) = get_resource_store().find_api_resources_by_name(["orders"]).api_resources
    assert verify_shared_secret(secret, found.api_secrets)
    page = admin_client.get(f"{ADMIN}/apiresource/{api.pk}/change/")
    assert page.status_code == 200
    assert secret not in page.content.decode()


def test_api_resource_admin_hashes_a_typed_api_secret(admin_client: HttpClient) -> None:
    fields = form_fields(admin_client.get(f"{ADMIN}/apiresource/add/"))
    fields = replace_inlines(fields, {"api_secrets": [{"type": "SharedSecret",
                                                       "secret": TYPED_SECRET}]})
    fields.update(name="billing")

    response = admin_client.post(f"{ADMIN}/apiresource/add/", fields)

    assert response.status_code == 302, text_of(response)
    api = models.ApiResource.objects.get(name="billing")
    assert [s.value for s in api.api_secrets.all()] == [hash_secret(TYPED_SECRET)]
    assert TYPED_SECRET not in database_dump()


def test_identity_resource_admin_lists_edits_and_adds(admin_client: HttpClient) -> None:
    listing = admin_client.get(f"{ADMIN}/identityresource/")
    assert listing.status_code == 200
    assert {"openid", "profile", "email", "address", "phone"} <= {
        r.name for r in listing.context["cl"].result_list}
    profile = models.IdentityResource.objects.get(name="profile")
    change_url = f"{ADMIN}/identityresource/{profile.pk}/change/"
    fields = form_fields(admin_client.get(change_url))
    fields.update(display_name="Your profile")

    response = admin_client.post(change_url, fields)

    assert response.status_code == 302, text_of(response)
    profile.refresh_from_db()
    assert profile.display_name == "Your profile"
    assert profile.user_claims.exists()  # the existing claims were posted back and kept

    fields = form_fields(admin_client.get(f"{ADMIN}/identityresource/add/"))
    fields = replace_inlines(fields, {"user_claims": [{"type": "employee_id"}]})
    fields.update(name="employee")
    assert admin_client.post(f"{ADMIN}/identityresource/add/", fields).status_code == 302
    employee = models.IdentityResource.objects.get(name="employee")
    assert [c.type for c in employee.user_claims.all()] == ["employee_id"]


@pytest.mark.parametrize("kind", ["apiscope", "apiresource", "identityresource"])
def test_resource_properties_left_empty_are_saved_as_no_properties(admin_client: HttpClient,
                                                          kind: str) -> None:
    fields = form_fields(admin_client.get(f"{ADMIN}/{kind}/add/"))
    fields.update(name="no.props", properties="")

    response = admin_client.post(f"{ADMIN}/{kind}/add/", fields)

    assert response.status_code == 302, text_of(response)
    model = {"apiscope": models.ApiScope, "apiresource": models.ApiResource,
             "identityresource": models.IdentityResource}[kind]
    assert model.objects.get(name="no.props").properties == {}


@pytest.mark.parametrize("properties", ['["team", "billing"]', '"billing"', "42"])
def test_resource_properties_must_be_a_json_object(admin_client: HttpClient,
                                                   properties: str) -> None:
    fields = form_fields(admin_client.get(f"{ADMIN}/apiscope/add/"))
    fields.update(name="bad.props", properties=properties)

    response = admin_client.post(f"{ADMIN}/apiscope/add/", fields)

    assert response.status_code == 200
    assert 'Enter a JSON object of names to values, e.g. {"team": "billing"}.' in text_of(
        response)
    assert not models.ApiScope.objects.filter(name="bad.props").exists()


def test_resource_properties_reach_the_resource_store(admin_client: HttpClient) -> None:
    fields = form_fields(admin_client.get(f"{ADMIN}/apiscope/add/"))
    fields.update(name="props", properties='{"team": "billing", "tier": 2}')

    assert admin_client.post(f"{ADMIN}/apiscope/add/", fields).status_code == 302

    (scope,) = get_resource_store().find_resources_by_scope_names(["props"]).api_scopes
    assert scope.properties == (("team", "billing"), ("tier", "2"))


# ---- page security -----------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    CLIENT_CHANGELIST, CLIENT_ADD, f"{ADMIN}/apiresource/add/", f"{ADMIN}/identityresource/",
])
def test_admin_pages_forbid_framing(admin_client: HttpClient, path: str) -> None:
    response = admin_client.get(path)

    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"


def test_admin_login_page_forbids_framing(client: HttpClient) -> None:
    response = client.get("/admin/login/")

    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"


def test_admin_post_without_csrf_token_is_refused(api1: Any) -> None:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-9Lk2sQ")
    browser = HttpClient(enforce_csrf_checks=True)
    browser.force_login(user)
    data = client_add_data(browser, "svc.csrf")
    token = data.pop("csrfmiddlewaretoken")

    refused = browser.post(CLIENT_ADD, data)

    assert refused.status_code == 403
    assert not models.Client.objects.exists()
    accepted = browser.post(CLIENT_ADD, {**data, "csrfmiddlewaretoken": token})
    assert accepted.status_code == 302, text_of(accepted)
    assert models.Client.objects.filter(client_id="svc.csrf").exists()
