"""A client with PairWiseSubjectSalt sees one `sub` for a user in every token it receives
(OpenID Connect Core §8.1): ID token, access token, introspection and userinfo."""

from __future__ import annotations

import pytest

import identity.http.session  # noqa: F401
from identity.constants import AccessTokenType
from tests.factories import make_client, make_interactive_client
from tests.helpers.calls import introspect, refresh
from tests.helpers.flow import sign_in_for_tokens, sign_in_to, verified_claims
from tests.helpers.seeding import seed_with_api_secrets

pytestmark = pytest.mark.django_db

OTHER_REDIRECT = "http://127.0.0.1:21402/signin-oidc"  # another host: another sector


def _subjects(client, body: dict, client_id: str = "interactive") -> dict[str, str]:
    api = introspect(client, body["access_token"]).json()
    own = introspect(client, body["access_token"], auth=(client_id, "secret")).json()
    info = client.get("/connect/userinfo", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert info.status_code == 200, info.content
    return {"id_token": verified_claims(client, body["id_token"])["sub"],
            "access_token": verified_claims(client, body["access_token"])["sub"],
            "introspection (api)": api["sub"], "introspection (client)": own["sub"],
            "userinfo": info.json()["sub"]}


def test_every_token_of_a_salted_client_carries_the_pairwise_subject(client, alice) -> None:
    seed_with_api_secrets(make_client(), make_interactive_client(pair_wise_subject_salt="s1"))
    subjects = _subjects(client, sign_in_for_tokens(client))
    assert len(set(subjects.values())) == 1, subjects
    assert str(alice.pk) not in subjects.values()


def test_refreshed_tokens_and_the_refresh_token_carry_the_pairwise_subject(client,
                                                                          alice) -> None:
    seed_with_api_secrets(make_client(), make_interactive_client(pair_wise_subject_salt="s1"))
    first = sign_in_for_tokens(client)
    pairwise = verified_claims(client, first["id_token"])["sub"]
    body = refresh(client, first["refresh_token"]).json()
    assert set(_subjects(client, body).values()) == {pairwise}
    own = introspect(client, body["refresh_token"], auth=("interactive", "secret")).json()
    assert own["active"] and own["sub"] == pairwise


def test_reference_tokens_of_a_salted_client_carry_the_pairwise_subject(client, alice) -> None:
    seed_with_api_secrets(make_client(), make_interactive_client(
        pair_wise_subject_salt="s1", access_token_type=AccessTokenType.Reference))
    body = sign_in_for_tokens(client)
    pairwise = verified_claims(client, body["id_token"])["sub"]
    assert pairwise != str(alice.pk)
    assert introspect(client, body["access_token"]).json()["sub"] == pairwise
    info = client.get("/connect/userinfo", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert info.json()["sub"] == pairwise


def test_clients_of_different_sectors_get_different_subjects(client, alice) -> None:
    seed_with_api_secrets(
        make_client(), make_interactive_client(pair_wise_subject_salt="s1"),
        make_interactive_client("other", pair_wise_subject_salt="s1",
                                redirect_uris=(OTHER_REDIRECT,)))
    one = _subjects(client, sign_in_for_tokens(client))
    two = _subjects(client, sign_in_to(client, "other", OTHER_REDIRECT), "other")
    assert len(set(one.values())) == len(set(two.values())) == 1, (one, two)
    assert one["access_token"] != two["access_token"]
    assert str(alice.pk) not in (one["access_token"], two["access_token"])


def test_a_deactivated_user_behind_a_pairwise_token_is_inactive(client, alice) -> None:
    seed_with_api_secrets(make_client(), make_interactive_client(pair_wise_subject_salt="s1"))
    body = sign_in_for_tokens(client)
    alice.is_active = False
    alice.save()
    assert introspect(client, body["access_token"]).json() == {"active": False}
    info = client.get("/connect/userinfo", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert info.status_code == 401


def test_a_pairwise_token_of_a_replayed_code_is_inactive(client, alice) -> None:
    from tests.helpers.flow import exchange, get_code, login
    from tests.helpers.pkce import Pkce

    seed_with_api_secrets(make_client(), make_interactive_client(pair_wise_subject_salt="s1"))
    login(client)
    pkce = Pkce.new()
    code = get_code(client, pkce)
    body = exchange(client, code, pkce).json()
    assert introspect(client, body["access_token"]).json()["active"]
    assert exchange(client, code, pkce).status_code == 400
    assert introspect(client, body["access_token"]).json() == {"active": False}
