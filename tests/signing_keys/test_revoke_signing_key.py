"""`manage.py revoke_signing_key` against the database and the endpoints: a stolen key stops
working at once on a server process that did not run the command, and a new key signs.

The command runs with its own key ring (another process, as in production); the server's ring,
which would not re-read the keys for KEY_REFRESH_INTERVAL (60 s), must see the revocation at its
next request through the configuration generation.
"""

from __future__ import annotations

import io
from datetime import timedelta

import jwt
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

# Connects the user_logged_in receiver that records auth_time and sid.
import identity.http.session  # noqa: F401
from identity import clock
from identity.errors import InvalidToken
from identity.management.commands import revoke_signing_key as command_module
from identity.models import SigningKey
from identity.stores import registry as key_ring_module
from identity.tokens.jwt import sign
from identity.tokens.verification import decode_own_jwt
from tests.helpers.calls import introspect
from tests.helpers.calls import userinfo as _userinfo
from tests.helpers.flow import sign_in_for_tokens
from tests.helpers.seeding import seed_with_api_secrets
from tests.helpers.tokens import kid_of as _kid

pytestmark = pytest.mark.django_db

JWKS = "/.well-known/openid-configuration/jwks"


@pytest.fixture
def other_process(monkeypatch):
    """Make the command use a key ring of its own, as when it runs in another process."""
    ring = key_ring_module._build_key_ring()
    monkeypatch.setattr(command_module, "get_key_ring", lambda: ring)
    return ring


def _revoke(*kids: str) -> str:
    out = io.StringIO()
    # "--": a kid is base64url and may start with "-", which would read as an option.
    call_command("revoke_signing_key", "--", *kids, stdout=out)
    return out.getvalue()


def _jwks_kids(client) -> set[str]:
    return {k["kid"] for k in client.get(JWKS).json()["keys"]}


def test_a_token_forged_with_a_revoked_key_is_refused_at_once_and_a_new_key_signs(
        client, alice, other_process) -> None:
    seed_with_api_secrets()
    tokens = sign_in_for_tokens(client)
    stolen = key_ring_module.get_key_ring().signing_key()
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    forged = sign({**claims, "jti": "forged", "exp": claims["exp"] + 86400}, stolen, "at+jwt")
    assert _userinfo(client, forged).status_code == 200  # the stolen key works before
    assert introspect(client, forged).json()["active"] is True
    assert stolen.kid in _jwks_kids(client)

    output = _revoke(stolen.kid)

    new = SigningKey.objects.get(revoked_at__isnull=True)
    for token in (forged, tokens["access_token"]):  # tokens it signed are refused too
        response = _userinfo(client, token)
        assert response.status_code == 401 and response.json()["error"] == "invalid_token"
        assert introspect(client, token).json() == {"active": False}
    assert _jwks_kids(client) == {new.kid}
    fresh = sign_in_for_tokens(client)
    assert _kid(fresh["access_token"]) == _kid(fresh["id_token"]) == new.kid
    assert _userinfo(client, fresh["access_token"]).status_code == 200
    lines = output.splitlines()
    assert lines[0] == f"RS256 key {stolen.kid}: revoked"
    assert lines[1] == (f"RS256 key {new.kid}: created, signs from now, published until "
                        f"{new.expires_at.isoformat()}")
    assert lines[2:] == [f"  {new.kid} RS256 signing"]


def test_an_id_token_hint_signed_with_a_revoked_key_is_not_trusted(client, alice,
                                                                   other_process) -> None:
    seed_with_api_secrets()
    id_token = sign_in_for_tokens(client)["id_token"]
    ring = key_ring_module.get_key_ring()
    issuer = jwt.decode(id_token, options={"verify_signature": False})["iss"]
    assert decode_own_jwt(id_token, ring, issuer, typ=None, verify_exp=False)["sub"]
    _revoke(_kid(id_token))
    with pytest.raises(InvalidToken):
        decode_own_jwt(id_token, ring, issuer, typ=None, verify_exp=False)


def test_revoking_an_announced_key_keeps_the_signing_key(client, other_process) -> None:
    ring = key_ring_module.get_key_ring()
    signing = ring.signing_key().kid
    call_command("rotate_signing_keys", stdout=io.StringIO())
    announced = SigningKey.objects.exclude(kid=signing).get().kid
    assert _jwks_kids(client) == {signing, announced}
    output = _revoke(announced)
    assert output.splitlines() == [f"RS256 key {announced}: revoked", f"  {signing} RS256 signing"]
    assert _jwks_kids(client) == {signing}
    assert ring.signing_key().kid == signing
    assert SigningKey.objects.count() == 2  # kept, revoked, until it would have expired


def test_unknown_kids_revoke_nothing(other_process) -> None:
    kid = key_ring_module.get_key_ring().signing_key().kid
    with pytest.raises(CommandError, match="no signing key with kid nope, other; nothing revoked"):
        _revoke(kid, "nope", "other")
    assert not SigningKey.objects.filter(revoked_at__isnull=False).exists()


def test_revoking_a_revoked_key_again_says_so_and_changes_nothing(other_process) -> None:
    kid = key_ring_module.get_key_ring().signing_key().kid
    _revoke(kid)
    when = SigningKey.objects.get(kid=kid).revoked_at
    count = SigningKey.objects.count()
    assert _revoke(kid).splitlines()[0] == f"{kid}: already revoked at {when.isoformat()}"
    assert SigningKey.objects.count() == count
    assert SigningKey.objects.get(kid=kid).revoked_at == when


def test_a_kid_that_starts_with_a_dash_is_revoked_after_a_double_dash(other_process) -> None:
    signing = key_ring_module.get_key_ring().signing_key().kid
    generation = SigningKey.objects.get(kid=signing).generation
    _row("-dash-kid", generation + 1, expires=timedelta(days=3))
    assert _revoke("-dash-kid").splitlines()[0] == "RS256 key -dash-kid: revoked"
    assert SigningKey.objects.get(kid="-dash-kid").revoked_at is not None


def test_the_help_says_irreversible_and_rotation_points_to_revocation() -> None:
    from django.core.management import load_command_class

    revoke_help = load_command_class("identity", "revoke_signing_key").help
    rotate_help = load_command_class("identity", "rotate_signing_keys").help
    assert "IRREVERSIBLE" in revoke_help and "--" in revoke_help
    assert "compromise" in rotate_help and "revoke_signing_key" in rotate_help


# --- expired keys are deleted by cleanup_grants ------------------------------------------------


def _row(kid: str, generation: int, *, expires: timedelta, revoked: bool = False) -> None:
    now = clock.now()
    SigningKey.objects.create(
        kid=kid, algorithm="RS256", generation=generation, private_key="x",
        public_jwk={"kid": kid}, created=now - timedelta(days=200),
        activates_at=now - timedelta(days=200), retires_at=now + expires - timedelta(days=14),
        expires_at=now + expires, revoked_at=now - timedelta(days=1) if revoked else None)


def test_cleanup_deletes_expired_keys_revoked_or_not_and_keeps_the_rest() -> None:
    signing = key_ring_module.get_key_ring().signing_key().kid
    generation = SigningKey.objects.get(kid=signing).generation
    _row("expired", generation + 1, expires=-timedelta(seconds=1))
    _row("expired-revoked", generation + 2, expires=-timedelta(days=3), revoked=True)
    _row("retired", generation + 3, expires=timedelta(days=3))
    _row("revoked-not-yet-expired", generation + 4, expires=timedelta(days=3), revoked=True)
    out = io.StringIO()
    call_command("cleanup_grants", stdout=out)
    assert out.getvalue().splitlines()[-1] == "2 expired signing keys deleted"
    assert set(SigningKey.objects.values_list("kid", flat=True)) == {
        signing, "retired", "revoked-not-yet-expired"}
