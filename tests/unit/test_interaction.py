"""identity.validation.interaction: sign-in and consent decisions (OpenID Connect Core §3.1.2.1,
§3.1.2.6) and the sign-in tickets that make prompt=login ask only once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from identity.domain.client import Client
from identity.domain.grants import Consent
from identity.domain.requests import SignInRequirement, UserSession, ValidatedAuthorizeRequest
from identity.domain.resources import Resources
from identity.errors import ConsentRequired, LoginRequired
from identity.validation.interaction import (
    SIGN_IN_TICKET,
    Interaction,
    is_fresh_sign_in,
    next_interaction,
    request_digest,
    require_sign_in,
    session_digest,
)
from tests.factories import make_interactive_client

NOW = 1_800_000_000
SCOPES = ("openid", "profile", "api1")
CLIENT = make_interactive_client()                     # RequireConsent false
CONSENTING = make_interactive_client(require_consent=True)


def authorize(client: Client = CLIENT, prompt: frozenset[str] = frozenset(),
              max_age: int | None = None,
              scopes: tuple[str, ...] = SCOPES) -> ValidatedAuthorizeRequest:
    """Return a validated authorize request with the fields the decision reads."""
    return ValidatedAuthorizeRequest(
        client=client, redirect_uri=client.redirect_uris[0], response_mode="query",
        scopes=scopes, resources=Resources(), prompt=prompt, max_age=max_age)


def session(age: int = 10, session_id: str = "sid-1") -> UserSession:
    """Return a session signed in `age` seconds before NOW."""
    return UserSession(subject_id="alice", auth_time=NOW - age, session_id=session_id)


def consent(scopes: tuple[str, ...] = SCOPES, expires: int | None = None) -> Consent:
    """Return alice's remembered consent for the client."""
    return Consent(subject_id="alice", client_id=CLIENT.client_id, scopes=scopes,
                   created=datetime.fromtimestamp(NOW - 100, UTC),
                   expires=None if expires is None else datetime.fromtimestamp(expires, UTC))


def decide(request: ValidatedAuthorizeRequest, user: UserSession | None, *,
           remembered: Consent | None = None, one_time: bool = False,
           fresh: bool = False) -> Interaction:
    """Run next_interaction at NOW."""
    return next_interaction(request, user, NOW, remembered, one_time, fresh)


# next_interaction: sign-in ----------------------------------------------------------------------

def test_signed_in_user_without_requirements_goes_straight_through() -> None:
    assert decide(authorize(), session()) is Interaction.NONE


def test_no_session_means_login() -> None:
    assert decide(authorize(), None) is Interaction.LOGIN


def test_no_session_means_login_even_after_a_fresh_sign_in_claim() -> None:
    assert decide(authorize(), None, fresh=True) is Interaction.LOGIN


@pytest.mark.parametrize("prompt", [{"login"}, {"select_account"}, {"login", "consent"}])
def test_prompt_login_and_select_account_ask_for_a_sign_in(prompt: set[str]) -> None:
    assert decide(authorize(prompt=frozenset(prompt)), session(age=0)) is Interaction.LOGIN


@pytest.mark.parametrize(("max_age", "age", "expected"), [
    (300, 300, Interaction.NONE),   # exactly max_age: not older than allowed
    (300, 301, Interaction.LOGIN),
    (0, 1, Interaction.LOGIN),
    (0, 0, Interaction.NONE),
    (None, 10**8, Interaction.NONE),
])
def test_max_age(max_age: int | None, age: int, expected: Interaction) -> None:
    assert decide(authorize(max_age=max_age), session(age=age)) is expected


@pytest.mark.parametrize(("sso", "age", "expected"), [
    (3600, 3600, Interaction.NONE),
    (3600, 3601, Interaction.LOGIN),
    (None, 10**8, Interaction.NONE),
])
def test_user_sso_lifetime(sso: int | None, age: int, expected: Interaction) -> None:
    client = make_interactive_client(user_sso_lifetime=sso)
    assert decide(authorize(client), session(age=age)) is expected


def test_a_fresh_sign_in_satisfies_prompt_login_max_age_and_sso_lifetime() -> None:
    client = make_interactive_client(user_sso_lifetime=1)
    request = authorize(client, prompt=frozenset({"login"}), max_age=1)
    assert decide(request, session(age=5)) is Interaction.LOGIN
    assert decide(request, session(age=5), fresh=True) is Interaction.NONE


@pytest.mark.parametrize("user", [None, session(age=500)])
def test_prompt_none_raises_login_required_instead_of_asking(user: UserSession | None) -> None:
    request = authorize(prompt=frozenset({"none"}), max_age=60)
    with pytest.raises(LoginRequired) as caught:
        decide(request, user)
    assert caught.value.error == "login_required"
    assert caught.value.redirectable


def test_login_comes_before_consent() -> None:
    assert decide(authorize(CONSENTING), None) is Interaction.LOGIN
    with pytest.raises(LoginRequired):
        decide(authorize(CONSENTING, prompt=frozenset({"none"})), None)


# next_interaction: consent ----------------------------------------------------------------------

def test_client_requiring_consent_asks_without_a_remembered_one() -> None:
    assert decide(authorize(CONSENTING), session()) is Interaction.CONSENT


def test_remembered_consent_covering_the_scopes_is_enough() -> None:
    assert decide(authorize(CONSENTING), session(), remembered=consent()) is Interaction.NONE
    bigger = consent(SCOPES + ("email", "offline_access"))
    assert decide(authorize(CONSENTING), session(), remembered=bigger) is Interaction.NONE


def test_remembered_consent_missing_a_scope_asks_again() -> None:
    remembered = consent(("openid", "profile"))
    assert decide(authorize(CONSENTING), session(), remembered=remembered) is Interaction.CONSENT


@pytest.mark.parametrize(("expires", "expected"), [
    (NOW + 1, Interaction.NONE),
    (NOW, Interaction.CONSENT),       # expires at NOW: gone
    (NOW - 1, Interaction.CONSENT),
])
def test_remembered_consent_expiry(expires: int, expected: Interaction) -> None:
    remembered = consent(expires=expires)
    assert decide(authorize(CONSENTING), session(), remembered=remembered) is expected


def test_prompt_consent_asks_even_if_the_client_does_not_require_it() -> None:
    request = authorize(prompt=frozenset({"consent"}))
    assert decide(request, session(), remembered=consent()) is Interaction.CONSENT


def test_one_time_consent_just_given_satisfies_everything() -> None:
    request = authorize(CONSENTING, prompt=frozenset({"consent"}))
    assert decide(request, session(), one_time=True) is Interaction.NONE


def test_prompt_none_raises_consent_required() -> None:
    with pytest.raises(ConsentRequired) as caught:
        decide(authorize(CONSENTING, prompt=frozenset({"none"})), session())
    assert caught.value.error == "consent_required"


def test_prompt_none_passes_when_nothing_is_needed() -> None:
    request = authorize(CONSENTING, prompt=frozenset({"none"}))
    assert decide(request, session(), remembered=consent()) is Interaction.NONE


# Digests ----------------------------------------------------------------------------------------

PARAMS = {"client_id": "interactive", "redirect_uri": "http://localhost:21402/signin-oidc",
          "response_type": "code", "scope": "openid", "state": "s1"}


def test_request_digest_ignores_order_prompt_and_ticket() -> None:
    digest = request_digest(PARAMS)
    reordered = dict(reversed(list(PARAMS.items())))
    assert request_digest(reordered) == digest
    assert request_digest({**PARAMS, "prompt": "login", SIGN_IN_TICKET: "t-1"}) == digest


@pytest.mark.parametrize("change", [
    {"state": "s2"}, {"scope": "openid profile"}, {"max_age": "0"}, {"nonce": "n"},
    {"client_id": "other"},
])
def test_request_digest_binds_every_other_parameter(change: dict[str, str]) -> None:
    assert request_digest({**PARAMS, **change}) != request_digest(PARAMS)


def test_request_digest_is_not_fooled_by_moving_text_between_name_and_value() -> None:
    assert request_digest({"ab": "c"}) != request_digest({"a": "bc"})
    assert request_digest({"a": "b", "c": "d"}) != request_digest({"a": "b,c", "": "d"})


def test_session_digest() -> None:
    assert session_digest(None) == ""
    first = session_digest(session(session_id="sid-1"))
    assert len(first) == 32 and all(c in "0123456789abcdef" for c in first)
    assert first == session_digest(session(age=999, session_id="sid-1"))
    assert first != session_digest(session(session_id="sid-2"))
    assert "sid-1" not in first


def test_require_sign_in_records_the_request_and_the_stale_session() -> None:
    requirement = require_sign_in("t-1", session(), NOW, "digest")
    assert requirement == SignInRequirement(ticket_id="t-1", issued_at=NOW,
                                            stale_session=session_digest(session()),
                                            request_digest="digest")
    assert require_sign_in("t-2", None, NOW, "digest").stale_session == ""


# is_fresh_sign_in -------------------------------------------------------------------------------

DIGEST = request_digest(PARAMS)
OLD = session(age=30, session_id="old")
REQUIREMENT = require_sign_in("t-1", OLD, NOW, DIGEST)
NEW = UserSession(subject_id="alice", auth_time=NOW, session_id="new")


def test_new_sign_in_for_this_request_is_fresh() -> None:
    assert is_fresh_sign_in(REQUIREMENT, NEW, DIGEST, used=())


def test_sign_in_in_the_same_second_as_the_requirement_counts_if_it_is_another_session() -> None:
    same_second_old = UserSession(subject_id="alice", auth_time=NOW, session_id="old")
    assert not is_fresh_sign_in(REQUIREMENT, same_second_old, DIGEST, used=())
    assert is_fresh_sign_in(REQUIREMENT, NEW, DIGEST, used=())


def test_first_sign_in_when_there_was_no_session() -> None:
    requirement = require_sign_in("t-1", None, NOW, DIGEST)
    assert is_fresh_sign_in(requirement, NEW, DIGEST, used=())


@pytest.mark.parametrize(("requirement", "user", "digest", "used"), [
    (None, NEW, DIGEST, ()),
    (REQUIREMENT, None, DIGEST, ()),
    (REQUIREMENT, NEW, DIGEST, ("t-1",)),                        # ticket already used
    (REQUIREMENT, NEW, request_digest({**PARAMS, "state": "x"}), ()),  # another request
    (REQUIREMENT, OLD, DIGEST, ()),                              # the session it asked to replace
    (REQUIREMENT, UserSession("alice", NOW - 1, "new"), DIGEST, ()),  # signed in before asked
], ids=["no requirement", "no session", "used ticket", "other request", "stale session",
        "older sign-in"])
def test_not_a_fresh_sign_in(requirement: SignInRequirement | None, user: UserSession | None,
                             digest: str, used: tuple[str, ...]) -> None:
    assert not is_fresh_sign_in(requirement, user, digest, used)


def test_prompt_login_round_trip() -> None:
    """The authorize endpoint's sequence: ask, sign in, come back with the ticket, go through."""
    request = authorize(prompt=frozenset({"login"}))
    assert decide(request, OLD) is Interaction.LOGIN
    requirement = require_sign_in("t-9", OLD, NOW, DIGEST)
    back = {**PARAMS, "prompt": "login", SIGN_IN_TICKET: "t-9"}
    fresh = is_fresh_sign_in(requirement, NEW, request_digest(back), used=())
    assert decide(request, NEW, fresh=fresh) is Interaction.NONE
    # Replaying the same ticket once it is spent asks again.
    replay = is_fresh_sign_in(requirement, NEW, request_digest(back), used=("t-9",))
    assert decide(request, NEW, fresh=replay) is Interaction.LOGIN
