"""identity.validation.client_support: client values needing features this server lacks are
refused, so that no client believes a requirement is enforced when it is not."""

from __future__ import annotations

from typing import Any

import pytest

from identity.constants import (
    REVOCABLE_JWT_PROPERTY,
    SIGNING_ALGORITHMS,
    DPoPTokenExpirationValidationMode,
)
from identity.domain.client import Client, ClientClaim, Secret
from identity.validation.client_support import (
    SUPPORTED_GRANT_TYPES,
    ConfigProblem,
    signing_algorithm_problems,
    unsupported_grant_problems,
    unsupported_problems,
)
from tests.factories import make_client, make_interactive_client, make_secret
from tests.fapi.jose import ec_key, jwk_secret, rsa_key


def fields(problems: list[ConfigProblem]) -> list[str]:
    """Return the field of each problem, in order."""
    return [p.field for p in problems]


@pytest.mark.parametrize("client", [Client("bare"), make_client(), make_interactive_client()])
def test_defaults_and_factories_have_no_unsupported_values(client: Client) -> None:
    assert unsupported_problems(client) == []


@pytest.mark.parametrize(("overrides", "field"), [
    ({"dpop_validation_mode": DPoPTokenExpirationValidationMode.Custom}, "dpop_validation_mode"),
    ({"coordinate_lifetime_with_user_session": True}, "coordinate_lifetime_with_user_session"),
    ({"enable_local_login": False}, "enable_local_login"),
    ({"allowed_identity_token_signing_algorithms": ("RS256",)},
     "allowed_identity_token_signing_algorithms"),
])
def test_each_unsupported_property_is_refused(overrides: dict[str, Any], field: str) -> None:
    assert fields(unsupported_problems(make_client(**overrides))) == [field]


@pytest.mark.parametrize("overrides", [
    {"back_channel_logout_uri": ""}, {"back_channel_logout_uri": None},
    {"back_channel_logout_uri": "https://app.example.com/bcl"},  # back-channel logout works
    {"coordinate_lifetime_with_user_session": False},
    {"coordinate_lifetime_with_user_session": None},
    {"require_dpop": False}, {"enable_local_login": True},
    # FAPI 2.0 (PAR, signed request objects, DPoP) is implemented.
    {"require_dpop": True}, {"require_pushed_authorization": True},
    {"require_request_object": True}, {"pushed_authorization_lifetime": 30},
    {"dpop_clock_skew": 0},
    {"dpop_validation_mode": DPoPTokenExpirationValidationMode.Iat},
    {"dpop_validation_mode": DPoPTokenExpirationValidationMode.Nonce},
    {"dpop_validation_mode": DPoPTokenExpirationValidationMode.IatAndNonce},
])
def test_values_that_need_no_missing_feature_are_fine(overrides: dict[str, Any]) -> None:
    assert unsupported_problems(make_client(**overrides)) == []


def test_custom_dpop_validation_mode_says_what_to_use() -> None:
    (problem,) = unsupported_problems(make_client(dpop_validation_mode=0))
    assert problem.message.startswith("Custom is not supported")
    assert "use Iat (1), Nonce (2) or IatAndNonce (3)" in problem.message


def test_every_problem_is_reported_not_just_the_first() -> None:
    client = make_client(dpop_validation_mode=0, enable_local_login=False,
                         protocol_type="saml2p", client_secrets=(Secret("x", type="X509Name"),))
    assert fields(unsupported_problems(client)) == [
        "dpop_validation_mode", "enable_local_login", "protocol_type", "client_secrets"]


@pytest.mark.parametrize(("protocol", "message"), [
    ("wsfed", "'wsfed' is not supported yet"),
    ("saml2p", "'saml2p' is not supported yet"),
    ("OIDC", "'OIDC' is unknown"),
    ("", "'' is unknown"),
])
def test_protocol_type(protocol: str, message: str) -> None:
    problems = unsupported_problems(make_client(protocol_type=protocol))
    assert fields(problems) == ["protocol_type"]
    assert problems[0].message.startswith(message)


def test_x509_secret_types_are_refused_once_per_type() -> None:
    client = make_client(client_secrets=(
        make_secret(), Secret("a", type="X509Thumbprint"), Secret("b", type="X509Thumbprint"),
        Secret("c", type="X509Name"), jwk_secret(ec_key())))
    problems = unsupported_problems(client)
    assert fields(problems) == ["client_secrets", "client_secrets"]
    assert "'X509Name'" in problems[0].message and "'X509Thumbprint'" in problems[1].message
    assert "mTLS is not implemented" in problems[0].message


def test_a_jwk_secret_holding_a_public_key_is_fine() -> None:
    client = make_client(client_secrets=(jwk_secret(rsa_key()), jwk_secret(ec_key())))
    assert unsupported_problems(client) == []


@pytest.mark.parametrize(("value", "words"), [
    ("c", "the JWK is not JSON"),
    ('["kty"]', "not a JSON object"),
    ('{"kty": "oct", "k": "c2VjcmV0"}', "private or symmetric"),
])
def test_a_jwk_secret_that_is_not_a_public_key_is_refused_once_each(value: str,
                                                                   words: str) -> None:
    client = make_client(client_secrets=(make_secret(), Secret(value, type="JWK"),
                                         Secret(value, type="JWK")))
    problems = unsupported_problems(client)
    assert fields(problems) == ["client_secrets", "client_secrets"]
    assert words in problems[0].message


@pytest.mark.parametrize(("value_type", "refused"), [
    ("string", False),
    ("http://www.w3.org/2001/XMLSchema#string", False),
    ("http://www.w3.org/2001/XMLSchema#integer", True),
    ("json", True),
    ("String", True),
])
def test_client_claim_value_types(value_type: str, refused: bool) -> None:
    client = make_client(claims=(ClientClaim("tier", "gold", value_type),))
    assert fields(unsupported_problems(client)) == (["claims"] if refused else [])


@pytest.mark.parametrize(("properties", "problem"), [
    ((), None),
    (((REVOCABLE_JWT_PROPERTY, "true"),), None),
    (((REVOCABLE_JWT_PROPERTY, "false"),), None),
    (((REVOCABLE_JWT_PROPERTY, "True"),), None),   # values read case-insensitively
    (((REVOCABLE_JWT_PROPERTY, "yes"),), "is 'yes'"),
    (((REVOCABLE_JWT_PROPERTY, ""),), "is ''"),
    ((("revocablejwtaccesstokens", "true"),), "keys are case-sensitive"),
    ((("REVOCABLEJWTACCESSTOKENS", "true"),), "keys are case-sensitive"),
    ((("AnythingElse", "whatever"),), None),       # free-form keys are kept, never read
])
def test_known_properties(properties: tuple[tuple[str, str], ...], problem: str | None) -> None:
    problems = unsupported_problems(make_client(properties=properties))
    if problem is None:
        assert problems == []
    else:
        assert fields(problems) == ["properties"] and problem in problems[0].message


# Grant types and signing algorithms -------------------------------------------------------------

def test_supported_grant_types_pass() -> None:
    assert unsupported_grant_problems(SUPPORTED_GRANT_TYPES) == []


def test_refresh_token_is_not_a_grant_type_to_list() -> None:
    (problem,) = unsupported_grant_problems(["refresh_token"])
    assert "AllowOfflineAccess" in problem.message


@pytest.mark.parametrize("grant", ["implicit", "hybrid", "password",
                                   "urn:openid:params:grant-type:ciba"])
def test_known_but_unimplemented_grants(grant: str) -> None:
    (problem,) = unsupported_grant_problems([grant, "client_credentials"])
    assert problem.field == "allowed_grant_types"
    assert problem.message.startswith(f"{grant} is not supported yet")


def test_extension_grants() -> None:
    (problem,) = unsupported_grant_problems(["urn:example:custom"])
    assert "no extension grants" in problem.message


def test_unsupported_grants_sorted_and_deduplicated_and_blank_ones_left_to_the_syntax_rule(
) -> None:
    problems = unsupported_grant_problems(["password", "implicit", "password", "", "a b"])
    assert [p.message.split(" ")[0] for p in problems] == ["implicit", "password"]


def test_signing_algorithms() -> None:
    assert signing_algorithm_problems(sorted(SIGNING_ALGORITHMS)) == []
    assert signing_algorithm_problems([]) == []
    (problem,) = signing_algorithm_problems(["RS256", "none", "HS256", "HS256", "rs256"])
    assert problem.message.startswith("HS256, none, rs256 not supported")


def test_describe_uses_identityserver_names() -> None:
    problem = ConfigProblem("require_dpop", "no")
    assert problem.describe("web") == "client 'web', RequireDPoP: no"
    assert ConfigProblem("allowed_grant_types", "x").describe("a'b") == (
        "client \"a'b\", AllowedGrantTypes: x")
