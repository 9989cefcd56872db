"""A separate API project (tests/contrib/api_project: no identity apps, no database) accepts
the tokens a live identity server issues, and refuses the ones it must.

The identity server runs in this process (pytest-django's live_server); the API project runs
in a subprocess, pointed at it by URL, and gets all of its cases in one batch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from tests.factories import make_client
from tests.helpers.clients import reference_client
from tests.helpers.seeding import seed_with_api_secrets
from tests.helpers.servers import ROOT, client_credentials

SCOPES = ("api1", "api2.read_only")


def _token(base: str, client_id: str, scope: str) -> str:
    status, body = client_credentials(base, client_id, scope=scope)
    assert status == 200, body
    return body["access_token"]


def _run_api(authority: str, cases: list[dict[str, Any]], **env: str) -> dict[str, Any]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "API_"))}
    environ.update({"DJANGO_SETTINGS_MODULE": "tests.contrib.api_project.settings",
                    "API_AUTHORITY": authority, **env})
    result = subprocess.run([sys.executable, "-m", "tests.contrib.api_project.run"],
                            input=json.dumps(cases), capture_output=True, text=True, cwd=ROOT,
                            env=environ, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_api_project_accepts_the_servers_jwt_and_reference_tokens(live_server) -> None:
    seed_with_api_secrets(make_client("jwt.caller", allowed_scopes=SCOPES),
                          reference_client("ref.caller", allowed_scopes=SCOPES))
    base = live_server.url
    jwt_api1 = _token(base, "jwt.caller", "api1")
    jwt_both = _token(base, "jwt.caller", "api1 api2.read_only")
    jwt_api2 = _token(base, "jwt.caller", "api2.read_only")  # aud api2 only
    ref_api1 = _token(base, "ref.caller", "api1")
    ref_api2 = _token(base, "ref.caller", "api2.read_only")  # api1 may not introspect it
    assert jwt_api1.count(".") == 2 and ref_api1.count(".") != 2
    cases = [
        {"path": "open"},
        {"path": "whoami"},
        {"path": "whoami", "token": jwt_api1},
        {"path": "api1", "token": jwt_api1},
        {"path": "api2", "token": jwt_api1},
        {"path": "either", "token": jwt_api1},
        {"path": "api2", "token": jwt_both},
        {"path": "whoami", "token": jwt_api2},
        {"path": "whoami", "token": jwt_api1[:-4] + ("AAAA" if jwt_api1[-4:] != "AAAA"
                                                     else "BBBB")},
        {"path": "api1", "token": ref_api1},
        {"path": "api1", "token": ref_api1},  # answered from the introspection cache
        {"path": "whoami", "token": ref_api2},
        {"path": "whoami", "authorization": f"DPoP {jwt_api1}"},
        {"path": "api1", "token": "not-a-token-the-server-issued"},
    ]
    report = _run_api(base, cases, API_INTROSPECTION_ID="api1",
                      API_INTROSPECTION_SECRET="api-secret")
    (open_view, anonymous, whoami, api1, api2_denied, either, api2, wrong_audience, forged,
     reference, reference_again, reference_other_api, dpop_scheme, unknown) = report["answers"]

    assert report["database_engine"] == "django.db.backends.dummy"
    assert report["identity_apps"] == []  # contrib imported nothing else of identity
    assert open_view == {"status": 200, "body": {"open": True, "authenticated": False},
                         "challenge": None}
    assert anonymous["status"] == 401
    assert anonymous["challenge"] == 'Bearer realm="api"'
    assert whoami["status"] == 200, whoami
    assert whoami["body"]["client_id"] == "jwt.caller"
    assert whoami["body"]["scopes"] == ["api1"]
    assert api1["status"] == 200 and either["status"] == 200 and api2["status"] == 200
    assert api2_denied["status"] == 403
    assert api2_denied["challenge"] == ('Bearer realm="api", error="insufficient_scope", '
                                        'scope="api2.read_only"')
    for refused in (wrong_audience, forged, reference_other_api, unknown):
        assert refused["status"] == 401, refused
        assert 'error="invalid_token"' in refused["challenge"]
    assert "not meant for this API" in wrong_audience["body"]["detail"]
    assert "signature" in forged["body"]["detail"]
    assert "not active" in reference_other_api["body"]["detail"]
    assert reference["status"] == reference_again["status"] == 200, reference
    assert reference["body"]["client_id"] == "ref.caller"
    # RFC 9449 §7.1: the DPoP scheme is checked, and a request without a proof is refused.
    assert dpop_scheme["status"] == 401, dpop_scheme
    assert dpop_scheme["challenge"].startswith('DPoP error="invalid_dpop_proof"'), dpop_scheme
    assert 'realm="api"' in dpop_scheme["challenge"]
    assert report["key_fetches"] == 1
    # ref_api1 once (the second time from the cache), ref_api2 and the unknown token once each
    assert report["introspections"] == 3


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_without_introspection_credentials_reference_tokens_are_refused(live_server) -> None:
    seed_with_api_secrets(reference_client("ref.caller", allowed_scopes=SCOPES))
    reference = _token(live_server.url, "ref.caller", "api1")
    report = _run_api(live_server.url, [{"path": "whoami", "token": reference}])
    (answer,) = report["answers"]
    assert answer["status"] == 401
    assert 'error="invalid_token"' in answer["challenge"]
    assert report["introspections"] == 0
