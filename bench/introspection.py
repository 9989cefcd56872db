#!/usr/bin/env python
"""Benchmark introspection (JWT and reference tokens) and revocation beside django-oauth-toolkit.

Every server runs under gunicorn (2 sync workers, 127.0.0.1, SQLite in a temporary folder,
DEBUG off, local-memory cache), measured with wrk (`-t2 -c4 -d10s --latency`):

    ours-jwt        POST /connect/introspect, a JWT access token, the API resource api1 calling
    ours-reference  the same with a reference (opaque) access token
    ours-revoke     POST /connect/revocation, a different live reference token per request
    dot             django-oauth-toolkit's POST /o/introspect/ (its own opaque token), called
                    with a bearer token holding the `introspection` scope, as DOT documents

    .venv/bin/python bench/introspection.py [--rounds 3] [--duration 10] [--quick]

Rounds are interleaved. Targets (issue 5): reference tokens >= 2x DOT, JWTs >= 4x DOT.
django-oauth-toolkit comes from PyPI into bench/results/.dot-venv (shared with
bench/token_endpoint.py). The report is printed and written to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness  # noqa: E402 - after the checkout is on sys.path
from bench import token_endpoint as te  # noqa: E402 - its wrk runs and DOT project
from bench.harness import ROOT, BenchError, basic, run  # noqa: E402

API_SECRET = "api-secret"
DOCUMENT = {"IdentityServer": {
    "ApiScopes": [{"Name": "api1"}],
    "ApiResources": [{"Name": "api1", "Scopes": ["api1"], "ApiSecrets": [
        {"Value": "AUwkP/lg6Hr8hIJkj0HiCE3OdlqgYtzcv04OQ8TbikE="}]}],
    "Clients": [
        {"ClientId": "bench.client", "ClientSecrets": [{"Value": te.SECRET_SHA256}],
         "AllowedGrantTypes": ["client_credentials"], "AllowedScopes": ["api1"]},
        {"ClientId": "bench.reference", "ClientSecrets": [{"Value": te.SECRET_SHA256}],
         "AllowedGrantTypes": ["client_credentials"], "AllowedScopes": ["api1"],
         "AccessTokenType": "Reference", "AccessTokenLifetime": 86400},
    ],
}}
# Reference tokens minted in the database for the revocation run (one per request).
MINT = """
import secrets, sys, time
import django
django.setup()
from datetime import timedelta
from identity import clock
from identity.models import PersistedGrant
from identity.grants.handles import handle_key
now = clock.now()
handles = [secrets.token_urlsafe(32) for _ in range(int(sys.argv[1]))]
PersistedGrant.objects.bulk_create([PersistedGrant(
    key=handle_key(h), type="reference_token", client_id="bench.reference", data={"claims": {
        "iss": "x", "aud": "api1", "client_id": "bench.reference", "scope": "api1",
        "exp": int(time.time()) + 86400}}, created=now, expires=now + timedelta(days=1))
    for h in handles], batch_size=2000)
open(sys.argv[2], "w").write("\\n".join(handles))
"""
DOT_TOKENS = """
import os, sys
from datetime import timedelta
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dotbench.settings")
django.setup()
from django.utils import timezone
from oauth2_provider.models import AccessToken, get_application_model
app = get_application_model().objects.get(client_id="bench.plain")
later = timezone.now() + timedelta(days=1)
AccessToken.objects.create(application=app, token="introspected-token", expires=later,
                           scope="api1")
AccessToken.objects.create(application=app, token="resource-server-token", expires=later,
                           scope="introspection")
print("ok")
"""
ONE_BODY = """\
wrk.method = "POST"
wrk.body = "{body}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "{authorization}"
"""
EACH_BODY = """\
local handles = {{}}
for line in io.lines("{path}") do handles[#handles + 1] = line end
local i = 0
request = function()
  i = i + 1
  local h = handles[(i % #handles) + 1]
  return wrk.format("POST", nil, {{["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = "{authorization}"}}, "token=" .. h)
end
"""


@dataclass
class Target:
    """One measured configuration."""

    name: str
    url: str
    lua: Path
    runs: list[te.WrkResult] = field(default_factory=list)

    def rps(self) -> float:
        return statistics.median(r.rps for r in self.runs)

    def p50(self) -> float:
        return statistics.median(r.p50_ms for r in self.runs)

    def p99(self) -> float:
        return statistics.median(r.p99_ms for r in self.runs)


def _done_block() -> str:
    return te.WRK_SCRIPT[te.WRK_SCRIPT.index("function done"):]


def _lua(work: Path, name: str, text: str) -> Path:
    path = work / f"{name}.lua"
    path.write_text(text + "\n" + _done_block().replace("{{", "{").replace("}}", "}"))
    return path


def _post(url: str, data: dict[str, str], authorization: str) -> tuple[int, dict]:
    """POST a form; return the status and, for a 2xx, the JSON body ({} otherwise)."""
    status, body = harness.post_form(url, data, headers={"Authorization": authorization})
    return status, json.loads(body or b"{}") if status < 300 else {}


def prepare(work: Path, stack: ExitStack, tokens_needed: int) -> list[Target]:
    logs = work / "logs"
    logs.mkdir()
    env = te.project_env(work)
    (work / "clients.json").write_text(json.dumps(DOCUMENT))
    harness.manage(env, "migrate", "--noinput")
    harness.manage(env, "import_clients", str(work / "clients.json"))
    run([sys.executable, "-c", MINT, str(tokens_needed), str(work / "handles.txt")],
        cwd=ROOT, env=env, what="minting reference tokens")
    ours = harness.start_server("ours", env, logs / "ours.log")
    stack.callback(harness.stop_server, ours)
    base = ours.base
    api = basic("api1", API_SECRET)
    tokens = {}
    for client_id in ("bench.client", "bench.reference"):
        status, body = _post(base + "/connect/token", {"grant_type": "client_credentials"},
                             basic(client_id, te.CLIENT_SECRET))
        if status != 200:
            raise BenchError(f"no token for {client_id}: {status} {body}")
        tokens[client_id] = body["access_token"]
        status, body = _post(base + "/connect/introspect", {"token": tokens[client_id]}, api)
        if status != 200 or body.get("active") is not True:
            raise BenchError(f"introspection of {client_id}'s token: {status} {body}")
    targets = [
        Target("ours: introspect JWT", base + "/connect/introspect",
               _lua(work, "jwt", ONE_BODY.format(body=f"token={tokens['bench.client']}",
                                                 authorization=api))),
        Target("ours: introspect reference", base + "/connect/introspect",
               _lua(work, "ref", ONE_BODY.format(body=f"token={tokens['bench.reference']}",
                                                 authorization=api))),
        Target("ours: revoke reference", base + "/connect/revocation",
               _lua(work, "revoke", EACH_BODY.format(
                   path=work / "handles.txt",
                   authorization=basic("bench.reference", te.CLIENT_SECRET)))),
    ]
    python = te.ensure_dot_venv()
    project, dot_env = te.prepare_dot(work, python)
    run([str(python), "-c", DOT_TOKENS], cwd=project, env=dot_env, what="DOT tokens")
    dot = harness.start_server("dot", dot_env, logs / "dot.log", app="dotbench.wsgi:application",
                               cwd=project, python=python)
    stack.callback(harness.stop_server, dot)
    dot_url = f"{dot.base}/o/introspect/"
    status, body = _post(dot_url, {"token": "introspected-token"},
                         "Bearer resource-server-token")
    if status != 200 or body.get("active") is not True:
        raise BenchError(f"DOT introspection answered {status} {body}")
    targets.append(Target("DOT: introspect", dot_url, _lua(work, "dot", ONE_BODY.format(
        body="token=introspected-token", authorization="Bearer resource-server-token"))))
    return targets


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.duration = 1, 3.0
    started = datetime.now(UTC)
    # Revocation needs a live token per request: enough for the fastest plausible rate.
    needed = int(4000 * args.duration * args.rounds) + 10000
    # The servers stop (ExitStack) before their folder is removed.
    with tempfile.TemporaryDirectory(prefix="introspection-") as tmp, ExitStack() as stack:
        targets = prepare(Path(tmp), stack, needed)
        for target in targets:
            te.run_wrk(target.url, target.lua, 2)  # warm-up
        for round_no in range(args.rounds):
            shift = round_no % len(targets)
            for target in targets[shift:] + targets[:shift]:
                result = te.run_wrk(target.url, target.lua, args.duration)
                target.runs.append(result)
                print(f"round {round_no + 1}  {target.name:28} {result.rps:8.1f} req/s  "
                      f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  "
                      f"non-2xx {result.non2xx}", flush=True)
    dot = next(t for t in targets if t.name.startswith("DOT")).rps()
    lines = [f"# Introspection and revocation, {started:%Y-%m-%d %H:%M} UTC", "",
             f"`bench/introspection.py`: {args.rounds} round(s) of {args.duration:g} s, "
             f"wrk -t2 -c4, gunicorn 2 sync workers, SQLite, DEBUG off; "
             f"load average before: {os.getloadavg()[0]:.2f}", "",
             "| configuration | requests/s | p50 ms | p99 ms | non-2xx | vs DOT |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for t in targets:
        errors = sum(r.non2xx + r.socket_errors for r in t.runs)
        lines.append(f"| {t.name} | {t.rps():.0f} | {t.p50():.2f} | {t.p99():.2f} | {errors} | "
                     f"{t.rps() / dot:.2f}x |")
    jwt, ref = targets[0].rps() / dot, targets[1].rps() / dot
    lines += ["", f"Targets: reference >= 2x DOT: {ref:.2f}x "
              f"({'met' if ref >= 2 else 'missed'}); JWT >= 4x DOT: {jwt:.2f}x "
              f"({'met' if jwt >= 4 else 'missed'})."]
    text = "\n".join(lines) + "\n"
    harness.write_report("introspection", text, started)
    return 0


if __name__ == "__main__":
    harness.run_main(main, "server stopped")
