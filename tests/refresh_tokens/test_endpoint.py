"""The refresh token grant at /connect/token (RFC 6749 §6, RFC 9700 §4.14.2, OpenID Connect
Core §12.2)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest

# Connects the user_logged_in receiver that records auth_time and sid; the URLconf imports it
# too, but a test may sign in before its first request resolves a URL.
import identity.http.session  # noqa: F401
from identity import clock
from identity.constants import TokenExpiration, TokenUsage
from identity.models import PersistedGrant
from tests.factories import make_interactive_client
from tests.helpers.calls import post_token, refresh
from tests.helpers.flow import REDIRECT, get_code, login, sign_in_for_tokens, verified_claims
from tests.helpers.pkce import Pkce
from tests.helpers.seeding import seed
from tests.helpers.tokens import at_hash as _at_hash

pytestmark = pytest.mark.django_db

INVALID_GRANT = "invalid_grant"


def _error(response) -> str:
    return response.json()["error"]


def _row(token: str) -> PersistedGrant:
    return PersistedGrant.objects.get(key=hashlib.sha256(token.encode()).hexdigest())


def _ok(response) -> dict:
    assert response.status_code == 200, response.content
    return response.json()


def _refused(response, error: str = INVALID_GRANT) -> None:
    assert response.status_code == 400, response.content
    assert _error(response) == error


def _seed_with_api_claims(*clients) -> None:
    """Seed clients and an api1 whose tokens carry the user's email (IdentityServer UserClaims)."""
    from identity.domain.resources import ApiResource

    seed(clients or (make_interactive_client(),), api_resources=(
        ApiResource(name="api1", scopes=("api1",), user_claims=("email",)),
        ApiResource(name="api2", scopes=("api2.read_only",))))


# --- rotation and reuse detection (OneTimeOnly, the default) -----------------------------------


def test_each_refresh_rotates_the_refresh_token(client, seeded, alice) -> None:
    seeded()
    token = sign_in_for_tokens(client)["refresh_token"]
    seen = {token}
    for _ in range(3):
        body = _ok(refresh(client, token))
        assert body["refresh_token"] not in seen
        assert _row(token).consumed is not None
        token = body["refresh_token"]
        seen.add(token)
    assert _row(token).consumed is None


def test_reusing_a_rotated_token_is_refused_and_revokes_the_whole_family(client, seeded,
                                                                         alice) -> None:
    seeded()
    first = sign_in_for_tokens(client)["refresh_token"]
    second = _ok(refresh(client, first))["refresh_token"]
    newest = _ok(refresh(client, second))["refresh_token"]
    _refused(refresh(client, first))
    _refused(refresh(client, newest))
    _refused(refresh(client, second))
    assert not PersistedGrant.objects.filter(type="refresh_token").exists()


def test_reuse_revokes_only_its_own_family(client, seeded, alice) -> None:
    seeded()
    mine = sign_in_for_tokens(client)["refresh_token"]
    other_sign_in = sign_in_for_tokens(client)["refresh_token"]
    _ok(refresh(client, mine))
    _refused(refresh(client, mine))
    _ok(refresh(client, other_sign_in))


def test_reuse_within_the_grace_period_succeeds_without_revoking(client, seeded, alice,
                                                                 identity_config) -> None:
    identity_config(REFRESH_TOKEN_REUSE_GRACE=30)
    seeded()
    first = sign_in_for_tokens(client)["refresh_token"]
    winner = _ok(refresh(client, first))["refresh_token"]
    again = _ok(refresh(client, first))["refresh_token"]
    assert again != winner
    _ok(refresh(client, winner))
    _ok(refresh(client, again))


def test_reuse_after_the_grace_period_revokes_the_family(client, seeded, alice,
                                                         identity_config, monkeypatch) -> None:
    identity_config(REFRESH_TOKEN_REUSE_GRACE=30)
    seeded()
    first = sign_in_for_tokens(client)["refresh_token"]
    winner = _ok(refresh(client, first))["refresh_token"]
    later = _row(first).consumed + timedelta(seconds=31)
    monkeypatch.setattr(clock, "now", lambda: later)
    _refused(refresh(client, first))
    _refused(refresh(client, winner))


def test_without_grace_an_immediate_reuse_revokes_the_family(client, seeded, alice) -> None:
    seeded()
    first = sign_in_for_tokens(client)["refresh_token"]
    winner = _ok(refresh(client, first))["refresh_token"]
    _refused(refresh(client, first))
    _refused(refresh(client, winner))


# --- ReUse --------------------------------------------------------------------------------------


def test_reuse_usage_returns_the_same_token_which_keeps_working(client, seeded, alice) -> None:
    seeded(make_interactive_client(refresh_token_usage=TokenUsage.ReUse))
    token = sign_in_for_tokens(client)["refresh_token"]
    access_tokens = set()
    for _ in range(3):
        body = _ok(refresh(client, token))
        assert body["refresh_token"] == token
        access_tokens.add(body["access_token"])
    assert len(access_tokens) == 3
    assert _row(token).consumed is None
    assert PersistedGrant.objects.filter(type="refresh_token").count() == 1


def test_reuse_usage_with_sliding_expiration_moves_the_tokens_expiry(client, seeded, alice,
                                                                    monkeypatch) -> None:
    seeded(make_interactive_client(refresh_token_usage=TokenUsage.ReUse,
                                   refresh_token_expiration=TokenExpiration.Sliding,
                                   sliding_refresh_token_lifetime=300,
                                   absolute_refresh_token_lifetime=3600))
    token = sign_in_for_tokens(client)["refresh_token"]
    created = _row(token).created
    later = created + timedelta(seconds=200)
    monkeypatch.setattr(clock, "now", lambda: later)
    _ok(refresh(client, token))
    assert abs(_row(token).expires - (later + timedelta(seconds=300))) < timedelta(seconds=1)


# --- lifetimes ----------------------------------------------------------------------------------


def test_refresh_token_row_expires_after_the_absolute_lifetime(client, seeded, alice) -> None:
    seeded(make_interactive_client(absolute_refresh_token_lifetime=7200))
    row = _row(sign_in_for_tokens(client)["refresh_token"])
    assert row.expires - row.created == timedelta(seconds=7200)


def test_refresh_token_past_its_absolute_expiry_is_refused(client, seeded, alice) -> None:
    seeded()
    token = sign_in_for_tokens(client)["refresh_token"]
    PersistedGrant.objects.filter(key=_row(token).key).update(
        expires=clock.now() - timedelta(seconds=1))
    _refused(refresh(client, token))


def test_rotation_keeps_the_absolute_expiry_of_the_first_token(client, seeded, alice,
                                                               monkeypatch) -> None:
    seeded(make_interactive_client(absolute_refresh_token_lifetime=1000))
    first = sign_in_for_tokens(client)["refresh_token"]
    expiry = _row(first).expires
    later = _row(first).created + timedelta(seconds=600)
    monkeypatch.setattr(clock, "now", lambda: later)
    second = _ok(refresh(client, first))["refresh_token"]
    assert abs(_row(second).expires - expiry) < timedelta(seconds=1)
    beyond = expiry + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: beyond)
    _refused(refresh(client, second))


def _sliding(sliding: int, absolute: int):
    return make_interactive_client(refresh_token_expiration=TokenExpiration.Sliding,
                                   sliding_refresh_token_lifetime=sliding,
                                   absolute_refresh_token_lifetime=absolute)


def _near(actual: datetime, expected: datetime) -> bool:
    return abs(actual - expected) < timedelta(seconds=2)


def test_sliding_token_expires_a_sliding_lifetime_after_each_refresh(client, seeded, alice,
                                                                     monkeypatch) -> None:
    seeded(_sliding(300, 3600))
    first = sign_in_for_tokens(client)["refresh_token"]
    start = _row(first).created
    assert _near(_row(first).expires, start + timedelta(seconds=300))
    later = start + timedelta(seconds=200)
    monkeypatch.setattr(clock, "now", lambda: later)
    second = _ok(refresh(client, first))["refresh_token"]
    assert _near(_row(second).expires, later + timedelta(seconds=300))


def test_sliding_expiry_never_goes_beyond_the_absolute_expiry(client, seeded, alice,
                                                              monkeypatch) -> None:
    seeded(_sliding(300, 500))
    first = sign_in_for_tokens(client)["refresh_token"]
    start = _row(first).created
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(seconds=100))
    second = _ok(refresh(client, first))["refresh_token"]
    assert _near(_row(second).expires, start + timedelta(seconds=400))  # sliding
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(seconds=350))
    third = _ok(refresh(client, second))["refresh_token"]
    assert _near(_row(third).expires, start + timedelta(seconds=500))  # absolute, not 650
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(seconds=501))
    _refused(refresh(client, third))


def test_sliding_token_not_used_within_its_sliding_lifetime_is_refused(client, seeded, alice,
                                                                       monkeypatch) -> None:
    seeded(_sliding(300, 3600))
    first = sign_in_for_tokens(client)["refresh_token"]
    late = _row(first).created + timedelta(seconds=301)
    monkeypatch.setattr(clock, "now", lambda: late)
    _refused(refresh(client, first))


# --- scope --------------------------------------------------------------------------------------


def test_scope_may_be_narrowed(client, seeded, alice) -> None:
    seeded()
    token = sign_in_for_tokens(client)["refresh_token"]
    body = _ok(refresh(client, token, scope="openid api1"))
    claims = verified_claims(client, body["access_token"])
    assert set(claims["scope"].split()) == {"openid", "api1", "offline_access"}
    assert set(body["scope"].split()) == {"openid", "api1", "offline_access"}
    assert claims["aud"] == "api1"


def test_narrowing_away_openid_issues_no_id_token(client, seeded, alice) -> None:
    seeded()
    token = sign_in_for_tokens(client)["refresh_token"]
    body = _ok(refresh(client, token, scope="api1"))
    assert "id_token" not in body and "refresh_token" in body
    assert set(body["scope"].split()) == {"api1", "offline_access"}


def test_narrowing_does_not_shrink_the_scope_of_the_rotated_refresh_token(client, seeded,
                                                                          alice) -> None:
    seeded()
    token = sign_in_for_tokens(client)["refresh_token"]
    narrowed = _ok(refresh(client, token, scope="openid api1"))["refresh_token"]
    body = _ok(refresh(client, narrowed))
    assert set(body["scope"].split()) == {"openid", "profile", "email", "api1",
                                          "offline_access"}


@pytest.mark.parametrize("scope", ["openid api2.read_only", "openid api1 phone", "api3"])
def test_scope_cannot_be_widened(client, seeded, alice, scope) -> None:
    seeded()
    token = sign_in_for_tokens(client, scope="openid profile api1 offline_access")[
        "refresh_token"]
    _refused(refresh(client, token, scope=scope), "invalid_scope")


def test_a_refused_widening_leaves_the_refresh_token_usable(client, seeded, alice) -> None:
    seeded()
    token = sign_in_for_tokens(client, scope="openid api1 offline_access")["refresh_token"]
    _refused(refresh(client, token, scope="openid api2.read_only"), "invalid_scope")
    _ok(refresh(client, token))


# --- binding to client, client settings and user ------------------------------------------------


def test_refresh_token_of_another_client_is_invalid_grant(client, seeded, alice) -> None:
    seeded(make_interactive_client(), make_interactive_client("other"))
    token = sign_in_for_tokens(client)["refresh_token"]
    _refused(refresh(client, token, auth=("other", "secret")))
    _ok(refresh(client, token))  # neither consumed nor revoked by the attempt


def test_client_whose_offline_access_was_switched_off_is_unauthorized(client, seeded,
                                                                      alice) -> None:
    seeded()
    token = sign_in_for_tokens(client)["refresh_token"]
    seeded(make_interactive_client(allow_offline_access=False))
    _refused(refresh(client, token), "unauthorized_client")


def test_deactivated_user_cannot_refresh(client, seeded, alice) -> None:
    seeded()
    token = sign_in_for_tokens(client)["refresh_token"]
    alice.is_active = False
    alice.save()
    _refused(refresh(client, token))


def test_deleted_user_cannot_refresh(client, seeded, alice) -> None:
    seeded()
    token = sign_in_for_tokens(client)["refresh_token"]
    alice.delete()
    _refused(refresh(client, token))


@pytest.mark.parametrize("token", ["", "garbage", "x" * 43])
def test_unknown_or_missing_refresh_token_is_refused(client, seeded, token) -> None:
    seeded()
    response = post_token(client, {"grant_type": "refresh_token", "refresh_token": token})
    assert response.status_code == 400
    assert _error(response) == ("invalid_request" if not token else INVALID_GRANT)


def test_authorization_code_cannot_be_used_as_a_refresh_token(client, seeded, alice) -> None:
    seeded()
    login(client)
    code = get_code(client, Pkce.new())
    _refused(refresh(client, code))


def test_confidential_client_must_authenticate_to_refresh(client, seeded, alice) -> None:
    seeded()
    token = sign_in_for_tokens(client)["refresh_token"]
    response = post_token(client, {"grant_type": "refresh_token", "refresh_token": token,
                                   "client_id": "interactive"}, auth=None)
    assert response.status_code == 401 and _error(response) == "invalid_client"
    _ok(refresh(client, token))


def test_public_client_refreshes_with_its_client_id(client, seeded, alice) -> None:
    seeded(make_interactive_client("spa", client_secrets=(), require_client_secret=False))
    login(client)
    pkce = Pkce.new()
    code = get_code(client, pkce, client_id="spa")
    body = _ok(post_token(client, {
        "grant_type": "authorization_code", "code": code, "code_verifier": pkce.verifier,
        "redirect_uri": REDIRECT, "client_id": "spa"}, auth=None))
    token = body["refresh_token"]
    again = _ok(post_token(client, {"grant_type": "refresh_token", "refresh_token": token,
                                    "client_id": "spa"}, auth=None))
    assert again["refresh_token"] != token


# --- access token claims on refresh (IdentityServer UpdateAccessTokenClaimsOnRefresh) -----------


def test_access_token_carries_the_user_claims_its_api_asks_for(client, alice) -> None:
    _seed_with_api_claims()
    body = sign_in_for_tokens(client)
    assert verified_claims(client, body["access_token"])["email"] == "alice@example.com"
    without_api = sign_in_for_tokens(client, scope="openid profile offline_access")
    assert "email" not in verified_claims(client, without_api["access_token"])


def test_refresh_keeps_the_claims_of_the_first_issue_by_default(client, alice) -> None:
    _seed_with_api_claims()
    token = sign_in_for_tokens(client)["refresh_token"]
    alice.email = "alice@new.example.com"
    alice.save()
    body = _ok(refresh(client, token))
    assert verified_claims(client, body["access_token"])["email"] == "alice@example.com"
    body = _ok(refresh(client, body["refresh_token"]))
    assert verified_claims(client, body["access_token"])["email"] == "alice@example.com"


def test_refresh_reads_the_claims_again_when_the_client_asks(client, alice) -> None:
    _seed_with_api_claims(make_interactive_client(update_access_token_claims_on_refresh=True))
    token = sign_in_for_tokens(client)["refresh_token"]
    alice.email = "alice@new.example.com"
    alice.save()
    body = _ok(refresh(client, token))
    assert verified_claims(client, body["access_token"])["email"] == "alice@new.example.com"


def test_narrowing_away_an_api_drops_the_claims_that_api_asked_for(client, alice) -> None:
    _seed_with_api_claims()
    token = sign_in_for_tokens(client)["refresh_token"]
    body = _ok(refresh(client, token, scope="openid profile"))
    claims = verified_claims(client, body["access_token"])
    assert "api1" not in str(claims["aud"])
    assert "email" not in claims


# --- ID token on refresh (OpenID Connect Core §12.2) --------------------------------------------


def test_refresh_issues_a_new_id_token_without_nonce(client, seeded, alice,
                                                     monkeypatch) -> None:
    seeded()
    first = sign_in_for_tokens(client)
    original = verified_claims(client, first["id_token"])
    assert original["nonce"] == "n-456"
    later = clock.now() + timedelta(seconds=120)
    monkeypatch.setattr(clock, "now", lambda: later)
    body = _ok(refresh(client, first["refresh_token"]))
    claims = verified_claims(client, body["id_token"], leeway=300)
    assert "nonce" not in claims
    assert claims["iat"] - original["iat"] >= 119  # a new token, not the first one again
    assert claims["iss"] == original["iss"] and claims["sub"] == original["sub"] == str(alice.pk)
    assert claims["aud"] == "interactive"
    assert claims["auth_time"] == original["auth_time"]
    assert claims["sid"] == original["sid"] and claims["amr"] == ["pwd"]
    assert claims["at_hash"] == _at_hash(body["access_token"])


def test_refresh_id_token_uses_the_pairwise_subject(client, seeded, alice) -> None:
    seeded(make_interactive_client(pair_wise_subject_salt="salt-one"))
    first = sign_in_for_tokens(client)
    body = _ok(refresh(client, first["refresh_token"]))
    original = verified_claims(client, first["id_token"])["sub"]
    assert verified_claims(client, body["id_token"])["sub"] == original != str(alice.pk)


def test_refresh_access_token_keeps_the_user_and_session(client, seeded, alice) -> None:
    seeded()
    first = sign_in_for_tokens(client)
    body = _ok(refresh(client, first["refresh_token"]))
    before = verified_claims(client, first["access_token"])
    after = verified_claims(client, body["access_token"], typ="at+jwt")
    for name in ("sub", "client_id", "auth_time", "sid", "scope", "aud"):
        assert after[name] == before[name], name
    assert after["jti"] != before["jti"]


def test_no_id_token_on_refresh_when_openid_was_not_granted(client, seeded, alice) -> None:
    seeded()
    token = sign_in_for_tokens(client, scope="api1 offline_access", nonce=None)["refresh_token"]
    body = _ok(refresh(client, token))
    assert "id_token" not in body and body["refresh_token"]
