"""The operational resources of the management API: signing keys, persisted grants, consents and
the audit trail, over HTTP, with their effects on the tokens the server issued."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import jwt
import pytest
from django.test import Client as HttpClient

# Connects the user_logged_in receiver that records auth_time and sid.
import identity.http.session  # noqa: F401
from clients_app.api import operations
from identity import clock
from identity.grants.records import issued_jti_key
from identity.models import AuditEvent, Consent, PersistedGrant, SigningKey
from identity.stores import registry
from tests.helpers.calls import introspect, refresh
from tests.helpers.flow import sign_in_for_tokens
from tests.helpers.seeding import seed_with_api_secrets
from tests.helpers.tokens import kid_of
from tests.management_api.conftest import READ, Api

pytestmark = pytest.mark.django_db

KEYS, GRANTS, CONSENTS, EVENTS = ("/api/signing-keys", "/api/grants", "/api/consents",
                                  "/api/audit-events")
JWKS = "/.well-known/openid-configuration/jwks"
CLAIMS_SENTINEL = "claims-never-shown-Qx7"
VIEW_ALL = ("identity.view_signingkey", "identity.view_persistedgrant", "identity.view_consent",
            "identity.view_auditevent")


# --- helpers -------------------------------------------------------------------------------------


@pytest.fixture
def browser(api_seeded: None, alice: Any) -> HttpClient:
    """A browser and client application of alice's, with APIs allowed to introspect."""
    seed_with_api_secrets()  # adds api1's ApiSecret to what api_seeded imported
    return HttpClient()


@pytest.fixture
def other_process(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Make the API's key operations use a key ring of their own, as when the API call is
    served by another process than the one that introspects."""
    ring = registry._build_key_ring()
    monkeypatch.setattr(operations, "get_key_ring", lambda: ring)
    return ring


def _grant(key: str, *, type: str = "refresh_token", client_id: str = "app",
           subject: str = "s1", family: str = "") -> PersistedGrant:
    now = clock.now()
    return PersistedGrant.objects.create(
        key=key, type=type, client_id=client_id, subject_id=subject, family=family,
        data={"claims": {"secret_claim": CLAIMS_SENTINEL}}, created=now - timedelta(hours=1),
        expires=now + timedelta(hours=1))


def _consent(subject: str = "s1", client_id: str = "app") -> Consent:
    return Consent.objects.create(subject_id=subject, client_id=client_id,
                                  scopes=["openid", "api1"], created=clock.now())


def _handle_key(handle: str) -> str:
    return hashlib.sha256(handle.encode()).hexdigest()


def _results(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return list(response.json()["results"])


def _events(**filters: str) -> list[tuple[str, str, str, str]]:
    return [(e.actor, e.action, e.target_type, e.target)
            for e in AuditEvent.objects.filter(**filters).order_by("pk")]


def _signing_kid() -> str:
    return registry.get_key_ring().signing_key().kid


def _active(http: HttpClient, token: str) -> bool:
    return bool(introspect(http, token).json()["active"])


# --- signing keys --------------------------------------------------------------------------------


def test_signing_keys_are_listed_and_read_without_private_material(api: Api) -> None:
    kid = _signing_kid()
    row = SigningKey.objects.get(kid=kid)
    response = api.get(KEYS)
    [key] = _results(response)
    assert key["kid"] == kid and key["algorithm"] == "RS256" and key["state"] == "signing"
    assert key["revoked_at"] is None and key["public_jwk"]["kid"] == kid
    assert set(key) == {"kid", "algorithm", "state", "created", "activates_at", "retires_at",
                        "expires_at", "revoked_at", "public_jwk"}
    assert row.private_key.encode() not in response.content
    assert b"private" not in response.content and '"d"' not in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    one = api.get(f"{KEYS}/{kid}")
    assert one.status_code == 200 and one.json() == key and one["ETag"].startswith('"')
    assert api.get(f"{KEYS}/no-such-kid").status_code == 404


def test_signing_keys_are_filtered_by_algorithm_and_bad_filters_are_refused(api: Api) -> None:
    _signing_kid()
    assert len(_results(api.get(f"{KEYS}?algorithm=RS256"))) == 1
    assert _results(api.get(f"{KEYS}?algorithm=ES256")) == []
    bad = api.get(f"{KEYS}?algorithm=HS256")
    assert bad.status_code == 400 and "algorithm" in bad.json()
    unknown = api.get(f"{KEYS}?algo=RS256")
    assert unknown.status_code == 400 and "Unknown parameter" in unknown.json()["algo"][0]


def test_rotating_announces_a_new_key_and_is_audited(api: Api, token_for: Callable[..., str],
                                                     client: HttpClient) -> None:
    old = _signing_kid()
    response = api.post(f"{KEYS}/rotate", {})
    assert response.status_code == 201, response.content
    [new] = response.json()
    assert new["kid"] != old and new["state"] == "announced"
    assert {k["kid"]: k["state"] for k in _results(api.get(KEYS))} == {
        old: "signing", new["kid"]: "announced"}
    assert {k["kid"] for k in client.get(JWKS).json()["keys"]} == {old, new["kid"]}
    assert kid_of(token_for()) == old  # announced: it signs after the propagation time
    assert _events(target_type="signing key") == [
        ("client:automation", "rotate", "signing key", new["kid"])]
    assert AuditEvent.objects.get().changes == {"immediately": [None, False]}


def test_rotating_immediately_signs_with_the_new_key_at_once(
        api: Api, token_for: Callable[..., str]) -> None:
    response = api.post(f"{KEYS}/rotate", {"immediately": True})
    assert response.status_code == 201, response.content
    [new] = response.json()
    assert new["state"] == "signing"
    assert kid_of(token_for()) == new["kid"]


@pytest.mark.parametrize("body", [{"immediately": "yes"}, {"immediately": 1},
                                  {"immediately": None}, [], "true"])
def test_rotating_with_a_non_boolean_is_refused(api: Api, body: Any) -> None:
    before = SigningKey.objects.count()
    response = api.post(f"{KEYS}/rotate", body)
    assert response.status_code == 400, response.content
    assert SigningKey.objects.count() == before and not AuditEvent.objects.exists()


def test_rotating_with_bad_json_is_refused(api: Api) -> None:
    response = api.http.post(f"{KEYS}/rotate", "{not json", content_type="application/json",
                             HTTP_AUTHORIZATION=f"Bearer {api.token}")
    assert response.status_code == 400 and "JSON" in response.json()["detail"]


def test_a_revoked_key_is_refused_at_once_by_a_process_that_did_not_revoke_it(
        api: Api, browser: HttpClient, token_for: Callable[..., str], other_process: Any) -> None:
    tokens = sign_in_for_tokens(browser)
    stolen = kid_of(tokens["access_token"])
    assert _active(browser, tokens["access_token"])

    response = api.post(f"{KEYS}/{stolen}/revoke")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["revoked"]["kid"] == stolen and body["revoked"]["state"] == "revoked"
    [new] = body["replacements"]
    assert new["state"] == "signing"
    # This process's key ring re-reads the keys at its next request (configuration generation).
    assert introspect(browser, tokens["access_token"]).json() == {"active": False}
    assert {k["kid"] for k in browser.get(JWKS).json()["keys"]} == {new["kid"]}
    assert kid_of(sign_in_for_tokens(browser)["access_token"]) == new["kid"]
    # The API's own token was signed by the revoked key too.
    assert api.get(KEYS).status_code == 401
    assert _events(target_type="signing key") == [
        ("client:automation", "revoke", "signing key", stolen),
        ("client:automation", "create", "signing key", new["kid"])]
    again = Api(api.http, token_for()).post(f"{KEYS}/{stolen}/revoke")
    assert again.status_code == 409 and "revoked at" in again.json()["detail"]


def test_revoking_an_announced_key_keeps_the_signing_key(api: Api) -> None:
    signing = _signing_kid()
    [announced] = api.post(f"{KEYS}/rotate", {}).json()
    response = api.post(f"{KEYS}/{announced['kid']}/revoke")
    assert response.status_code == 200 and response.json()["replacements"] == []
    assert _signing_kid() == signing
    assert api.get(KEYS).status_code == 200  # signed by the key still signing


def test_revoking_honours_if_match(api: Api) -> None:
    [announced] = api.post(f"{KEYS}/rotate", {}).json()
    path = f"{KEYS}/{announced['kid']}"
    tag = api.get(path)["ETag"]
    stale = api.post(f"{path}/revoke", None, if_match='"0123456789abcdef0123456789abcdef"')
    assert stale.status_code == 412
    assert SigningKey.objects.get(kid=announced["kid"]).revoked_at is None
    assert api.post(f"{path}/revoke", None, if_match=tag).status_code == 200


def test_revoking_an_unknown_key_is_404(api: Api) -> None:
    assert api.post(f"{KEYS}/no-such-kid/revoke").status_code == 404
    assert api.post(f"{KEYS}/bad%00kid/revoke").status_code == 404
    assert not AuditEvent.objects.exists()


def test_signing_keys_cannot_be_created_changed_or_deleted(api: Api) -> None:
    kid = _signing_kid()
    assert api.post(KEYS, {"kid": "x"}).status_code == 405
    assert api.put(f"{KEYS}/{kid}", {"algorithm": "ES256"}).status_code == 405
    assert api.patch(f"{KEYS}/{kid}", {"algorithm": "ES256"}).status_code == 405
    assert api.delete(f"{KEYS}/{kid}").status_code == 405
    assert SigningKey.objects.get(kid=kid).revoked_at is None


# --- persisted grants ----------------------------------------------------------------------------


def test_grants_are_listed_and_filtered_without_their_data(api: Api) -> None:
    _grant("g1", subject="alice-sub", client_id="app-a")
    _grant("g2", subject="bob-sub", client_id="app-a", type="authorization_code")
    _grant("g3", subject="alice-sub", client_id="app-b")
    response = api.get(GRANTS)
    assert {g["key"] for g in _results(response)} == {"g1", "g2", "g3"}
    assert CLAIMS_SENTINEL.encode() not in response.content and b'"data"' not in response.content
    assert set(_results(response)[0]) == {"key", "type", "client_id", "subject_id",
                                          "session_id", "family", "created", "expires",
                                          "consumed"}
    assert {g["key"] for g in _results(api.get(f"{GRANTS}?subject_id=alice-sub"))} == {
        "g1", "g3"}
    assert {g["key"] for g in _results(api.get(f"{GRANTS}?client_id=app-a&type=refresh_token"))
            } == {"g1"}
    one = api.get(f"{GRANTS}/g2")
    assert one.status_code == 200 and one.json()["type"] == "authorization_code"
    assert CLAIMS_SENTINEL.encode() not in one.content
    assert api.get(f"{GRANTS}/nope").status_code == 404


@pytest.mark.parametrize("query, field", [
    ("type=bearer", "type"), ("subject=alice-sub", "subject"), ("subject_id=", "subject_id"),
    ("client_id=" + "x" * 201, "client_id"), ("subject_id=a%00b", "subject_id")])
def test_bad_grant_filters_are_refused(api: Api, query: str, field: str) -> None:
    response = api.get(f"{GRANTS}?{query}")
    assert response.status_code == 400 and field in response.json()


def test_a_refresh_token_revoked_by_the_api_no_longer_refreshes_and_its_tokens_are_refused(
        api: Api, browser: HttpClient, alice: Any) -> None:
    tokens = sign_in_for_tokens(browser)
    key = _handle_key(tokens["refresh_token"])
    listed = _results(api.get(f"{GRANTS}?subject_id={alice.pk}&type=refresh_token"))
    assert [g["key"] for g in listed] == [key]
    assert _active(browser, tokens["access_token"])

    assert api.delete(f"{GRANTS}/{key}").status_code == 204

    refreshed = refresh(browser, tokens["refresh_token"])
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    assert introspect(browser, tokens["access_token"]).json() == {"active": False}
    assert _events() == [("client:automation", "revoke", "grant", key)]
    changes = AuditEvent.objects.get().changes
    assert changes["type"] == ["refresh_token", None] and changes["subject_id"][0] == str(alice.pk)
    assert api.delete(f"{GRANTS}/{key}").status_code == 404


@pytest.mark.parametrize("selected, expected_left", [
    ("code-1", {"code-2", "rt-2"}),
    ("rt-1", {"code-1", "code-2", "rt-2"}),
    ("at-1", {"code-1", "code-2", "rt-2"}),
])
def test_revoking_a_grant_revokes_its_family_as_the_admin_does(
        api: Api, selected: str, expected_left: set[str]) -> None:
    _grant("code-1", type="authorization_code")
    _grant("rt-1", family="code-1")
    _grant("at-1", type="reference_token", family="code-1")
    _grant("code-2", type="authorization_code")
    _grant("rt-2", family="code-2")
    assert api.delete(f"{GRANTS}/{selected}").status_code == 204
    assert set(PersistedGrant.objects.values_list("key", flat=True)) == expected_left


def test_revoking_the_record_of_an_issued_jwt_puts_that_jwt_on_the_deny_list(
        api: Api, browser: HttpClient) -> None:
    tokens = sign_in_for_tokens(browser)
    jti = jwt.decode(tokens["access_token"], options={"verify_signature": False})["jti"]
    record = PersistedGrant.objects.get(type="issued_jti")
    assert record.key == issued_jti_key(jti)
    assert api.delete(f"{GRANTS}/{record.key}").status_code == 204
    # Its family went first, while the record still named the JWT for the deny list.
    assert introspect(browser, tokens["access_token"]).json() == {"active": False}
    assert refresh(browser, tokens["refresh_token"]).status_code == 400


def test_a_deny_list_entry_is_never_deleted(api: Api) -> None:
    _grant("jti:deadbeef", type="revoked_jti")
    response = api.delete(f"{GRANTS}/jti:deadbeef")
    assert response.status_code == 400 and "deny-list" in response.json()["key"][0]
    assert PersistedGrant.objects.filter(key="jti:deadbeef").exists()
    assert not AuditEvent.objects.exists()


def test_revoking_every_grant_of_a_user_refuses_their_tokens_and_keeps_the_deny_list(
        api: Api, browser: HttpClient, alice: Any) -> None:
    tokens = sign_in_for_tokens(browser)
    _grant("jti:old", type="revoked_jti", subject=str(alice.pk), client_id="interactive")
    _grant("other-user", subject="bob-sub", client_id="interactive")
    response = api.post(f"{GRANTS}/revoke", {"subject_id": str(alice.pk),
                                             "client_id": "interactive"})
    assert response.status_code == 200, response.content
    assert response.json()["revoked"] >= 2  # the code, its refresh token, its JWT's record
    left = PersistedGrant.objects.filter(subject_id=str(alice.pk)).exclude(type="revoked_jti")
    assert not left.exists()
    assert PersistedGrant.objects.filter(key__in=["jti:old", "other-user"]).count() == 2
    assert introspect(browser, tokens["access_token"]).json() == {"active": False}
    assert refresh(browser, tokens["refresh_token"]).status_code == 400
    assert _events() == [("client:automation", "revoke", "grant",
                          f"client_id=interactive subject_id={alice.pk}")]


def test_revoking_every_grant_of_a_client(api: Api) -> None:
    _grant("a1", client_id="app-a", subject="s1")
    _grant("a2", client_id="app-a", subject="s2")
    _grant("b1", client_id="app-b", subject="s1")
    response = api.post(f"{GRANTS}/revoke", {"client_id": "app-a"})
    assert response.status_code == 200 and response.json() == {"revoked": 2}
    assert set(PersistedGrant.objects.values_list("key", flat=True)) == {"b1"}


@pytest.mark.parametrize("body", [{}, {"subject_id": ""}, {"client_id": None}, [],
                                  {"subject_id": "x" * 201}, {"subject_id": "a\x00b"}])
def test_a_bulk_revocation_must_name_whose_grants(api: Api, body: Any) -> None:
    _grant("g1")
    response = api.post(f"{GRANTS}/revoke", body)
    assert response.status_code == 400, response.content
    assert PersistedGrant.objects.filter(key="g1").exists()


def test_grants_cannot_be_created_or_changed(api: Api) -> None:
    _grant("g1")
    assert api.post(GRANTS, {"key": "g2"}).status_code == 405
    assert api.put(f"{GRANTS}/g1", {"type": "x"}).status_code == 405
    assert api.patch(f"{GRANTS}/g1", {"type": "x"}).status_code == 405


# --- consents ------------------------------------------------------------------------------------


def test_consents_are_listed_filtered_and_read(api: Api) -> None:
    first = _consent("s1", "app-a")
    _consent("s1", "app-b")
    _consent("s2", "app-a")
    assert len(_results(api.get(CONSENTS))) == 3
    listed = _results(api.get(f"{CONSENTS}?subject_id=s1&client_id=app-a"))
    assert listed == [{"id": first.pk, "subject_id": "s1", "client_id": "app-a",
                       "scopes": ["openid", "api1"], "created": listed[0]["created"],
                       "expires": None}]
    assert api.get(f"{CONSENTS}/{first.pk}").json() == listed[0]
    assert api.get(f"{CONSENTS}?scope=api1").status_code == 400
    assert api.get(f"{CONSENTS}/999999").status_code == 404
    assert api.get(f"{CONSENTS}/99999999999999999999999").status_code == 404
    assert api.get(f"{CONSENTS}/abc").status_code == 404


def test_revoking_a_consent_revokes_the_users_tokens_for_the_client(
        api: Api, browser: HttpClient, alice: Any) -> None:
    tokens = sign_in_for_tokens(browser)
    consent = _consent(str(alice.pk), "interactive")
    kept = _consent(str(alice.pk), "other-app")

    assert api.delete(f"{CONSENTS}/{consent.pk}").status_code == 204

    assert list(Consent.objects.all()) == [kept]
    assert introspect(browser, tokens["access_token"]).json() == {"active": False}
    assert refresh(browser, tokens["refresh_token"]).status_code == 400
    assert _events() == [("client:automation", "revoke", "consent",
                          f"{alice.pk} -> interactive")]
    assert AuditEvent.objects.get().changes["scopes"] == [["openid", "api1"], None]
    assert api.delete(f"{CONSENTS}/{consent.pk}").status_code == 404


def test_consents_cannot_be_created_or_changed(api: Api) -> None:
    consent = _consent()
    assert api.post(CONSENTS, {"subject_id": "s"}).status_code == 405
    assert api.put(f"{CONSENTS}/{consent.pk}", {"scopes": []}).status_code == 405
    assert api.patch(f"{CONSENTS}/{consent.pk}", {"scopes": []}).status_code == 405


# --- the audit trail -----------------------------------------------------------------------------


def test_audit_events_are_listed_filtered_and_read_only(api: Api) -> None:
    _grant("g1", client_id="app-a")
    api.delete(f"{GRANTS}/g1")
    api.post(f"{KEYS}/rotate", {})
    events = _results(api.get(EVENTS))
    assert [(e["target_type"], e["action"]) for e in events] == [
        ("signing key", "rotate"), ("grant", "revoke")]  # newest first
    [grant] = _results(api.get(f"{EVENTS}?target_type=grant&target=g1&actor=client:automation"))
    assert grant["via"] == "api" and grant["changes"]["client_id"] == ["app-a", None]
    assert _results(api.get(f"{EVENTS}?actor=user:operator")) == []
    assert api.get(f"{EVENTS}?kind=grant").status_code == 400
    assert api.get(f"{EVENTS}/{grant['id']}").json() == grant
    assert api.post(EVENTS, {"action": "x"}).status_code == 405
    assert api.put(f"{EVENTS}/{grant['id']}", {"action": "x"}).status_code == 405
    assert api.patch(f"{EVENTS}/{grant['id']}", {"action": "x"}).status_code == 405
    assert api.delete(f"{EVENTS}/{grant['id']}").status_code == 405
    assert AuditEvent.objects.count() == 2


# --- who may do what -----------------------------------------------------------------------------


def test_without_a_token_every_operation_is_401(client: HttpClient, api_seeded: None) -> None:
    anonymous = Api(client, None)
    for response in (anonymous.get(KEYS), anonymous.post(f"{KEYS}/rotate", {}),
                     anonymous.get(GRANTS), anonymous.post(f"{GRANTS}/revoke", {"client_id": "a"}),
                     anonymous.get(CONSENTS), anonymous.get(EVENTS)):
        assert response.status_code == 401
        assert response["WWW-Authenticate"].startswith("Bearer ")
    assert not AuditEvent.objects.exists()


def test_the_read_scope_lists_but_never_writes(token_for: Callable[..., str],
                                               client: HttpClient) -> None:
    reader = Api(client, token_for(READ))
    kid = _signing_kid()
    _grant("g1")
    consent = _consent()
    for path in (KEYS, f"{KEYS}/{kid}", GRANTS, f"{GRANTS}/g1", CONSENTS, EVENTS):
        assert reader.get(path).status_code == 200, path
    for response in (reader.post(f"{KEYS}/rotate", {}), reader.post(f"{KEYS}/{kid}/revoke"),
                     reader.delete(f"{GRANTS}/g1"),
                     reader.post(f"{GRANTS}/revoke", {"client_id": "app"}),
                     reader.delete(f"{CONSENTS}/{consent.pk}")):
        assert response.status_code == 403
        assert "identity.manage" in response.json()["detail"]
    assert SigningKey.objects.count() == 1 and PersistedGrant.objects.count() == 1
    assert Consent.objects.count() == 1 and not AuditEvent.objects.exists()


def test_a_view_only_staff_user_lists_but_never_writes(staff: Callable[..., Api]) -> None:
    viewer = staff(*VIEW_ALL)
    kid = _signing_kid()
    _grant("g1")
    consent = _consent()
    for path in (KEYS, f"{KEYS}/{kid}", GRANTS, CONSENTS, EVENTS):
        assert viewer.get(path).status_code == 200, path
    for response in (viewer.post(f"{KEYS}/rotate", {}), viewer.post(f"{KEYS}/{kid}/revoke"),
                     viewer.delete(f"{GRANTS}/g1"),
                     viewer.post(f"{GRANTS}/revoke", {"client_id": "app"}),
                     viewer.delete(f"{CONSENTS}/{consent.pk}")):
        assert response.status_code == 403
    assert SigningKey.objects.count() == 1 and PersistedGrant.objects.count() == 1
    assert Consent.objects.count() == 1 and not AuditEvent.objects.exists()


def test_each_list_needs_its_view_permission(staff: Callable[..., Api]) -> None:
    nobody = staff()
    for path in (KEYS, GRANTS, CONSENTS, EVENTS):
        assert nobody.get(path).status_code == 403, path


def test_staff_with_the_permissions_rotate_and_revoke_keys(staff: Callable[..., Api]) -> None:
    _signing_kid()  # the first key, made at first use
    rotator = staff("identity.add_signingkey")
    response = rotator.post(f"{KEYS}/rotate", {"immediately": False})
    assert response.status_code == 201, response.content
    new = response.json()[0]["kid"]
    # Adding keys is not revoking them: that is a permission of its own.
    assert rotator.post(f"{KEYS}/{new}/revoke").status_code == 403
    revoker = staff("identity.revoke_signingkey", username="revoker")
    assert revoker.post(f"{KEYS}/{new}/revoke").status_code == 200
    assert _events() == [("user:operator", "rotate", "signing key", new),
                         ("user:revoker", "revoke", "signing key", new)]


def test_staff_with_the_delete_permissions_revoke_grants_and_consents(
        staff: Callable[..., Api]) -> None:
    operator = staff("identity.delete_persistedgrant", "identity.delete_consent")
    _grant("g1", client_id="app-a")
    _grant("g2", client_id="app-b")
    consent = _consent()
    assert operator.delete(f"{GRANTS}/g1").status_code == 204
    response = operator.post(f"{GRANTS}/revoke", {"client_id": "app-b"})
    assert response.status_code == 200 and response.json() == {"revoked": 1}
    assert operator.delete(f"{CONSENTS}/{consent.pk}").status_code == 204
    assert not PersistedGrant.objects.exists() and not Consent.objects.exists()
    assert _events() == [("user:operator", "revoke", "grant", "g1"),
                         ("user:operator", "revoke", "grant", "client_id=app-b"),
                         ("user:operator", "revoke", "consent", "s1 -> app")]


# --- the schema ----------------------------------------------------------------------------------


def test_the_schema_describes_the_operations(api: Api) -> None:
    response = api.get("/api/schema?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path, methods in {
            "/api/signing-keys/": {"get"}, "/api/signing-keys/{kid}/": {"get"},
            "/api/signing-keys/rotate/": {"post"}, "/api/signing-keys/{kid}/revoke/": {"post"},
            "/api/grants/": {"get"}, "/api/grants/{key}/": {"get", "delete"},
            "/api/grants/revoke/": {"post"}, "/api/consents/": {"get"},
            "/api/consents/{id}/": {"get", "delete"}, "/api/audit-events/": {"get"},
            "/api/audit-events/{id}/": {"get"}}.items():
        assert set(paths[path]) - {"parameters"} == methods, path
    rotate = paths["/api/signing-keys/rotate/"]["post"]
    body = rotate["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schemas = response.json()["components"]["schemas"]
    assert schemas[body.rsplit("/", 1)[1]]["properties"]["immediately"]["type"] == "boolean"
    assert "private_key" not in schemas["SigningKey"]["properties"]
    assert "data" not in schemas["Grant"]["properties"]
    grant_filters = {p["name"] for p in paths["/api/grants/"]["get"]["parameters"]}
    assert {"subject_id", "client_id", "type"} <= grant_filters



def test_deleting_a_client_forgets_its_grants_and_consents_but_not_the_deny_list(
        api: Api, browser: HttpClient) -> None:
    tokens = sign_in_for_tokens(browser)
    _grant("jti:revoked-before", type="revoked_jti", client_id="interactive")
    Consent.objects.create(subject_id="s1", client_id="interactive", scopes=["openid"],
                           created=clock.now())
    assert PersistedGrant.objects.filter(client_id="interactive").count() > 1
    assert api.delete("/api/clients/interactive").status_code == 204
    left = PersistedGrant.objects.filter(client_id="interactive")
    assert list(left.values_list("key", flat=True)) == ["jti:revoked-before"]
    assert not Consent.objects.filter(client_id="interactive").exists()
    assert introspect(browser, tokens["access_token"]).json() == {"active": False}
    event = AuditEvent.objects.get(action="delete", target="interactive")
    assert event.changes["consents"] == [1, 0] and event.changes["grants"][0] >= 2
