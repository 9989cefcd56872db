"""The pure sign-in decision: which sign-in satisfies a requirement, and for which request.

Spec: OpenID Connect Core §3.1.2.1 (prompt=login, max_age).
"""

from __future__ import annotations

import pytest

from identity.domain.requests import UserSession, ValidatedAuthorizeRequest
from identity.errors import LoginRequired
from identity.validation.interaction import (
    Interaction,
    is_fresh_sign_in,
    next_interaction,
    request_digest,
    require_sign_in,
)
from tests.factories import make_interactive_client, make_resources

NOW = 1_700_000_000
PARAMS = {"client_id": "interactive", "state": "s", "nonce": "n", "prompt": "login"}
OLD = UserSession(subject_id="1", auth_time=NOW - 1000, session_id="old-sid")
SAME_SECOND = UserSession(subject_id="1", auth_time=NOW, session_id="old-sid")
NEW = UserSession(subject_id="1", auth_time=NOW + 5, session_id="new-sid")


def request(**overrides) -> ValidatedAuthorizeRequest:
    values = {"client": make_interactive_client(), "redirect_uri": "https://app/cb",
              "response_mode": "query", "scopes": ("openid",), "resources": make_resources()}
    values.update(overrides)
    return ValidatedAuthorizeRequest(**values)


def required(session: UserSession | None = OLD):
    return require_sign_in("t1", session, NOW, request_digest(PARAMS))


def test_a_sign_in_made_after_the_requirement_satisfies_it() -> None:
    assert is_fresh_sign_in(required(), NEW, request_digest(PARAMS), used=())


def test_a_sign_in_made_in_the_same_second_by_a_new_session_satisfies_it() -> None:
    fresh = UserSession(subject_id="1", auth_time=NOW, session_id="new-sid")
    assert is_fresh_sign_in(required(), fresh, request_digest(PARAMS), used=())


@pytest.mark.parametrize("session", [OLD, SAME_SECOND, None])
def test_the_sign_in_current_when_asked_never_satisfies_it(session) -> None:
    assert not is_fresh_sign_in(required(), session, request_digest(PARAMS), used=())


def test_a_new_session_older_than_the_requirement_does_not_satisfy_it() -> None:
    other_browser = UserSession(subject_id="1", auth_time=NOW - 1, session_id="other-sid")
    assert not is_fresh_sign_in(required(None), other_browser, request_digest(PARAMS), ())


def test_a_used_ticket_is_not_satisfied_again() -> None:
    assert not is_fresh_sign_in(required(), NEW, request_digest(PARAMS), used=("t1",))


@pytest.mark.parametrize("change", [{"state": "x"}, {"nonce": "x"}, {"client_id": "x"},
                                    {"scope": "openid"}, {"max_age": "0"}])
def test_a_requirement_is_bound_to_its_request(change) -> None:
    assert not is_fresh_sign_in(required(), NEW, request_digest({**PARAMS, **change}), ())


def test_prompt_and_the_ticket_are_not_part_of_the_request_digest() -> None:
    changed = {**PARAMS, "prompt": "login consent", "sign_in_ticket": "anything"}
    assert request_digest(changed) == request_digest(PARAMS)


@pytest.mark.parametrize("overrides", [{"prompt": frozenset({"login"})}, {"max_age": 0},
                                       {"client": make_interactive_client(user_sso_lifetime=1)}])
def test_a_fresh_sign_in_satisfies_prompt_login_max_age_and_sso_lifetime(overrides) -> None:
    asked = request(**overrides)
    assert next_interaction(asked, OLD, NOW, None, False) is Interaction.LOGIN
    assert next_interaction(asked, OLD, NOW, None, False, fresh_sign_in=True) is Interaction.NONE


def test_without_a_session_a_fresh_sign_in_flag_changes_nothing() -> None:
    assert next_interaction(request(), None, NOW, None, False, True) is Interaction.LOGIN
    with pytest.raises(LoginRequired):
        next_interaction(request(prompt=frozenset({"none"})), None, NOW, None, False, True)
