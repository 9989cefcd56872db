"""Client authentication at the token endpoint (RFC 6749 §2.3.1, Appendix B; §5.2)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from identity.hashing import hash_secret
from tests.factories import make_client, make_secret

pytestmark = pytest.mark.django_db
GRANT = {"grant_type": "client_credentials"}
INVALID = {"error": "invalid_client", "error_description": "client authentication failed"}


def test_client_secret_post(seeded, token_post) -> None:
    seeded()
    response = token_post({**GRANT, "client_id": "service.client", "client_secret": "secret"})
    assert response.status_code == 200


def test_basic_credentials_are_form_decoded_per_appendix_b(seeded, token_post) -> None:
    seeded(make_client("id:with space+plus", client_secrets=(make_secret("pa ss:wörd%"),)))
    response = token_post(GRANT, auth=("id:with space+plus", "pa ss:wörd%"))
    assert response.status_code == 200


def test_wrong_secret_basic_is_401_with_challenge(seeded, token_post) -> None:
    seeded()
    response = token_post(GRANT, auth=("service.client", "wrong"))
    assert response.status_code == 401
    assert response.json() == INVALID
    assert response["WWW-Authenticate"].startswith("Basic realm=")
    assert response["Cache-Control"] == "no-store"


def test_wrong_secret_post_is_401_without_challenge(seeded, token_post) -> None:
    seeded()
    response = token_post({**GRANT, "client_id": "service.client", "client_secret": "nope"})
    assert response.status_code == 401 and response.json() == INVALID
    assert not response.has_header("WWW-Authenticate")


@pytest.mark.parametrize("client_id", ["unknown", "disabled"])
def test_unknown_and_disabled_clients_look_like_a_wrong_secret(seeded, token_post, client_id):
    seeded(make_client("disabled", enabled=False))
    response = token_post(GRANT, auth=(client_id, "secret"))
    assert response.status_code == 401 and response.json() == INVALID


def test_expired_secrets_are_ignored_and_rollover_works(seeded, token_post) -> None:
    past = datetime.now(UTC) - timedelta(minutes=1)
    future = datetime.now(UTC) + timedelta(days=1)
    seeded(make_client(client_secrets=(make_secret("old", expiration=past),
                                       make_secret("new", expiration=future))))
    assert token_post(GRANT, auth=("service.client", "old")).status_code == 401
    assert token_post(GRANT, auth=("service.client", "new")).status_code == 200


def test_sha512_secrets_verify(seeded, token_post) -> None:
    from identity.domain.client import Secret

    seeded(make_client(client_secrets=(Secret(hash_secret("long", "sha512")),)))
    assert token_post(GRANT, auth=("service.client", "long")).status_code == 200


@pytest.mark.parametrize("header", [
    "Basic", "Basic !!!notbase64", "Basic " + base64.b64encode(b"no-colon").decode(),
    "Basic " + base64.b64encode(b":secret").decode(), "Basic " + base64.b64encode(b"id:").decode(),
    "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
])
def test_malformed_basic_header_is_invalid_client(seeded, token_post, header) -> None:
    seeded()
    response = token_post(GRANT, authorization=header)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert "WWW-Authenticate" in response


def test_two_methods_at_once_is_invalid_request(seeded, token_post) -> None:
    seeded()
    response = token_post({**GRANT, "client_id": "service.client", "client_secret": "secret"},
                          auth=("service.client", "secret"))
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"


def test_body_client_id_must_match_basic(seeded, token_post) -> None:
    seeded()
    response = token_post({**GRANT, "client_id": "interactive"}, auth=("service.client", "secret"))
    assert response.status_code == 401


def test_no_authentication_at_all_is_invalid_client(seeded, token_post) -> None:
    seeded()
    assert token_post(GRANT).status_code == 401


def test_confidential_client_with_id_only_is_invalid_client(seeded, token_post) -> None:
    seeded()
    response = token_post({**GRANT, "client_id": "service.client"})
    assert response.status_code == 401 and response.json() == INVALID


def test_public_client_cannot_use_client_credentials(seeded, token_post) -> None:
    from clients_app.importing import import_document
    from clients_app.mapping import real_models
    from identity.config_document import ConfigDocument

    seeded()
    # Stored bypassing the rules (as a misconfigured row would be): the endpoint still refuses.
    public = make_client("public", require_client_secret=False, client_secrets=())
    import_document(ConfigDocument(clients=(public,)), real_models())
    response = token_post({**GRANT, "client_id": "public"})
    assert response.status_code in (400, 401)
    assert response.json()["error"] in ("unauthorized_client", "invalid_client")


def test_repeated_failures_from_one_address_are_refused_with_retry_after(
        seeded, token_post, identity_config) -> None:
    seeded()
    identity_config(AUTH_FAILURE_LIMIT=3, AUTH_FAILURE_WINDOW=120)
    for _ in range(3):
        assert token_post(GRANT, auth=("service.client", "guess")).status_code == 401
    refused = token_post(GRANT, auth=("service.client", "secret"))
    assert refused.status_code == 429 and refused["Retry-After"] == "120"
    assert refused.json()["error"] == "invalid_request"
    # The same client from another address is not locked out.
    other = token_post(GRANT, auth=("service.client", "secret"), x_forwarded_for="10.9.9.9")
    assert other.status_code == 429  # REMOTE_ADDR is used unless a proxy header is trusted
    identity_config(AUTH_FAILURE_LIMIT=3, AUTH_FAILURE_WINDOW=120,
                    CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR")
    other = token_post(GRANT, auth=("service.client", "secret"), x_forwarded_for="10.9.9.9")
    assert other.status_code == 200


def test_failures_of_one_client_do_not_lock_another(seeded, token_post, identity_config):
    seeded(make_client(), make_client("other"))
    identity_config(AUTH_FAILURE_LIMIT=2)
    for _ in range(3):
        token_post(GRANT, auth=("service.client", "guess"))
    assert token_post(GRANT, auth=("other", "secret")).status_code == 200


def test_secrets_never_reach_the_logs(seeded, token_post, caplog) -> None:
    seeded()
    caplog.set_level("DEBUG")
    token_post(GRANT, auth=("service.client", "wrong-secret-value"))
    response = token_post(GRANT, auth=("service.client", "secret"))
    token = response.json()["access_token"]
    assert "wrong-secret-value" not in caplog.text
    assert token not in caplog.text and token.split(".")[1] not in caplog.text
