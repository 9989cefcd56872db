"""identity.validation.scopes: syntax (RFC 6749 §3.3) and resolution against client and store."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity.domain.resources import ApiResource, ApiScope, IdentityResource, Resources
from identity.errors import InvalidScope
from identity.stores.memory import InMemoryResourceStore
from identity.validation.scopes import (
    granted_resources,
    parse_scope,
    resolve_api_scopes,
    resolve_user_scopes,
    still_allowed,
)
from tests.factories import make_client, make_interactive_client
from tests.unit.support import PROPERTY, resource_store, resources

STORE = resource_store()


def names(found: Resources) -> tuple[set[str], set[str], set[str]]:
    """Return the names of identity resources, API scopes and API resources in `found`."""
    return ({r.name for r in found.identity_resources}, {s.name for s in found.api_scopes},
            {r.name for r in found.api_resources})


# parse_scope ------------------------------------------------------------------------------------

def test_absent_scope_is_empty() -> None:
    assert parse_scope(None) == ()


def test_splits_on_spaces_keeping_order_and_dropping_repeats() -> None:
    assert parse_scope("openid api1 profile api1 openid") == ("openid", "api1", "profile")


@pytest.mark.parametrize("value", [
    "urn:example:scope", "api2.read_only", "a", "!#[]~", "https://api.example.com/read",
])
def test_nqchar_tokens_accepted(value: str) -> None:
    assert parse_scope(value) == (value,)


@pytest.mark.parametrize("value", [
    "",                 # an empty token
    "api1  api2",       # two spaces: an empty token between them
    " api1", "api1 ",
    "api1\tapi2",       # only %x20 separates tokens
    'ap"i1',            # %x22 and %x5C are not NQCHAR
    "api\\1",
    "apí1",             # non-ASCII
    "api1\x7f",
    "api1\x00",
])
def test_malformed_scope_refused(value: str) -> None:
    with pytest.raises(InvalidScope, match="malformed"):
        parse_scope(value)


@pytest.mark.parametrize("value", ["api1\n", "openid api1\n"])
def test_trailing_newline_is_not_nqchar(value: str) -> None:
    with pytest.raises(InvalidScope, match="malformed"):
        parse_scope(value)


@PROPERTY
@given(st.lists(st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E,
                                      exclude_characters='"\\'), min_size=1), max_size=8))
def test_any_nqchar_tokens_parse_back(tokens: list[str]) -> None:
    value = " ".join(tokens) if tokens else None
    assert parse_scope(value) == tuple(dict.fromkeys(tokens))


# resolve_api_scopes (no user: client_credentials) -----------------------------------------------

SERVICE = make_client(allowed_scopes=("api1", "api2.read_only", "api.disabled", "openid", "roles",
                                      "offline_access"))


def test_requested_api_scopes_granted_in_request_order() -> None:
    granted, found = resolve_api_scopes(("api2.read_only", "api1"), SERVICE, STORE)
    assert granted == ("api2.read_only", "api1")
    assert names(found) == (set(), {"api1", "api2.read_only"}, {"api1", "api2"})


def test_no_scope_grants_every_enabled_api_scope_the_client_may_have() -> None:
    # IdentityServer: an absent scope means all allowed API scopes; identity scopes,
    # offline_access and disabled scopes are left out rather than refused.
    granted, found = resolve_api_scopes((), SERVICE, STORE)
    assert granted == ("api1", "api2.read_only")
    assert names(found) == (set(), {"api1", "api2.read_only"}, {"api1", "api2"})


def test_scope_not_allowed_for_the_client_refused() -> None:
    with pytest.raises(InvalidScope, match="may not request shared"):
        resolve_api_scopes(("api1", "shared"), SERVICE, STORE)


@pytest.mark.parametrize("scope", ["openid", "roles", "offline_access"])
def test_scopes_that_need_a_user_refused(scope: str) -> None:
    with pytest.raises(InvalidScope, match="need a user"):
        resolve_api_scopes(("api1", scope), SERVICE, STORE)


def test_user_scope_not_allowed_is_refused_as_not_allowed() -> None:
    client = make_client(allowed_scopes=("api1",))
    with pytest.raises(InvalidScope, match="may not request profile"):
        resolve_api_scopes(("profile",), client, STORE)


def test_disabled_api_scope_refused_when_requested() -> None:
    with pytest.raises(InvalidScope, match="unknown or disabled scope: api.disabled"):
        resolve_api_scopes(("api1", "api.disabled"), SERVICE, STORE)


def test_allowed_scope_missing_from_the_store_refused_when_requested() -> None:
    client = make_client(allowed_scopes=("api1", "ghost"))
    with pytest.raises(InvalidScope, match="unknown or disabled scope: ghost"):
        resolve_api_scopes(("ghost",), client, STORE)


@pytest.mark.parametrize("allowed", [(), ("openid", "profile"), ("api.disabled", "ghost"),
                                     ("offline_access",)])
def test_no_scope_and_no_usable_api_scope_refused(allowed: tuple[str, ...]) -> None:
    client = make_client(allowed_scopes=allowed)
    with pytest.raises(InvalidScope, match="no API scope"):
        resolve_api_scopes((), client, STORE)


def test_disabled_api_resource_is_no_audience() -> None:
    _, found = resolve_api_scopes(("api1",), SERVICE, STORE)
    assert "retired" not in names(found)[2]


# still_allowed (refresh and code redemption) ----------------------------------------------------

INTERACTIVE = make_interactive_client(
    allowed_scopes=("openid", "profile", "email", "roles", "api1", "api2.read_only",
                    "api.disabled", "legacy"))


def test_everything_still_allowed_is_kept_in_order() -> None:
    scopes = ("openid", "api1", "profile", "offline_access", "roles")
    kept, found = still_allowed(scopes, INTERACTIVE, STORE)
    assert kept == scopes
    assert names(found)[0] == {"openid", "profile", "roles"}


def test_scope_removed_from_the_client_is_dropped() -> None:
    client = make_interactive_client(allowed_scopes=("openid", "profile"))
    kept, _ = still_allowed(("openid", "profile", "api1"), client, STORE)
    assert kept == ("openid", "profile")


@pytest.mark.parametrize("scope", ["api.disabled", "legacy", "deleted-since"])
def test_disabled_or_deleted_scope_is_dropped(scope: str) -> None:
    client = make_interactive_client(allowed_scopes=(*INTERACTIVE.allowed_scopes, "deleted-since"))
    kept, _ = still_allowed(("openid", "api1", scope), client, STORE)
    assert kept == ("openid", "api1")


def test_offline_access_follows_allow_offline_access() -> None:
    # Not listed in AllowedScopes: AllowOfflineAccess alone decides.
    assert "offline_access" not in INTERACTIVE.allowed_scopes
    kept, _ = still_allowed(("api1", "offline_access"), INTERACTIVE, STORE)
    assert kept == ("api1", "offline_access")
    turned_off = make_interactive_client(allowed_scopes=("api1", "offline_access"),
                                         allow_offline_access=False)
    kept, _ = still_allowed(("api1", "offline_access"), turned_off, STORE)
    assert kept == ("api1",)


def test_identity_scopes_go_with_openid() -> None:
    client = make_interactive_client(allowed_scopes=("profile", "email", "roles", "api1"))
    kept, _ = still_allowed(("openid", "profile", "roles", "api1", "offline_access"), client,
                            STORE)
    assert kept == ("api1", "offline_access")


def test_identity_scopes_go_when_openid_is_disabled() -> None:
    store = InMemoryResourceStore(Resources(
        identity_resources=(IdentityResource("openid", enabled=False), IdentityResource("profile")),
        api_scopes=(ApiScope("api1"),)))
    client = make_interactive_client(allowed_scopes=("openid", "profile", "api1"))
    kept, _ = still_allowed(("openid", "profile", "api1"), client, store)
    assert kept == ("api1",)


def test_still_allowed_returns_what_the_store_found_for_every_scope() -> None:
    # The caller filters with granted_resources; what is found is not filtered here.
    client = make_interactive_client(allowed_scopes=("openid",))
    kept, found = still_allowed(("openid", "api1"), client, STORE)
    assert kept == ("openid",)
    assert "api1" in names(found)[1]


def test_nothing_kept_is_an_empty_tuple() -> None:
    client = make_interactive_client(allowed_scopes=(), allow_offline_access=False)
    assert still_allowed(("openid", "api1", "offline_access"), client, STORE)[0] == ()


# resolve_user_scopes and granted_resources -------------------------------------------------------

def test_resolve_user_scopes_keeps_enabled_resources_and_their_apis() -> None:
    found = resolve_user_scopes(("openid", "profile", "legacy", "api1", "api.disabled",
                                 "offline_access"), STORE)
    assert names(found) == ({"openid", "profile"}, {"api1"}, {"api1"})


def test_granted_resources_audiences() -> None:
    found = STORE.find_resources_by_scope_names(("api1", "shared", "api2.read_only",
                                                 "api.disabled"))
    # `dark` owns only a disabled scope; `retired` is disabled; api2 owns no scope named here.
    assert names(granted_resources(found, ("shared", "api.disabled"))) == (
        set(), {"shared"}, {"api1"})
    assert names(granted_resources(found, ("api2.read_only",))) == (
        set(), {"api2.read_only"}, {"api2"})


def test_granted_resources_drops_what_was_found_but_not_named() -> None:
    found = STORE.all_resources()
    assert names(granted_resources(found, ("email",))) == ({"email"}, set(), set())
    assert names(granted_resources(found, ())) == (set(), set(), set())


def test_granted_resources_keeps_the_found_objects() -> None:
    found = STORE.all_resources()
    kept = granted_resources(found, ("openid", "api1"))
    assert kept.api_scopes == (resources().api_scopes[0],)
    assert kept.api_resources == (ApiResource(name="api1", scopes=("api1", "shared")),)


def test_resource_store_answers_by_the_set_of_names_however_asked(monkeypatch) -> None:
    from identity.stores import memory

    store = InMemoryResourceStore(Resources(
        identity_resources=(IdentityResource("openid"),),
        api_scopes=(ApiScope("api1"), ApiScope("api2")),
        api_resources=(ApiResource("one", scopes=("api1",)), ApiResource("two", scopes=("api2",)))))
    first = store.find_resources_by_scope_names(["api1", "openid"])
    assert [s.name for s in first.api_scopes] == ["api1"]
    assert [r.name for r in first.api_resources] == ["one"]
    assert [r.name for r in first.identity_resources] == ["openid"]
    assert store.find_resources_by_scope_names(("openid", "api1", "api1")) == first
    other = store.find_resources_by_scope_names(["api2"])
    assert [r.name for r in other.api_resources] == ["two"] and not other.identity_resources
    # Bounded: past the limit the answers found so far are dropped, and found again alike.
    monkeypatch.setattr(memory, "FOUND_LIMIT", 2)
    store.find_resources_by_scope_names(["api1", "api2"])
    assert len(store._found) == 1
    assert store.find_resources_by_scope_names(["api1", "openid"]) == first


def test_a_pickled_resource_store_leaves_its_answers_behind() -> None:
    import pickle

    store = InMemoryResourceStore(Resources(api_scopes=(ApiScope("api1"),),
                                            api_resources=(ApiResource("one", scopes=("api1",)),)))
    found = store.find_resources_by_scope_names(["api1"])
    copy = pickle.loads(pickle.dumps(store))
    assert copy._found == {}
    assert copy.find_resources_by_scope_names(["api1"]) == found
    assert copy.all_resources() == store.all_resources()
