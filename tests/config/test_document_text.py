"""The document as IdentityServer users have it: appsettings.json with comments, trailing commas,
or the section pasted from IdentityServer's documentation as a bare member; and input that must
be refused with a message, never a traceback: deep nesting, numbers no column can hold."""

from __future__ import annotations

import json

import pytest

from identity.config_document import ConfigDocumentError, parse_document, parse_json
from tests.factories import DEFINING_CLIENTS_EXAMPLE

SECRET = "K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols="
# IdentityServer's "Defining Clients" page, as shown there: no outer braces, a trailing comma.
DOCS_EXAMPLE = DEFINING_CLIENTS_EXAMPLE
APPSETTINGS = """\
// appsettings.Production.json
{
  /* Logging is read by ASP.NET Core,
     not by this server. */
  "Logging": { "LogLevel": { "Default": "Information", }, },
  "AllowedHosts": "*", // any
  "IdentityServer": {
    "Clients": [
      {
        "ClientId": "billing", // the billing job
        "ClientSecrets": [ { "Value": "K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=" }, ],
        "AllowedGrantTypes": [ "client_credentials" /* only */ ],
        "AllowedScopes": [ "api1", ],
        "AccessTokenLifetime": 600, /* ten minutes */
      },
    ],
  },
}
"""


def _client(**fields) -> dict:
    return {"ClientId": "c1", "ClientSecrets": [{"Value": SECRET}],
            "AllowedGrantTypes": ["client_credentials"], **fields}


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigDocumentError) as exc:
        parse_json(text, "f.json")
    return exc.value.problems


# ---- comments, trailing commas, a bare member ----------------------------------------------

def test_the_documentation_example_is_read_as_pasted() -> None:
    doc = parse_json(DOCS_EXAMPLE)
    client = doc.clients[0]
    assert (client.client_id, client.client_name) == ("local-dev", "Local Development")
    assert client.client_secrets[0].value == SECRET
    assert client.allowed_scopes == ("api1",)
    assert any("without outer braces" in n for n in doc.notes)


def test_a_bare_member_may_end_with_a_comma() -> None:
    text = '"IdentityServer": {"Clients": [' + json.dumps(_client()) + "]},\n"
    assert parse_json(text).clients[0].client_id == "c1"


def test_appsettings_comments_and_trailing_commas_are_accepted() -> None:
    doc = parse_json(APPSETTINGS)
    assert doc.clients[0].client_id == "billing"
    assert doc.clients[0].access_token_lifetime == 600
    assert not any("without outer braces" in n for n in doc.notes)


@pytest.mark.parametrize("value", [
    "https://app.example.com/a//b", "a // b", "/* not a comment */", "a, ]", "a ,}", ",",
    'quote \\" // still a string /*', "ends with a backslash \\\\", "\\\\\\\" , ] //",
    "\\u002f\\u002f", "é // ü",
])
def test_comment_and_comma_lookalikes_inside_strings_are_kept(value: str) -> None:
    text = ('{ "Clients": [ { "ClientId": "c1", // a comment\n'
            f'  "ClientName": "{value}", /* a comment */ "Description": "{value}",\n'
            f'  "Properties": {{ "k": "{value}", }},\n'
            f'  "ClientSecrets": [ {{ "Value": "{SECRET}" }} ],\n'
            '  "AllowedGrantTypes": [ "client_credentials", ], }, ], }')
    client = parse_json(text).clients[0]
    expected = json.loads(f'"{value}"')
    assert client.client_name == expected
    assert client.description == expected
    assert client.properties == (("k", expected),)


def test_broken_json_reports_the_line_and_column_of_the_original_text() -> None:
    text = ('// header comment\n/* a block\n   comment */ {\n'
            '  "Clients": [ /* x */ {"ClientId" "c1"} ]\n}')
    problems = _problems(text)
    assert problems == ["f.json: invalid JSON at line 4, column 36: Expecting ':' delimiter"]
    assert text.splitlines()[3][35] == '"'


def test_broken_bare_member_reports_the_original_position() -> None:
    text = '"IdentityServer": {\n  "Clients": [ {"ClientId": } ]\n}'
    problems = _problems(text)
    assert problems == ["f.json: invalid JSON at line 2, column 29: Expecting value"]


def test_an_unclosed_block_comment_is_named() -> None:
    problems = _problems('{ "Clients": [] }\n  /* never closed')
    assert problems == ["f.json: invalid JSON at line 2, column 3: a /* comment is not closed "
                        "with */."]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_are_not_json(literal: str) -> None:
    problems = _problems('{"Clients": [\n {"ClientId": "c1", "AccessTokenLifetime": '
                         + literal + "} ] }")
    column = 44 + literal.startswith("-")  # where the word starts
    assert problems == [f"f.json: invalid JSON at line 2, column {column}: "
                        f"{literal.lstrip('-')} is not a JSON number."]


# ---- depth ---------------------------------------------------------------------------------

def test_nesting_100000_deep_is_refused_with_a_message() -> None:
    problems = _problems("[" * 100_000 + "]" * 100_000)
    assert problems == ["f.json: line 1, column 65: the document nests deeper than 64 levels; "
                        "an IdentityServer document needs fewer than 10 (System.Text.Json, "
                        "which reads appsettings.json, stops at 64 too)."]


def test_nesting_is_counted_outside_strings_only() -> None:
    deep = "[" * 200
    doc = parse_json(json.dumps({"Clients": [_client(ClientName=deep)]}))
    assert doc.clients[0].client_name == deep


def test_64_levels_are_accepted_65_refused() -> None:
    def nested(levels: int) -> str:  # the outer object is the first level
        return '{"Other": ' + "[" * (levels - 1) + "]" * (levels - 1) + ', "Clients": []}'

    assert parse_json(nested(64)).clients == ()
    assert "nests deeper than 64 levels" in _problems(nested(65))[0]


# ---- numbers -------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "shown"), [
    ("99999999999999999999", "99999999999999999999"),
    ("2147483648", "2147483648"),
    ("-2147483649", "-2147483649"),
    ('"999999999999"', "'999999999999'"),
    ("1e400", "1e400"),
    ("9" * 5000, "a number of 5000 digits"),
])
def test_numbers_no_column_can_hold_are_refused_naming_client_and_field(raw, shown) -> None:
    text = '{"Clients": [' + json.dumps(_client())[:-1] + f', "AccessTokenLifetime": {raw}}}]}}'
    problems = _problems(text)
    assert problems == [f"Clients[0] ('c1').AccessTokenLifetime: {shown} is out of range; "
                        "use a whole number from -2147483648 to 2147483647 (IdentityServer's "
                        "int)."]


def test_the_largest_int_passes_the_parser(monkeypatch) -> None:
    # The configuration rules bound lifetimes further; here only what a column can hold.
    monkeypatch.setattr("identity.config_document.validate_client", lambda client: [])
    client = parse_document([_client(AbsoluteRefreshTokenLifetime=2147483647,
                                     AccessTokenLifetime="-2147483648")]).clients[0]
    assert client.absolute_refresh_token_lifetime == 2147483647
    assert client.access_token_lifetime == -2147483648


@pytest.mark.parametrize(("value", "shown"), [
    (float("nan"), "NaN"), (float("inf"), "Infinity"), (1.5, "1.5"), (1e300, "1e+300"),
])
def test_decimal_and_non_finite_numbers_are_refused(value, shown) -> None:
    with pytest.raises(ConfigDocumentError) as exc:
        parse_document([_client(AccessTokenLifetime=value)])
    assert exc.value.problems == [
        f"Clients[0] ('c1').AccessTokenLifetime: expected a whole number, got {shown}."]


def test_a_timespan_too_long_for_the_column_is_refused() -> None:
    with pytest.raises(ConfigDocumentError) as exc:
        parse_document([_client(DPoPClockSkew="99999999.00:00:00")])
    assert "DPoPClockSkew: '99999999.00:00:00' is out of range" in exc.value.problems[0]


def test_a_date_that_leaves_the_calendar_in_utc_is_refused() -> None:
    with pytest.raises(ConfigDocumentError) as exc:
        parse_document([_client(ClientSecrets=[{"Value": SECRET,
                                                "Expiration": "0001-01-01T00:00:00+01:00"}])])
    assert "Expiration" in exc.value.problems[0] and "out of range" in exc.value.problems[0]


def test_messages_show_containers_by_kind_never_their_contents() -> None:
    with pytest.raises(ConfigDocumentError) as exc:
        parse_document([_client(AccessTokenLifetime=[[["x" * 10_000]]])])
    assert exc.value.problems == [
        "Clients[0] ('c1').AccessTokenLifetime: expected a whole number, got a list."]
