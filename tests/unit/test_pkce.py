"""identity.validation.pkce: Proof Key for Code Exchange (RFC 7636 §4.1-4.6)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity.domain.client import Client
from identity.errors import InvalidGrant, InvalidRequest
from identity.validation.pkce import PLAIN, S256, validate_challenge, verify
from tests.factories import make_interactive_client
from tests.unit.support import PROPERTY, UNRESERVED, VERIFIER, s256

CONFIDENTIAL = make_interactive_client()                          # RequirePkce defaults to true
CONFIDENTIAL_NO_PKCE = make_interactive_client(require_pkce=False)
PUBLIC_NO_PKCE = make_interactive_client(require_client_secret=False, client_secrets=(),
                                         require_pkce=False)
PLAIN_ALLOWED = make_interactive_client(allow_plain_text_pkce=True)


def test_rfc7636_appendix_b_example() -> None:
    challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert s256(VERIFIER) == challenge  # the helper itself agrees with the RFC
    verify(VERIFIER, challenge, S256)


# validate_challenge (authorize endpoint) --------------------------------------------------------

@pytest.mark.parametrize("client", [CONFIDENTIAL, PUBLIC_NO_PKCE, PLAIN_ALLOWED],
                         ids=["require_pkce", "public client", "plain allowed"])
def test_challenge_required(client: Client) -> None:
    with pytest.raises(InvalidRequest, match="code_challenge is required"):
        validate_challenge(client, None, None)


def test_confidential_client_without_require_pkce_may_omit_the_challenge() -> None:
    assert validate_challenge(CONFIDENTIAL_NO_PKCE, None, None) == (None, None)


@pytest.mark.parametrize("client", [CONFIDENTIAL, CONFIDENTIAL_NO_PKCE])
def test_method_without_challenge_refused(client: Client) -> None:
    with pytest.raises(InvalidRequest, match="without code_challenge"):
        validate_challenge(client, None, S256)


@pytest.mark.parametrize("client", [CONFIDENTIAL, CONFIDENTIAL_NO_PKCE, PUBLIC_NO_PKCE])
def test_s256_challenge_accepted(client: Client) -> None:
    challenge = s256(VERIFIER)
    assert validate_challenge(client, challenge, S256) == (challenge, S256)


@pytest.mark.parametrize("method", [None, PLAIN])
def test_plain_refused_unless_the_client_allows_it(method: str | None) -> None:
    # RFC 7636 §4.3: an absent method means plain.
    with pytest.raises(InvalidRequest, match="plain is not allowed"):
        validate_challenge(CONFIDENTIAL, VERIFIER, method)
    assert validate_challenge(PLAIN_ALLOWED, VERIFIER, method) == (VERIFIER, PLAIN)


@pytest.mark.parametrize("method", ["s256", "SHA256", "S512", "PLAIN", "none", "S256 "])
def test_unknown_methods_refused(method: str) -> None:
    with pytest.raises(InvalidRequest, match="must be S256 or plain"):
        validate_challenge(PLAIN_ALLOWED, s256(VERIFIER), method)


@pytest.mark.parametrize("challenge", [
    "a" * 42,
    "a" * 129,
    "a" * 42 + "+",     # base64, not base64url
    "a" * 42 + "/",
    "a" * 42 + "=",     # padding
    "a" * 42 + " ",
    "a" * 42 + "é",
    "a" * 43 + "\n",    # a trailing newline must not slip past "$"
    "\n" + "a" * 43,
])
def test_malformed_challenge_refused(challenge: str) -> None:
    with pytest.raises(InvalidRequest, match="43-128 characters"):
        validate_challenge(PLAIN_ALLOWED, challenge, PLAIN)


@pytest.mark.parametrize("challenge", ["a" * 43, "a" * 128, UNRESERVED[:43], UNRESERVED[-43:]])
def test_challenge_bounds_and_alphabet_accepted(challenge: str) -> None:
    assert validate_challenge(PLAIN_ALLOWED, challenge, PLAIN) == (challenge, PLAIN)


# verify (token endpoint) ------------------------------------------------------------------------

def test_no_challenge_and_no_verifier_passes() -> None:
    verify(None, None, None)


def test_verifier_for_a_code_issued_without_challenge_refused() -> None:
    # A downgrade: an attacker who stole a code issued without PKCE cannot make it look PKCE'd,
    # and a client sending a verifier for such a code is told so (RFC 9700 §2.1.1).
    with pytest.raises(InvalidGrant, match="issued without code_challenge"):
        verify(VERIFIER, None, None)


@pytest.mark.parametrize("method", [S256, PLAIN, None])
def test_missing_verifier_refused(method: str | None) -> None:
    with pytest.raises(InvalidGrant, match="missing"):
        verify(None, s256(VERIFIER), method)


def test_plain_compares_the_verifier_itself() -> None:
    verify(VERIFIER, VERIFIER, PLAIN)
    verify(VERIFIER, VERIFIER, None)  # stored without a method: plain


def test_s256_challenge_presented_as_verifier_refused() -> None:
    # Whoever saw the authorize request knows the challenge; it must not redeem the code.
    challenge = s256(VERIFIER)
    with pytest.raises(InvalidGrant, match="does not match"):
        verify(challenge, challenge, S256)


def test_plain_code_is_not_redeemed_with_a_verifier_whose_hash_is_the_challenge() -> None:
    with pytest.raises(InvalidGrant, match="does not match"):
        verify(VERIFIER, s256(VERIFIER), PLAIN)


@pytest.mark.parametrize("verifier", [
    "a" * 42, "a" * 129, "a" * 42 + "+", "a" * 42 + "=", "a" * 43 + "\n", "a" * 42 + "é",
])
@pytest.mark.parametrize("method", [S256, PLAIN])
def test_malformed_verifier_refused_even_if_it_would_match(verifier: str, method: str) -> None:
    challenge = s256(verifier) if method == S256 else verifier
    with pytest.raises(InvalidGrant, match="43-128 characters"):
        verify(verifier, challenge, method)


def test_verifier_errors_are_invalid_grant() -> None:
    # RFC 7636 §4.6: a failed verification is invalid_grant at the token endpoint.
    with pytest.raises(InvalidGrant) as caught:
        verify("b" * 43, s256(VERIFIER), S256)
    assert caught.value.error == "invalid_grant"


# Properties -------------------------------------------------------------------------------------

verifiers = st.text(st.sampled_from(UNRESERVED), min_size=43, max_size=128)


@PROPERTY
@given(verifiers)
def test_any_s256_pair_verifies_and_its_challenge_is_accepted(verifier: str) -> None:
    challenge = s256(verifier)
    assert validate_challenge(CONFIDENTIAL, challenge, S256) == (challenge, S256)
    verify(verifier, challenge, S256)


@PROPERTY
@given(verifiers, st.data())
def test_any_changed_character_of_the_verifier_fails(verifier: str, data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(verifier) - 1))
    other = data.draw(st.sampled_from(UNRESERVED.replace(verifier[index], "")))
    tampered = verifier[:index] + other + verifier[index + 1:]
    with pytest.raises(InvalidGrant, match="does not match"):
        verify(tampered, s256(verifier), S256)
    with pytest.raises(InvalidGrant, match="does not match"):
        verify(tampered, verifier, PLAIN)


@PROPERTY
@given(verifiers, st.sampled_from(UNRESERVED))
def test_a_verifier_with_a_character_more_or_less_fails(verifier: str, extra: str) -> None:
    challenge = s256(verifier)
    for tampered in (verifier[:-1], verifier + extra):
        if 43 <= len(tampered) <= 128:
            with pytest.raises(InvalidGrant, match="does not match"):
                verify(tampered, challenge, S256)
        else:
            with pytest.raises(InvalidGrant, match="43-128"):
                verify(tampered, challenge, S256)
