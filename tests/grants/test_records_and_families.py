"""The typed data of each persisted grant survives the store's JSON; replays revoke families."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pytest

from identity.domain.client import Client
from identity.domain.grants import (
    GRANT_AUTHORIZATION_CODE,
    GRANT_ISSUED_JTI,
    GRANT_REFERENCE_TOKEN,
    GRANT_REFRESH_TOKEN,
    GRANT_REVOKED_JTI,
    CodeData,
    ReferenceTokenData,
    RefreshTokenData,
)
from identity.domain.requests import Redemption, ValidatedTokenRequest
from identity.domain.resources import Resources
from identity.grants import records
from identity.grants.families import (
    family_of,
    forgiven,
    revoke_family,
    revoke_if_parent_gone,
    revoke_replayed,
)
from tests.grants.conftest import NOW, SESSION, World


def _through_json(data: dict) -> dict:
    return json.loads(json.dumps(data))  # what the database store hands back


def test_code_data_round_trips_through_json() -> None:
    data = CodeData(redirect_uri="https://app/cb", scopes=("openid", "api1"), auth_time=5,
                    amr=("pwd", "mfa"), nonce="n", code_challenge="c",
                    code_challenge_method="S256")
    grant = records.code_grant("k", "client", SESSION, NOW, NOW + timedelta(minutes=5), data)
    assert grant.type == GRANT_AUTHORIZATION_CODE and grant.subject_id == SESSION.subject_id
    assert records.code_data(replace(grant, data=_through_json(grant.data))) == data


def test_refresh_data_round_trips_and_old_rows_read_with_defaults() -> None:
    data = RefreshTokenData(scopes=("openid", "offline_access"), auth_time=7, amr=("pwd",),
                            absolute_expires=1_900_000_000.0, api_claims={"role": ["a", "b"]})
    grant = records.refresh_grant("k", "client", SESSION, "fam", NOW, None, data)
    assert grant.type == GRANT_REFRESH_TOKEN and grant.family == "fam"
    assert records.refresh_data(replace(grant, data=_through_json(grant.data))) == data
    old = replace(grant, data={"scopes": ["openid"], "auth_time": 7})
    assert records.refresh_data(old) == RefreshTokenData(scopes=("openid",), auth_time=7)


def test_reference_and_issued_jwt_records() -> None:
    grant = records.reference_grant("k", "c", "s", "sid", "fam", NOW, NOW + timedelta(hours=1),
                                    ReferenceTokenData(claims={"scope": "api1"}))
    assert grant.type == GRANT_REFERENCE_TOKEN
    assert records.reference_data(grant).claims == {"scope": "api1"}
    exp = int(NOW.timestamp()) + 60
    issued = records.issued_jti_entry("jti-1", exp, "c", "s", "fam", NOW)
    assert issued.type == GRANT_ISSUED_JTI and issued.family == "fam"
    assert records.issued_jwt_data(issued.data).exp == exp
    assert issued.key != records.issued_jti_entry("jti-1", exp, "c", "s", "fam", NOW,
                                                  per_family=True).key
    denied = records.deny_list_entry("jti-1", exp, "c", "s", NOW)
    assert denied.type == GRANT_REVOKED_JTI and denied.key == records.revoked_jti_key("jti-1")


def test_a_jwt_without_jti_is_named_by_its_digest() -> None:
    assert records.jwt_identifier({"jti": "abc"}, "x.y.z") == "abc"
    named = records.jwt_identifier({}, "x.y.z")
    assert named.startswith("sha256:") and named != records.jwt_identifier({}, "x.y.w")


def test_revoking_a_replayed_family_denies_its_jwts(world: World) -> None:
    code = world.code()
    key = next(iter(world.grants.grants))
    exp = int(NOW.timestamp()) + 300
    world.grants.store(records.issued_jti_entry("jti-9", exp, "interactive", "s", key, NOW))
    world.refresh(family=key)
    assert revoke_replayed(world.grants, key, key, "interactive") == 2
    assert world.grants.get(key) is None
    assert world.grants.get(records.revoked_jti_key("jti-9")) is not None
    assert code  # the handle itself is never stored
    assert all(g.type == GRANT_REVOKED_JTI for g in world.grants.grants.values())


def test_revoke_family_takes_the_grant_and_its_family(world: World) -> None:
    world.refresh(family="fam")
    world.refresh(family="fam")
    first = next(iter(world.grants.grants.values()))
    assert revoke_family(world.grants, first) == 2
    assert world.grants.grants == {}


def _request(redemption: Redemption | None) -> ValidatedTokenRequest:
    return ValidatedTokenRequest(client=Client(client_id="c"), grant_type="refresh_token",
                                 scopes=(), resources=Resources(), redemption=redemption)


@pytest.mark.parametrize(("action", "revoked"), [("consume", True), ("keep", True),
                                                 ("remove", False)])
def test_what_was_issued_is_revoked_when_a_replay_removed_the_parent(
        world: World, action: str, revoked: bool) -> None:
    world.refresh(family="fam")  # the successor, stored in the family
    request = _request(Redemption(key="gone", family="fam", refusal="x", action=action))
    revoke_if_parent_gone(request, world.grants)
    assert (world.grants.grants == {}) is revoked


def test_nothing_is_revoked_while_the_parent_exists(world: World) -> None:
    token_key = next(iter(world.grants.grants), None)
    assert token_key is None
    world.refresh(family="fam")
    parent = next(iter(world.grants.grants))
    revoke_if_parent_gone(_request(Redemption(key=parent, family="fam", refusal="x")),
                          world.grants)
    assert parent in world.grants.grants
    revoke_if_parent_gone(_request(None), world.grants)  # a client's own token: nothing to do
    assert parent in world.grants.grants


def test_family_and_grace_rules() -> None:
    assert family_of(None) == ""
    grant = records.refresh_grant("k", "c", SESSION, "", NOW, None,
                                  RefreshTokenData(scopes=(), auth_time=0))
    assert family_of(grant) == "k" and family_of(replace(grant, family="f")) == "f"
    assert forgiven(NOW - timedelta(seconds=5), NOW, 10)
    assert not forgiven(NOW - timedelta(seconds=11), NOW, 10)
    assert not forgiven(NOW, NOW, 0) and not forgiven(None, NOW, 10)
