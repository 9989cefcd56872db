"""The consent form's scopes and the request narrowed to the person's choice, without HTTP."""

from __future__ import annotations

from identity.domain.client import Client
from identity.domain.requests import ValidatedAuthorizeRequest
from identity.domain.resources import ApiResource, ApiScope, IdentityResource, Resources
from identity.validation.consent import consented_scopes, narrowed, scope_choices

RESOURCES = Resources(
    identity_resources=(IdentityResource("openid", "Your user identifier", required=False),
                        IdentityResource("profile", "User profile"),
                        IdentityResource("email", "Email", emphasize=True)),
    api_scopes=(ApiScope("api1", "API 1", "Read your files", required=True),
                ApiScope("api2", "API 2")),
    api_resources=(ApiResource("files", scopes=("api1",)), ApiResource("mail", scopes=("api2",))),
)
SCOPES = ("openid", "profile", "email", "api1", "api2", "offline_access")


def request(scopes: tuple[str, ...] = SCOPES) -> ValidatedAuthorizeRequest:
    client = Client(client_id="app", redirect_uris=("https://app.example/cb",))
    return ValidatedAuthorizeRequest(client=client, redirect_uri="https://app.example/cb",
                                     response_mode="query", scopes=scopes, resources=RESOURCES)


def test_choices_list_identity_then_api_then_offline_with_their_flags() -> None:
    choices = scope_choices(request())
    assert [(c.name, c.kind) for c in choices] == [
        ("openid", "identity"), ("profile", "identity"), ("email", "identity"),
        ("api1", "api"), ("api2", "api"), ("offline_access", "offline")]
    flags = {c.name: (c.required, c.emphasize) for c in choices}
    # openid is required even where the resource says otherwise: it makes the request OIDC.
    assert flags["openid"] == (True, False)
    assert flags["api1"] == (True, False) and flags["email"] == (False, True)
    assert flags["offline_access"] == (False, False)
    assert next(c for c in choices if c.name == "api1").description == "Read your files"


def test_choices_show_only_what_was_requested() -> None:
    assert [c.name for c in scope_choices(request(("openid", "api2")))] == ["openid", "api2"]


def test_required_scopes_are_kept_whatever_is_posted() -> None:
    assert consented_scopes(request(), []) == ("openid", "api1")
    assert consented_scopes(request(), ["email", "offline_access", "unknown"]) == \
        ("openid", "email", "api1", "offline_access")


def test_narrowing_keeps_order_and_drops_resources_and_audiences() -> None:
    narrow = narrowed(request(), ("openid", "api1", "profile"))
    assert narrow.scopes == ("openid", "profile", "api1")
    assert [r.name for r in narrow.resources.identity_resources] == ["openid", "profile"]
    assert [s.name for s in narrow.resources.api_scopes] == ["api1"]
    assert [r.name for r in narrow.resources.api_resources] == ["files"]


def test_narrowing_to_everything_returns_the_request_itself() -> None:
    whole = request()
    assert narrowed(whole, SCOPES) is whole
