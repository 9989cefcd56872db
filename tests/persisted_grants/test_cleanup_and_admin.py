"""Persisted grants at rest: stored by hash, cleaned up by `manage.py cleanup_grants`, and shown
read-only in the admin (with a revoke action); signing keys in the admin, private halves never."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from cryptography.hazmat.primitives import serialization
from django.contrib.admin.utils import quote
from django.core.management import call_command

# Connects the user_logged_in receiver that records auth_time and sid; the URLconf imports it
# too, but a test may sign in before its first request resolves a URL.
import identity.http.session  # noqa: F401
from identity import clock
from identity.models import PersistedGrant, SigningKey
from tests.factories import make_interactive_client
from tests.helpers.calls import API_AUTH, introspect, refresh, revoke
from tests.helpers.database import database_text as _database_text
from tests.helpers.flow import exchange, get_code, login, sign_in_for_tokens
from tests.helpers.pkce import Pkce
from tests.helpers.seeding import seed_with_api_secrets

pytestmark = pytest.mark.django_db

GRANTS = "/admin/identity/persistedgrant/"
KEYS = "/admin/identity/signingkey/"
CLAIMS_SENTINEL = "claims-never-shown-Qx7"


# --- helpers -------------------------------------------------------------------------------------


def _grant(key: str, *, type: str = "refresh_token", client_id: str = "app", subject: str = "s1",
           family: str = "", expires: timedelta | None = timedelta(hours=1),
           consumed: timedelta | None = None) -> PersistedGrant:
    """A row whose expiry and consumption are given relative to now (negative: in the past)."""
    now = clock.now()
    return PersistedGrant.objects.create(
        key=key, type=type, client_id=client_id, subject_id=subject, family=family,
        data={"claims": {"secret_claim": CLAIMS_SENTINEL}}, created=now - timedelta(hours=2),
        expires=None if expires is None else now + expires,
        consumed=None if consumed is None else now + consumed)


def _keys() -> set[str]:
    return set(PersistedGrant.objects.values_list("key", flat=True))


def _cleanup(*args: str) -> str:
    out = io.StringIO()
    call_command("cleanup_grants", *args, stdout=out)
    return out.getvalue()


class _FormFields(HTMLParser):
    """Names of the fields a browser would submit (inputs, selects, textareas)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.names: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("input", "select", "textarea") and a.get("name") and \
                a.get("type") not in ("submit", "button"):
            self.names.add(a["name"] or "")


def _editable_fields(html: str) -> set[str]:
    parser = _FormFields()
    parser.feed(html)
    return parser.names - {"csrfmiddlewaretoken"}


def _changelist_keys(response) -> set[str]:
    return {row.pk for row in response.context["cl"].result_list}


# --- handles are stored only as their SHA-256 ----------------------------------------------------


def test_codes_and_refresh_tokens_are_stored_under_the_sha256_of_their_handle(client,
                                                                               alice) -> None:
    seed_with_api_secrets()
    login(client)
    pkce = Pkce.new()
    code = get_code(client, pkce)
    code_row = PersistedGrant.objects.get(key=hashlib.sha256(code.encode()).hexdigest())
    assert code_row.type == "authorization_code" and code_row.client_id == "interactive"
    assert code_row.subject_id == str(alice.pk) and code_row.consumed is None
    response = exchange(client, code, pkce)
    assert response.status_code == 200, response.content
    token = response.json()["refresh_token"]
    token_row = PersistedGrant.objects.get(key=hashlib.sha256(token.encode()).hexdigest())
    assert token_row.type == "refresh_token" and token_row.family == code_row.key
    code_row.refresh_from_db()
    assert code_row.consumed is not None
    dump = _database_text()
    assert code_row.key in dump and token_row.key in dump  # the dump does see the rows
    assert code not in dump and token not in dump


# --- manage.py cleanup_grants ---------------------------------------------------------------------


@pytest.mark.parametrize("grace, consumed_120s_ago_kept", [(None, True), ("60", False),
                                                           ("0", False), ("600", True)])
def test_cleanup_deletes_expired_and_long_consumed_grants_only(grace,
                                                               consumed_120s_ago_kept) -> None:
    second = timedelta(seconds=1)
    _grant("live")
    _grant("never-expires", expires=None)
    _grant("consumed-just-now", type="authorization_code", consumed=-second * 1)
    _grant("consumed-120s-ago", type="authorization_code", consumed=-second * 120)
    _grant("expired", expires=-second)
    _grant("expired-deny-list-row", type="revoked_jti", expires=-second)
    _grant("expired-long-ago", expires=-timedelta(days=30))
    _grant("consumed-long-ago", type="authorization_code", consumed=-timedelta(days=1))
    args = ("--consumed-grace", grace) if grace is not None else ()
    output = _cleanup(*args)
    kept = {"live", "never-expires"}
    if grace != "0":
        kept.add("consumed-just-now")
    if consumed_120s_ago_kept:
        kept.add("consumed-120s-ago")
    assert _keys() == kept
    assert output.splitlines() == [f"{8 - len(kept)} expired or consumed grants deleted",
                                   "0 expired signing keys deleted"]


def test_cleanup_in_batches_of_two_deletes_every_stale_row(capsys) -> None:
    for n in range(7):
        _grant(f"stale-{n}", expires=-timedelta(minutes=n + 1))
    _grant("live")
    output = _cleanup("--batch-size", "2", "--verbosity", "2")
    assert _keys() == {"live"}
    lines = output.splitlines()
    assert [line.strip() for line in lines[:-2]] == ["2 deleted", "4 deleted", "6 deleted",
                                                     "7 deleted"]
    assert lines[-2:] == ["7 expired or consumed grants deleted", "0 expired signing keys deleted"]


def test_cleanup_with_nothing_stale_deletes_nothing_and_says_so() -> None:
    _grant("live")
    assert _cleanup().splitlines() == ["0 expired or consumed grants deleted",
                                       "0 expired signing keys deleted"]
    assert _keys() == {"live"}


def test_cleanup_keeps_the_tokens_of_a_real_sign_in(client, alice) -> None:
    seed_with_api_secrets()
    tokens = sign_in_for_tokens(client)
    _cleanup()
    assert introspect(client, tokens["refresh_token"],
                      auth=("interactive", "secret")).json()["active"] is True


def test_reuse_of_a_rotated_refresh_token_after_a_cleanup_still_revokes_the_family(
        client, alice, monkeypatch) -> None:
    seed_with_api_secrets()
    first = sign_in_for_tokens(client)["refresh_token"]
    rotated = refresh(client, first)
    assert rotated.status_code == 200, rotated.content
    second = rotated.json()["refresh_token"]
    # The next hourly cleanup (an access token later: the client comes back only then).
    later = clock.now() + timedelta(hours=1)
    with monkeypatch.context() as m:
        m.setattr(clock, "now", lambda: later)
        _cleanup()
    reuse = refresh(client, first)
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    refused = refresh(client, second)
    assert refused.status_code == 400, "the family survived the reuse of a rotated token"


# --- the persisted grant admin --------------------------------------------------------------------


def test_grants_are_listed_without_an_add_button_and_cannot_be_added(admin_client) -> None:
    _grant("a" * 64)
    _grant("b" * 64, type="authorization_code")
    response = admin_client.get(GRANTS)
    assert response.status_code == 200
    assert _changelist_keys(response) == {"a" * 64, "b" * 64}
    html = response.content.decode()
    assert f'href="{GRANTS}add/"' not in html
    assert CLAIMS_SENTINEL not in html
    assert admin_client.get(f"{GRANTS}add/").status_code == 403
    before = _keys()
    response = admin_client.post(f"{GRANTS}add/", {"key": "c" * 64, "type": "refresh_token",
                                                   "client_id": "x", "data": "{}"})
    assert response.status_code == 403
    assert _keys() == before


def test_a_grants_change_page_is_read_only(admin_client) -> None:
    row = _grant("a" * 64, client_id="app", subject="s1")
    url = f"{GRANTS}{quote(row.key)}/change/"
    response = admin_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert _editable_fields(html) == set()
    assert "app" in html and "s1" in html
    assert CLAIMS_SENTINEL not in html  # token claims are not for display
    response = admin_client.post(url, {"key": row.key, "type": "refresh_token",
                                       "client_id": "evil", "subject_id": "s1"})
    assert response.status_code == 403
    row.refresh_from_db()
    assert row.client_id == "app"


@pytest.mark.parametrize("query, expected", [
    ("alice-sub", {"g1", "g3"}),
    ("bob-sub", {"g2"}),
    ("app-a", {"g1", "g2"}),
    ("app-b", {"g3"}),
    ("nobody", set()),
])
def test_grants_are_searched_by_subject_and_client(admin_client, query, expected) -> None:
    _grant("g1", subject="alice-sub", client_id="app-a")
    _grant("g2", subject="bob-sub", client_id="app-a")
    _grant("g3", subject="alice-sub", client_id="app-b")
    response = admin_client.get(GRANTS, {"q": query})
    assert response.status_code == 200
    assert _changelist_keys(response) == expected


@pytest.mark.parametrize("selected, expected_left, message", [
    (["code-1"], {"code-2", "rt-2"}, "3 grant(s) revoked."),
    (["rt-1"], {"code-1", "code-2", "rt-2"}, "2 grant(s) revoked."),
    (["at-1"], {"code-1", "code-2", "rt-2"}, "2 grant(s) revoked."),
    (["rt-1", "rt-2"], {"code-1", "code-2"}, "3 grant(s) revoked."),
])
def test_the_revoke_action_deletes_the_selected_grants_and_their_families(
        admin_client, selected, expected_left, message) -> None:
    _grant("code-1", type="authorization_code", consumed=-timedelta(seconds=5))
    _grant("rt-1", family="code-1")
    _grant("at-1", type="reference_token", family="code-1")
    _grant("code-2", type="authorization_code", consumed=-timedelta(seconds=5))
    _grant("rt-2", family="code-2")
    response = admin_client.post(GRANTS, {"action": "revoke", "_selected_action": selected},
                                 follow=True)
    assert response.status_code == 200
    assert _keys() == expected_left
    assert message in [str(m) for m in response.context["messages"]]


def test_the_revoke_action_on_a_real_sign_in_refuses_its_tokens(client, admin_client,
                                                                alice) -> None:
    from identity.constants import AccessTokenType

    seed_with_api_secrets(make_interactive_client(access_token_type=AccessTokenType.Reference))
    tokens = sign_in_for_tokens(client)
    key = hashlib.sha256(tokens["refresh_token"].encode()).hexdigest()
    response = admin_client.get(GRANTS, {"q": str(alice.pk)})
    assert key in _changelist_keys(response)
    response = admin_client.post(GRANTS, {"action": "revoke", "_selected_action": [key]})
    assert response.status_code == 302
    assert introspect(client, tokens["access_token"]).json() == {"active": False}
    refreshed = refresh(client, tokens["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"


def test_revoking_the_record_of_an_issued_jwt_in_the_admin_refuses_that_jwt(
        client, admin_client, alice) -> None:
    seed_with_api_secrets()
    tokens = sign_in_for_tokens(client)
    record = PersistedGrant.objects.get(type="issued_jti")
    admin_client.post(GRANTS, {"action": "revoke", "_selected_action": [record.key]})
    # The family goes first, while the record still names the JWT for the deny list.
    assert introspect(client, tokens["access_token"]).json() == {"active": False}
    assert refresh(client, tokens["refresh_token"]).status_code == 400


def test_revoking_every_grant_of_a_client_keeps_revoked_jwts_revoked(client, admin_client,
                                                                     alice) -> None:
    seed_with_api_secrets(make_interactive_client(
        properties=(("RevocableJwtAccessTokens", "true"),)))
    tokens = sign_in_for_tokens(client)
    assert revoke(client, tokens["access_token"]).status_code == 200
    assert introspect(client, tokens["access_token"], auth=API_AUTH).json()["active"] is False
    # Incident response: every grant of the client, selected from a search, revoked at once.
    listed = _changelist_keys(admin_client.get(GRANTS, {"q": "interactive"}))
    assert PersistedGrant.objects.filter(type="revoked_jti").count() == 1
    admin_client.post(GRANTS, {"action": "revoke", "_selected_action": sorted(listed)})
    assert introspect(client, tokens["access_token"], auth=API_AUTH).json()["active"] is False


# --- the signing key admin ------------------------------------------------------------------------


@pytest.fixture
def three_keys() -> dict[str, SigningKey]:
    """The key ring's real signing key, and rows announced for later and retired."""
    from identity.stores.registry import get_key_ring

    signing = SigningKey.objects.get(kid=get_key_ring().signing_key().kid)
    now = clock.now()
    day = timedelta(days=1)

    def row(kid: str, generation: int, activates, retires, expires) -> SigningKey:
        return SigningKey.objects.create(
            kid=kid, algorithm=signing.algorithm, generation=generation,
            private_key=f"encrypted-private-key-of-{kid}", public_jwk={"kty": "RSA", "kid": kid},
            created=now - 100 * day, activates_at=activates, retires_at=retires,
            expires_at=expires)

    announced = row("announced-kid", signing.generation + 1, now + day, now + 90 * day,
                    now + 104 * day)
    retired = row("retired-kid", signing.generation + 2, now - 100 * day, now - day,
                  now + 13 * day)
    return {"signing": signing, "announced": announced, "retired": retired}


def _state_column(html: str, kid: str) -> str:
    row = next(r for r in html.split("<tr") if f'title="{kid}"' in r or f">{kid}<" in r)
    found = re.search(r'class="field-state">([^<]*)<', row)
    assert found, row
    return found.group(1)


def _private_secrets(key: SigningKey) -> list[str]:
    """What would betray the real private key: its PEM body and its JWK private members."""
    from django.conf import settings
    from jwt.algorithms import RSAAlgorithm

    from identity.tokens.key_material import decrypt_private_key

    private = decrypt_private_key(key.private_key, settings.SECRET_KEY)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    jwk = RSAAlgorithm.to_jwk(private, as_dict=True)
    return ["".join(pem.splitlines()[1:-1])[:40], jwk["d"][:40], jwk["p"][:40]]


def test_signing_keys_are_listed_with_their_state(admin_client, three_keys) -> None:
    response = admin_client.get(KEYS)
    assert response.status_code == 200
    html = response.content.decode()
    for state, key in three_keys.items():
        assert _state_column(html, key.kid) == state


def test_the_private_key_is_never_shown(admin_client, three_keys) -> None:
    secrets = _private_secrets(three_keys["signing"])
    pages = [(KEYS, None)] + [(f"{KEYS}{key.pk}/change/", key) for key in three_keys.values()]
    for url, key in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert key is None or key.kid in html  # the page does show the key
        flat = html.replace("\n", "").replace("\r", "")
        for stored in three_keys.values():
            assert stored.private_key[:40] not in html, url
        assert "PRIVATE KEY" not in html
        for secret in secrets:
            assert secret not in flat, url
        if key is not None:
            assert _editable_fields(html) == set(), url


def test_signing_keys_cannot_be_added_changed_or_deleted(admin_client, three_keys) -> None:
    signing = three_keys["signing"]
    before = list(SigningKey.objects.order_by("pk").values())
    html = admin_client.get(KEYS).content.decode()
    assert f'href="{KEYS}add/"' not in html
    assert 'value="delete_selected"' not in html
    assert admin_client.get(f"{KEYS}add/").status_code == 403
    response = admin_client.post(f"{KEYS}add/", {"kid": "new", "algorithm": "RS256"})
    assert response.status_code == 403
    assert admin_client.get(f"{KEYS}{signing.pk}/delete/").status_code == 403
    assert admin_client.post(f"{KEYS}{signing.pk}/delete/", {"post": "yes"}).status_code == 403
    response = admin_client.post(f"{KEYS}{signing.pk}/change/",
                                 {"kid": "changed", "algorithm": "RS256"})
    assert response.status_code == 403
    admin_client.post(KEYS, {"action": "delete_selected", "_selected_action": [signing.pk],
                             "post": "yes"})
    assert list(SigningKey.objects.order_by("pk").values()) == before
