"""identity.validation.client_auth: which credentials a request carries (RFC 6749 §2.3.1,
Appendix B) and whether they authenticate a client."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from identity.constants import ClientAuthMethod
from identity.domain.client import Secret
from identity.errors import InvalidClient, InvalidRequest
from identity.hashing import hash_secret
from identity.stores.memory import InMemoryClientStore
from identity.validation.client_auth import (
    BASIC_CHALLENGE,
    ClientCredentials,
    authenticate_client,
    extract_credentials,
)
from tests.factories import make_client, make_secret
from tests.helpers.basic_auth import basic

NOW = datetime(2026, 1, 1, tzinfo=UTC)
BASIC = ClientAuthMethod.CLIENT_SECRET_BASIC
POST = ClientAuthMethod.CLIENT_SECRET_POST
NONE = ClientAuthMethod.NONE


def header(raw: bytes, scheme: str = "Basic") -> str:
    """Return an Authorization header of `scheme` carrying the Base64 of `raw`."""
    return f"{scheme} {base64.b64encode(raw).decode('ascii')}"


# extract_credentials ----------------------------------------------------------------------------

def test_basic_header() -> None:
    assert extract_credentials({}, basic("svc", "s3cret")) == ClientCredentials(
        "svc", "s3cret", BASIC)


@pytest.mark.parametrize("scheme", ["basic", "BASIC", "bAsIc"])
def test_basic_scheme_is_case_insensitive(scheme: str) -> None:
    # RFC 9110 §11.1: the scheme name is case-insensitive.
    assert extract_credentials({}, header(b"svc:s", scheme)).method is BASIC


def test_basic_header_with_surrounding_spaces() -> None:
    value = "  Basic   " + base64.b64encode(b"svc:s").decode() + "  "
    assert extract_credentials({}, value) == ClientCredentials("svc", "s", BASIC)


@pytest.mark.parametrize(("client_id", "secret"), [
    ("my client", "pa ss"),
    ("urn:example:client", "a:b:c"),       # colons survive the encoding
    ("id+plus", "secret+%/&="),
    ("клиент", "秘密"),
])
def test_basic_id_and_secret_are_form_decoded(client_id: str, secret: str) -> None:
    assert extract_credentials({}, basic(client_id, secret)) == ClientCredentials(
        client_id, secret, BASIC)


def test_basic_unencoded_colon_in_the_secret_stays_in_the_secret() -> None:
    # Only the first colon separates: an unencoded one in the secret is kept.
    assert extract_credentials({}, header(b"svc:a:b")).secret == "a:b"


def test_basic_plus_means_space() -> None:
    credentials = extract_credentials({}, header(b"my+client:s+1"))
    assert (credentials.client_id, credentials.secret) == ("my client", "s 1")


@pytest.mark.parametrize("authorization", [
    "Basic",                               # no credentials
    "Basic ",
    "Basic !!!notbase64",
    "Basic c3ZjOnM",                        # missing padding
    "Basic c3Zj OnM=",                      # a space inside
    header(b"no-colon"),
    header(b":secret"),                    # empty id
    header(b"svc:"),                       # empty secret
    header(b"%20:"),
    header(b"svc:\xff\xfe"),               # not UTF-8
    header(b"svc\x00:s"),
    header(b"svc:s\x00"),
    header(b"svc%00:s"),                   # NUL after form-decoding too
    header(b"svc:s%00"),
])
def test_malformed_basic_refused_with_a_challenge(authorization: str) -> None:
    with pytest.raises(InvalidClient, match="malformed Basic") as caught:
        extract_credentials({"client_id": "svc"}, authorization)
    assert caught.value.status == 401
    assert caught.value.headers["WWW-Authenticate"] == BASIC_CHALLENGE


def test_post_body_credentials() -> None:
    params = {"client_id": "svc", "client_secret": "s3cret"}
    assert extract_credentials(params, None) == ClientCredentials("svc", "s3cret", POST)


def test_post_body_values_are_used_as_given() -> None:
    # The form parser decoded them already: no second decoding ("+" stays "+").
    params = {"client_id": "a+b", "client_secret": "c%20d"}
    assert extract_credentials(params, None) == ClientCredentials("a+b", "c%20d", POST)


def test_basic_and_post_together_refused() -> None:
    # RFC 6749 §2.3: the client MUST NOT use more than one authentication method per request.
    params = {"client_id": "svc", "client_secret": "s3cret"}
    with pytest.raises(InvalidRequest, match="exactly one"):
        extract_credentials(params, basic("svc", "s3cret"))


def test_secret_without_client_id_refused() -> None:
    with pytest.raises(InvalidClient, match="without client_id") as caught:
        extract_credentials({"client_secret": "s"}, None)
    assert "WWW-Authenticate" not in caught.value.headers


def test_secret_without_client_id_next_to_basic_gets_the_challenge() -> None:
    with pytest.raises(InvalidClient, match="without client_id") as caught:
        extract_credentials({"client_secret": "s"}, basic("svc", "s"))
    assert caught.value.headers["WWW-Authenticate"] == BASIC_CHALLENGE


def test_basic_with_the_same_body_client_id() -> None:
    credentials = extract_credentials({"client_id": "svc"}, basic("svc", "s"))
    assert credentials == ClientCredentials("svc", "s", BASIC)


def test_basic_with_another_body_client_id_refused() -> None:
    with pytest.raises(InvalidClient, match="does not match") as caught:
        extract_credentials({"client_id": "other"}, basic("svc", "s"))
    assert caught.value.headers["WWW-Authenticate"] == BASIC_CHALLENGE


def test_body_client_id_compared_after_form_decoding_of_basic() -> None:
    assert extract_credentials({"client_id": "my client"},
                               basic("my client", "s")).client_id == "my client"


def test_client_id_alone_is_a_public_client() -> None:
    assert extract_credentials({"client_id": "spa"}, None) == ClientCredentials("spa", None, NONE)


@pytest.mark.parametrize("authorization", ["Bearer abc", "Digest x=y", "Basicx abc", ""])
def test_other_schemes_are_ignored(authorization: str) -> None:
    assert extract_credentials({"client_id": "spa"}, authorization).method is NONE


@pytest.mark.parametrize("authorization", [None, "", "Bearer abc"])
def test_no_credentials_at_all_refused_with_a_challenge(authorization: str | None) -> None:
    with pytest.raises(InvalidClient, match="required") as caught:
        extract_credentials({"grant_type": "client_credentials"}, authorization)
    assert caught.value.headers["WWW-Authenticate"] == BASIC_CHALLENGE


# authenticate_client ----------------------------------------------------------------------------

SERVICE = make_client("svc")  # secret "secret", SHA-256
STORE = InMemoryClientStore([
    SERVICE,
    make_client("off", enabled=False),
    make_client("spa", require_client_secret=False, client_secrets=()),
    make_client("rotating", client_secrets=(
        make_secret("old", expiration=NOW - timedelta(seconds=1)),
        make_secret("current", expiration=NOW + timedelta(days=1)),
        make_secret("forever"),
    )),
    make_client("sha512", client_secrets=(Secret(value=hash_secret("long", "sha512")),)),
    make_client("boundary", client_secrets=(make_secret("edge", expiration=NOW),)),
    make_client("x509", client_secrets=(Secret(value=hash_secret("secret"), type="X509Name"),)),
])


@pytest.mark.parametrize("method", [BASIC, POST])
def test_right_secret_authenticates(method: ClientAuthMethod) -> None:
    assert authenticate_client(ClientCredentials("svc", "secret", method), STORE, NOW) is SERVICE


@pytest.mark.parametrize(("client_id", "secret"), [
    ("svc", "Secret"),
    ("svc", "secret "),
    ("svc", ""),
    ("svc", hash_secret("secret")),   # the stored hash is not the secret
    ("nobody", "secret"),
    ("off", "secret"),                # disabled
    ("SVC", "secret"),
    ("rotating", "old"),              # expired
    ("boundary", "edge"),             # expires at NOW: expired
    ("x509", "secret"),               # only shared secrets are compared
])
def test_failures_look_alike(client_id: str, secret: str) -> None:
    with pytest.raises(InvalidClient) as caught:
        authenticate_client(ClientCredentials(client_id, secret, POST), STORE, NOW)
    # The description does not tell which ids exist or why it failed; the log detail does.
    assert caught.value.description == "client authentication failed"
    assert caught.value.detail


@pytest.mark.parametrize("secret", ["current", "forever"])
def test_any_unexpired_secret_authenticates(secret: str) -> None:
    credentials = ClientCredentials("rotating", secret, BASIC)
    assert authenticate_client(credentials, STORE, NOW).client_id == "rotating"


def test_secret_valid_just_before_it_expires() -> None:
    credentials = ClientCredentials("boundary", "edge", POST)
    earlier = NOW - timedelta(microseconds=1)
    assert authenticate_client(credentials, STORE, earlier).client_id == "boundary"


def test_sha512_secret() -> None:
    assert authenticate_client(ClientCredentials("sha512", "long", POST), STORE,
                               NOW).client_id == "sha512"


def test_challenge_only_for_basic() -> None:
    with pytest.raises(InvalidClient) as caught:
        authenticate_client(ClientCredentials("svc", "wrong", BASIC), STORE, NOW)
    assert caught.value.headers["WWW-Authenticate"] == BASIC_CHALLENGE
    with pytest.raises(InvalidClient) as caught:
        authenticate_client(ClientCredentials("nobody", "wrong", BASIC), STORE, NOW)
    assert caught.value.headers["WWW-Authenticate"] == BASIC_CHALLENGE
    with pytest.raises(InvalidClient) as caught:
        authenticate_client(ClientCredentials("svc", "wrong", POST), STORE, NOW)
    assert "WWW-Authenticate" not in caught.value.headers


def test_confidential_client_without_secret_refused() -> None:
    with pytest.raises(InvalidClient, match="authentication failed"):
        authenticate_client(ClientCredentials("svc", None, NONE), STORE, NOW)


def test_public_client_without_secret_authenticates() -> None:
    assert authenticate_client(ClientCredentials("spa", None, NONE), STORE,
                               NOW).client_id == "spa"


@pytest.mark.parametrize("client_id", ["nobody", "off"])
def test_unknown_or_disabled_public_client_refused(client_id: str) -> None:
    with pytest.raises(InvalidClient, match="authentication failed"):
        authenticate_client(ClientCredentials(client_id, None, NONE), STORE, NOW)


def test_public_client_sending_a_secret_it_does_not_have_refused() -> None:
    with pytest.raises(InvalidClient, match="authentication failed"):
        authenticate_client(ClientCredentials("spa", "anything", POST), STORE, NOW)


def test_extract_then_authenticate_with_an_encoded_basic_secret() -> None:
    client = make_client("my client", client_secrets=(make_secret("p@ss:word+1"),))
    store = InMemoryClientStore([client])
    credentials = extract_credentials({}, basic("my client", "p@ss:word+1"))
    assert authenticate_client(credentials, store, NOW) is client
