"""User codes and the client rules of the device flow, without HTTP.

Spec: RFC 8628 §6.1; IdentityServer's UserCodeType (`Numeric`: 9 digits).
"""

from __future__ import annotations

import math

import pytest

from identity.validation.client_config import validate_client
from identity.validation.user_code import (
    LETTERS,
    new_user_code,
    normalise,
    user_code_key,
    user_code_type_problem,
)
from tests.device.support import device_client


def test_default_codes_are_8_unambiguous_consonants_shown_in_two_groups() -> None:
    codes = {new_user_code(None) for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        first, second = code.split("-")
        assert len(first) == len(second) == 4
        assert set(first + second) <= set(LETTERS)
    assert not set(LETTERS) & set("AEIOUY01")  # no words, nothing that looks like a digit
    assert math.log2(len(LETTERS) ** 8) > 34


def test_numeric_codes_are_9_digits() -> None:
    code = new_user_code("Numeric")
    assert len(code) == 9 and code.isdigit()


@pytest.mark.parametrize("typed", ["wdjb-mjht", "WDJBMJHT", " wd jb  mj ht ", "WDJB\u2013MJHT"])
def test_case_spaces_and_dashes_do_not_matter(typed: str) -> None:
    assert normalise(typed) == "WDJBMJHT"
    assert user_code_key(typed) == user_code_key("WDJB-MJHT")


def test_a_different_code_has_a_different_key() -> None:
    assert user_code_key("WDJB-MJHV") != user_code_key("WDJB-MJHT")


@pytest.mark.parametrize("kind", [None, "", "Numeric", "Letters"])
def test_known_user_code_types_pass(kind: str | None) -> None:
    assert user_code_type_problem(kind) is None
    assert validate_client(device_client(user_code_type=kind)) == []


def test_an_unknown_user_code_type_is_refused_with_the_fix() -> None:
    (problem,) = [p for p in validate_client(device_client(user_code_type="numeric"))]
    assert problem.field == "user_code_type"
    assert problem.message.startswith("'numeric' is not a user code type; use Numeric")


def test_a_device_client_passes_the_rules() -> None:
    assert validate_client(device_client()) == []
    assert validate_client(device_client(client_secrets=(), require_client_secret=False)) == []
