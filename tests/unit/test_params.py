"""identity.validation.params: form and query parsing (RFC 6749 §3.1, §3.2, §5.2)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from identity.errors import InvalidGrant, InvalidRequest
from identity.validation.params import (
    FORM_CONTENT_TYPE,
    MAX_FIELDS,
    check_grant_value,
    parse_form,
    parse_query,
)
from tests.unit.support import PROPERTY

LIMITS: dict[str, int] = {"client_id": 10, "code": 20, "refresh_token": 20}
DEFAULT_LIMIT = 30


def parse(body: str | bytes, content_type: str = FORM_CONTENT_TYPE, *,
          max_body: int = 4096) -> Mapping[str, str]:
    """Parse `body` with small limits: client_id 10, code and refresh_token 20, others 30."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    return parse_form(raw, content_type, max_body=max_body, max_lengths=LIMITS,
                      default_max_length=DEFAULT_LIMIT)


def test_decodes_percent_escapes_and_plus() -> None:
    params = parse("grant_type=client_credentials&scope=api1+api2&client_id=a%2Fb%C3%A9")
    assert dict(params) == {"grant_type": "client_credentials", "scope": "api1 api2",
                            "client_id": "a/bé"}


@pytest.mark.parametrize("content_type", [
    FORM_CONTENT_TYPE,
    "application/x-www-form-urlencoded; charset=UTF-8",
    "Application/X-WWW-Form-URLEncoded",
    " application/x-www-form-urlencoded ;charset=utf-8",
])
def test_form_media_type_accepted_with_parameters_and_any_case(content_type: str) -> None:
    assert parse("a=1", content_type) == {"a": "1"}


@pytest.mark.parametrize("content_type", [
    "", "application/json", "text/plain", "multipart/form-data; boundary=x",
    "application/x-www-form-urlencodedx", "application/x-www-form",
])
def test_other_media_types_refused(content_type: str) -> None:
    with pytest.raises(InvalidRequest, match="must be application/x-www-form-urlencoded"):
        parse("a=1", content_type)


def test_body_size_limit_is_inclusive() -> None:
    body = "a=" + "x" * 8  # 10 bytes
    assert parse(body, max_body=10) == {"a": "x" * 8}
    with pytest.raises(InvalidRequest, match="too large"):
        parse(body, max_body=9)


@pytest.mark.parametrize("body", [b"a=\xff", b"a=\xc3", b"\xe9=1"])
def test_raw_bytes_that_are_not_utf8_refused(body: bytes) -> None:
    with pytest.raises(InvalidRequest, match="not valid UTF-8"):
        parse(body)


@pytest.mark.parametrize("body", ["a=%FF", "a=%C3", "%E9=1"])
def test_percent_escapes_that_are_not_utf8_refused(body: str) -> None:
    with pytest.raises(InvalidRequest, match="not a valid form"):
        parse(body)


def test_field_count_limit() -> None:
    fields = [f"f{i}=v" for i in range(MAX_FIELDS)]
    assert len(parse("&".join(fields))) == MAX_FIELDS
    with pytest.raises(InvalidRequest, match="too many fields"):
        parse("&".join([*fields, "one=more"]))


@pytest.mark.parametrize("body", [
    "client_id=a&client_id=b",
    "client_id=a&client_id=a",  # the same value twice is still a repetition
    "scope=&scope=api1",        # an empty occurrence counts too
    "scope=api1&scope=",
    "code=x&code",
])
def test_repeated_parameters_refused(body: str) -> None:
    with pytest.raises(InvalidRequest, match="must not be repeated"):
        parse(body)


def test_every_repeated_name_is_named_in_sorted_order() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse("z=1&a=1&m=1&z=2&a=2")
    assert caught.value.description == "parameters must not be repeated: a, z"


def test_parameters_without_value_are_treated_as_omitted() -> None:
    # RFC 6749 §3.1: "Parameters sent without a value MUST be treated as if they were omitted".
    assert dict(parse("scope=&client_id=x&state")) == {"client_id": "x"}


def test_result_is_read_only() -> None:
    params = parse("a=1")
    with pytest.raises(TypeError):
        params["a"] = "2"  # type: ignore[index]


@pytest.mark.parametrize(("name", "limit"), [("client_id", 10), ("scope", DEFAULT_LIMIT),
                                             ("state", DEFAULT_LIMIT)])
def test_length_limit_per_parameter_is_inclusive(name: str, limit: int) -> None:
    assert parse(f"{name}={'x' * limit}")[name] == "x" * limit
    with pytest.raises(InvalidRequest, match=f"{name} is too long"):
        parse(f"{name}={'x' * (limit + 1)}")


def test_length_counts_decoded_characters_not_escapes() -> None:
    # Ten "é" are 60 characters escaped, 10 decoded: within client_id's limit of 10.
    assert parse("client_id=" + "%C3%A9" * 10)["client_id"] == "é" * 10


@pytest.mark.parametrize(("grant_type", "name"), [("authorization_code", "code"),
                                                  ("refresh_token", "refresh_token")])
def test_the_redeemed_value_is_left_to_check_grant_value(grant_type: str, name: str) -> None:
    long_value = "x" * 100
    params = parse(f"grant_type={grant_type}&{name}={long_value}")
    assert params[name] == long_value
    with pytest.raises(InvalidGrant):
        check_grant_value(params, LIMITS, default_max_length=DEFAULT_LIMIT)


@pytest.mark.parametrize("body", [
    "grant_type=refresh_token&code=" + "x" * 21,          # code is not what this grant redeems
    "grant_type=authorization_code&refresh_token=" + "x" * 21,
    "grant_type=client_credentials&code=" + "x" * 21,
    "code=" + "x" * 21,                                   # no grant type at all
])
def test_other_parameters_named_like_grant_values_keep_their_limit(body: str) -> None:
    with pytest.raises(InvalidRequest, match="too long"):
        parse(body)


@pytest.mark.parametrize("body", [
    "client_id=a%00b",
    "state=%00",
    "grant_type=authorization_code&code=abc%00",  # the exempt grant value too
])
def test_nul_in_a_value_refused(body: str) -> None:
    with pytest.raises(InvalidRequest, match="NUL"):
        parse(body)


# check_grant_value ------------------------------------------------------------------------------

@pytest.mark.parametrize(("params", "refused"), [
    ({"grant_type": "authorization_code", "code": "x" * 20}, False),
    ({"grant_type": "authorization_code", "code": "x" * 21}, True),
    ({"grant_type": "refresh_token", "refresh_token": "x" * 20}, False),
    ({"grant_type": "refresh_token", "refresh_token": "x" * 21}, True),
    ({"grant_type": "authorization_code"}, False),  # a missing code is another check's business
    ({"grant_type": "client_credentials", "code": "x" * 500}, False),
    ({"grant_type": "urn:example:custom", "refresh_token": "x" * 500}, False),
    ({"code": "x" * 500}, False),
])
def test_check_grant_value(params: dict[str, str], refused: bool) -> None:
    if refused:
        with pytest.raises(InvalidGrant) as caught:
            check_grant_value(params, LIMITS, default_max_length=DEFAULT_LIMIT)
        # RFC 6749 §5.2: an unknown code is invalid_grant, not invalid_request.
        assert caught.value.error == "invalid_grant"
    else:
        check_grant_value(params, LIMITS, default_max_length=DEFAULT_LIMIT)


def test_check_grant_value_falls_back_to_the_default_limit() -> None:
    params = {"grant_type": "authorization_code", "code": "x" * 31}
    check_grant_value(params, {}, default_max_length=31)
    with pytest.raises(InvalidGrant):
        check_grant_value(params, {}, default_max_length=30)


# parse_query ------------------------------------------------------------------------------------

def query(text: str, *, max_query: int = 4096) -> Mapping[str, str]:
    """Parse a query string with the same small limits as `parse`."""
    return parse_query(text, max_query=max_query, max_lengths=LIMITS,
                       default_max_length=DEFAULT_LIMIT)


def test_query_decodes_escapes() -> None:
    assert dict(query("client_id=c&state=%C3%A9+x")) == {"client_id": "c", "state": "é x"}


def test_query_as_wsgi_hands_it_over_is_read_as_utf8() -> None:
    # PEP 3333: QUERY_STRING holds the raw bytes decoded as latin-1; "é" arrives as "Ã©".
    raw = "state=é".encode().decode("latin-1")
    assert query(raw)["state"] == "é"


def test_query_has_the_form_rules() -> None:
    with pytest.raises(InvalidRequest, match="repeated"):
        query("state=a&state=b")
    with pytest.raises(InvalidRequest, match="client_id is too long"):
        query("client_id=" + "x" * 11)
    assert "scope" not in query("scope=&state=s")


def test_query_size_limit() -> None:
    assert query("a=123", max_query=5) == {"a": "123"}
    with pytest.raises(InvalidRequest, match="too large"):
        query("a=1234", max_query=5)


# Properties -------------------------------------------------------------------------------------

_names = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)
_values = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
                  min_size=1, max_size=40)


@PROPERTY
@given(st.dictionaries(_names, _values, max_size=MAX_FIELDS))
def test_any_encoded_form_of_distinct_names_round_trips(fields: dict[str, str]) -> None:
    body = urlencode(fields).encode("utf-8")
    parsed = parse_form(body, FORM_CONTENT_TYPE, max_body=len(body), max_lengths={},
                        default_max_length=40)
    assert dict(parsed) == fields


@PROPERTY
@given(st.dictionaries(_names, _values, min_size=1, max_size=10), st.data())
def test_any_repeated_name_is_refused(fields: dict[str, str], data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(fields)))
    body = (urlencode(fields) + "&" + urlencode({name: "again"})).encode("utf-8")
    with pytest.raises(InvalidRequest, match="must not be repeated"):
        parse_form(body, FORM_CONTENT_TYPE, max_body=len(body), max_lengths={},
                   default_max_length=40)
