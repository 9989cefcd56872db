"""Each grant handler decides without writing; the pipeline's redeem step makes the change."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from identity.constants import TokenUsage
from identity.errors import (
    GrantReplayed,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from identity.grants.authorization_code import AuthorizationCodeGrant
from identity.grants.client_credentials import ClientCredentialsGrant
from identity.grants.handles import handle_key
from identity.grants.pipeline import redeem, select_grant
from identity.grants.refresh_token import RefreshTokenGrant
from identity.grants.registry import GRANT_HANDLERS
from tests.factories import make_client, make_interactive_client
from tests.grants.conftest import ALICE, REDIRECT, World
from tests.helpers.pkce import Pkce

CODE = AuthorizationCodeGrant()
REFRESH = RefreshTokenGrant()
CREDENTIALS = ClientCredentialsGrant()


def _code_params(code: str, verifier: str | None = None) -> dict[str, str]:
    params = {"code": code, "redirect_uri": REDIRECT}
    if verifier is not None:
        params["code_verifier"] = verifier
    return params


# --- the registry and the selection of a handler ----------------------------------------------

def test_every_handler_is_registered_under_its_own_grant_type() -> None:
    assert set(GRANT_HANDLERS) == {"authorization_code", "client_credentials", "refresh_token",
                                   "urn:ietf:params:oauth:grant-type:device_code"}
    for grant_type, handler in GRANT_HANDLERS.items():
        assert handler.grant_type == grant_type
        assert handler.parameters and handler.issues


def test_select_grant_refuses_missing_unknown_and_unlisted_grant_types() -> None:
    client = make_client()
    with pytest.raises(InvalidRequest):
        select_grant({}, client)
    with pytest.raises(UnsupportedGrantType):
        select_grant({"grant_type": "password"}, client)
    with pytest.raises(UnauthorizedClient):
        select_grant({"grant_type": "authorization_code"}, client)
    assert isinstance(select_grant({"grant_type": "client_credentials"}, client),
                      ClientCredentialsGrant)
    with pytest.raises(UnauthorizedClient, match="does not support"):
        select_grant({"grant_type": "client_credentials"},
                     make_client(coordinate_lifetime_with_user_session=True))
    # FAPI 2.0 requirements are honoured: they do not make a client unauthorized here.
    assert isinstance(select_grant({"grant_type": "client_credentials"},
                                   make_client(require_pushed_authorization=True)),
                      ClientCredentialsGrant)


def test_refresh_is_allowed_by_offline_access_not_by_the_grant_list() -> None:
    assert REFRESH.client_may_use(make_interactive_client(allow_offline_access=True))
    assert not REFRESH.client_may_use(make_interactive_client(
        allow_offline_access=False, allowed_grant_types=("authorization_code", "refresh_token")))


# --- client credentials ------------------------------------------------------------------------

def test_client_credentials_resolves_scopes_and_writes_nothing(world: World) -> None:
    request = CREDENTIALS.validate({"scope": "api1"}, make_client(), world.context())
    assert request.scopes == ("api1",) and request.subject is None
    assert request.redemption is None and CREDENTIALS.redeems is None
    assert world.grants.writes == []


def test_client_credentials_refuses_a_public_client(world: World) -> None:
    with pytest.raises(UnauthorizedClient):
        CREDENTIALS.validate({}, make_client(require_client_secret=False), world.context())


# --- authorization code ------------------------------------------------------------------------

def test_a_valid_code_is_decided_and_left_for_the_pipeline_to_consume(world: World) -> None:
    code = world.code()
    request = CODE.validate(_code_params(code), make_interactive_client(), world.context())
    assert request.subject == ALICE and request.scopes == ("openid", "api1")
    assert request.nonce == "n-1" and request.session is not None
    assert request.redemption is not None and request.redemption.action == "consume"
    assert request.redemption.key == handle_key(code) == request.redemption.family
    assert world.grants.writes == []  # validation never writes
    redeem(request.redemption, world.context())
    assert world.grants.writes == ["consume"]
    assert world.grants.get(handle_key(code)).consumed == world.now  # type: ignore[union-attr]


def test_a_used_code_is_a_replay_carrying_what_to_revoke(world: World) -> None:
    code = world.code()
    world.grants.consume(handle_key(code), world.now)
    world.grants.writes.clear()
    with pytest.raises(GrantReplayed) as raised:
        CODE.validate(_code_params(code), make_interactive_client(), world.context())
    assert raised.value.key == handle_key(code) == raised.value.family
    assert raised.value.error == "invalid_grant"
    assert world.grants.writes == []


def test_losing_the_race_to_consume_a_code_is_a_replay(world: World) -> None:
    code = world.code()
    request = CODE.validate(_code_params(code), make_interactive_client(), world.context())
    world.grants.consume(handle_key(code), world.now)  # another process won meanwhile
    assert request.redemption is not None
    with pytest.raises(GrantReplayed):
        redeem(request.redemption, world.context())


@pytest.mark.parametrize(("change", "error"), [
    ({"client_id": "other"}, InvalidGrant),
    ({"redirect_uri": "http://localhost:21402/elsewhere"}, InvalidGrant),
])
def test_a_code_is_bound_to_its_client_and_redirect_uri(world: World, change: dict[str, str],
                                                        error: type[Exception]) -> None:
    code = world.code()
    client = make_interactive_client(change.get("client_id", "interactive"))
    params = {**_code_params(code), **({"redirect_uri": change["redirect_uri"]}
                                       if "redirect_uri" in change else {})}
    with pytest.raises(error):
        CODE.validate(params, client, world.context())
    assert world.grants.writes == []


def test_an_expired_code_is_refused_without_being_burned(world: World) -> None:
    code = world.code()
    later = world.context(now=world.now + timedelta(minutes=10))
    with pytest.raises(InvalidGrant, match="invalid, expired"):
        CODE.validate(_code_params(code), make_interactive_client(), later)
    assert world.grants.get(handle_key(code)).consumed is None  # type: ignore[union-attr]


def test_pkce_is_verified_against_the_stored_challenge(world: World) -> None:
    pkce = Pkce.new()
    code = world.code(code_challenge=pkce.challenge, code_challenge_method="S256")
    with pytest.raises(InvalidGrant):
        CODE.validate(_code_params(code, "x" * 43), make_interactive_client(), world.context())
    request = CODE.validate(_code_params(code, pkce.verifier), make_interactive_client(),
                            world.context())
    assert request.subject == ALICE


def test_a_deactivated_user_gets_nothing_from_a_code(world: World) -> None:
    code = world.code()
    world.users.inactive.add(ALICE)
    with pytest.raises(InvalidGrant, match="no longer active"):
        CODE.validate(_code_params(code), make_interactive_client(), world.context())


def test_a_code_grants_only_what_the_client_still_allows(world: World) -> None:
    code = world.code(scopes=("openid", "api1", "api2.read_only"))
    client = make_interactive_client(allowed_scopes=("openid", "api1"))
    request = CODE.validate(_code_params(code), client, world.context())
    assert request.scopes == ("openid", "api1")
    gone = make_interactive_client(allowed_scopes=("profile",))
    with pytest.raises(InvalidGrant, match="no longer grants any scope"):
        CODE.validate(_code_params(world.code(scopes=("api1",))), gone, world.context())


# --- refresh token -----------------------------------------------------------------------------

def test_a_one_time_refresh_token_is_consumed_and_its_family_kept(world: World) -> None:
    token = world.refresh()
    request = REFRESH.validate({"refresh_token": token}, make_interactive_client(),
                               world.context())
    assert request.redemption is not None
    assert (request.redemption.action, request.redemption.family) == ("consume", "family-1")
    assert request.presented_refresh_token == token
    assert request.refreshed is not None and "offline_access" in request.scopes
    assert world.grants.writes == []


def test_a_reused_rotated_token_is_a_replay_of_its_family(world: World) -> None:
    token = world.refresh(consumed=world.now - timedelta(seconds=30))
    with pytest.raises(GrantReplayed) as raised:
        REFRESH.validate({"refresh_token": token}, make_interactive_client(), world.context())
    assert raised.value.family == "family-1"


def test_a_second_use_within_the_grace_period_is_forgiven(world: World) -> None:
    world.grace = 60
    token = world.refresh(consumed=world.now - timedelta(seconds=30))
    request = REFRESH.validate({"refresh_token": token}, make_interactive_client(),
                               world.context())
    assert request.redemption is not None and request.redemption.action == "keep"
    # ... and so is losing the race to consume, within the grace period
    fresh = world.refresh(family="family-2")
    decided = REFRESH.validate({"refresh_token": fresh}, make_interactive_client(),
                               world.context())
    world.grants.consume(handle_key(fresh), world.now)
    assert decided.redemption is not None
    redeem(decided.redemption, world.context())  # no GrantReplayed


def test_a_reuse_token_is_kept_and_handed_back(world: World) -> None:
    token = world.refresh()
    client = make_interactive_client(refresh_token_usage=TokenUsage.ReUse)
    request = REFRESH.validate({"refresh_token": token}, client, world.context())
    assert request.redemption is not None and request.redemption.action == "keep"
    assert request.presented_refresh_token == token


def test_a_narrowed_reuse_token_is_removed_and_replaced(world: World) -> None:
    token = world.refresh(scopes=("openid", "api1", "api2.read_only", "offline_access"))
    client = make_interactive_client(refresh_token_usage=TokenUsage.ReUse,
                                     allowed_scopes=("openid", "api1"))
    request = REFRESH.validate({"refresh_token": token}, client, world.context())
    assert request.redemption is not None and request.redemption.action == "remove"
    assert request.presented_refresh_token is None
    assert request.refreshed is not None
    assert request.refreshed.scopes == ("openid", "api1", "offline_access")
    redeem(request.redemption, world.context())
    assert world.grants.get(handle_key(token)) is None


def test_a_refresh_may_narrow_but_never_widen(world: World) -> None:
    token = world.refresh(scopes=("openid", "offline_access", "api1"))
    client = make_interactive_client()
    narrowed = REFRESH.validate({"refresh_token": token, "scope": "api1"}, client,
                                world.context())
    assert narrowed.scopes == ("api1", "offline_access")
    with pytest.raises(InvalidScope):
        REFRESH.validate({"refresh_token": token, "scope": "api1 api2.read_only"}, client,
                         world.context())


def test_another_clients_or_an_expired_refresh_token_is_invalid(world: World) -> None:
    token = world.refresh()
    with pytest.raises(InvalidGrant):
        REFRESH.validate({"refresh_token": token}, make_interactive_client("other"),
                         world.context())
    expired = world.refresh(family="f2", expires=world.now - timedelta(seconds=1))
    with pytest.raises(InvalidGrant, match="invalid, expired"):
        REFRESH.validate({"refresh_token": expired}, make_interactive_client(), world.context())
    assert world.grants.writes == []


def test_a_code_is_not_a_refresh_token_and_back(world: World) -> None:
    code, token = world.code(), world.refresh()
    with pytest.raises(InvalidGrant):
        REFRESH.validate({"refresh_token": code}, make_interactive_client(), world.context())
    with pytest.raises(InvalidGrant):
        CODE.validate(_code_params(token), make_interactive_client(), world.context())


def test_missing_handles_are_invalid_requests(world: World) -> None:
    with pytest.raises(InvalidRequest):
        REFRESH.validate({}, make_interactive_client(), world.context())
    with pytest.raises(InvalidRequest):
        CODE.validate({"redirect_uri": REDIRECT}, make_interactive_client(), world.context())
    with pytest.raises(InvalidRequest):
        CODE.validate({"code": "x"}, make_interactive_client(), world.context())


def test_validation_reads_typed_data_of_rows_written_before_amr_existed(world: World) -> None:
    code = world.code()
    key = handle_key(code)
    old = world.grants.grants[key]
    data = {k: v for k, v in old.data.items() if k != "amr"}
    world.grants.grants[key] = replace(old, data=data)
    request = CODE.validate(_code_params(code), make_interactive_client(), world.context())
    assert request.session is not None and request.session.amr == ("pwd",)
