#!/usr/bin/env python
"""Benchmark the cost of private_key_jwt and DPoP at the token endpoint, and of their checks.

Part 1, the token endpoint: one gunicorn (2 sync workers, 127.0.0.1, SQLite in a temporary
folder, DEBUG off, local-memory cache: the server of bench/token_endpoint.py, RS256 access
tokens), one client holding a shared secret and two public JWKs (RSA 2048 and P-256), measured
with wrk (`-t2 -c4 --latency`) posting `grant_type=client_credentials&scope=api1` authenticated:

    secret            (a) client_secret_basic (HTTP Basic)
    jwt-rs256         (b) private_key_jwt, an RS256 assertion
    jwt-es256         (b) private_key_jwt, an ES256 assertion
    secret-dpop       (c) client_secret_basic + a DPoP proof (ES256 key)
    jwt-rs256-dpop    (d) private_key_jwt RS256 + a DPoP proof (ES256 key)
    jwt-es256-dpop    (d) private_key_jwt ES256 + a DPoP proof (ES256 key)

An assertion's and a proof's `jti` are single use, so every request carries its own: they are
made with joserfc (tests/fapi/jose.py) before each timed run, enough for the rate the warm-up
showed times --pool-factor, and read by wrk's Lua script (each wrk thread its own share). Their
making is never timed. A run that used up its pool is flagged (its figures are wrong). Each mode
is checked first (200, token_type Bearer or DPoP, `cnf.jkt` the proof key's thumbprint), and a
replayed assertion and a replayed proof must be refused.

Part 2, in-process (a subprocess with the server's settings and its own copy of the database):
the server-side checks we bound (assertion + replay < 0.3 ms), microseconds per call, median:
identity.tokens.client_keys.verify_with + identity.validation.client_assertion
.check_assertion_claims (RS256 and ES256 assertions), identity.http.replay.first_use on the
default store (local-memory cache, so the database table) and on Redis, and
identity.tokens.dpop.check_proof (ES256); plus the whole assertion verifier of
identity.http.client_authentication as a cross-check. Bound: assertion check + replay < 0.3 ms.

    .venv/bin/python bench/fapi.py [--rounds 3] [--duration 4] [--quick] [--only secret,...]
                                   [--skip-micro] [--redis-url redis://127.0.0.1:6379/15]

The Markdown report is printed and written to bench/results/fapi-<timestamp>[-quick].md.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
if "--micro-child" in sys.argv:
    # The project first, and not bench/ (its settings.py would shadow the project's package).
    _here = Path(__file__).resolve().parent
    sys.path[:] = [str(ROOT)] + [p for p in sys.path if p and Path(p).resolve() != _here]
else:
    sys.path.insert(0, str(ROOT))

from bench import harness, wrk  # noqa: E402 - after the checkout is on sys.path
from bench import token_endpoint as te  # noqa: E402 - the same server environment
from bench.harness import WORKERS, BenchError, log_tail  # noqa: E402

CLIENT_ID = "bench.client"
TOKEN_PATH = "/connect/token"
RSA_KID, EC_KID = "bench-rsa", "bench-ec"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME = 300  # IDENTITY["CLIENT_ASSERTION_MAX_LIFETIME"]: the longest accepted
BOUND_MS = 0.3  # our target for assertion check + replay cache
WRK_THREADS, WRK_CONNECTIONS = te.WRK_THREADS, te.WRK_CONNECTIONS
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"


@dataclass(frozen=True)
class Mode:
    """One way of authenticating the same token request."""

    name: str  # for --only
    label: str
    assertion_alg: str | None  # None: client_secret_basic
    dpop: bool


MODES: tuple[Mode, ...] = (
    Mode("secret", "(a) client_secret_basic", None, False),
    Mode("jwt-rs256", "(b) private_key_jwt RS256", "RS256", False),
    Mode("jwt-es256", "(b) private_key_jwt ES256", "ES256", False),
    Mode("secret-dpop", "(c) client_secret_basic + DPoP ES256", None, True),
    Mode("jwt-rs256-dpop", "(d) private_key_jwt RS256 + DPoP ES256", "RS256", True),
    Mode("jwt-es256-dpop", "(d) private_key_jwt ES256 + DPoP ES256", "ES256", True),
)
BY_NAME = {m.name: m for m in MODES}

@dataclass
class Run:
    """One wrk run of a mode, with the server's CPU time and the pool it used."""

    wrk: te.WrkResult
    exhausted: int  # threads that used up their pool (figures then wrong)
    pool_share: float  # largest share of a thread's pool that was used


@dataclass
class Measured:
    mode: Mode
    rate_guess: float = 0.0  # requests/s used to size the next pools
    runs: list[Run] = field(default_factory=list)

    def median(self, get: Callable[[Run], float]) -> float:
        return statistics.median(get(r) for r in self.runs)

    def rps(self) -> float:
        return self.median(lambda r: r.wrk.rps)

    def p50(self) -> float:
        return self.median(lambda r: r.wrk.p50_ms)

    def p99(self) -> float:
        return self.median(lambda r: r.wrk.p99_ms)

    def cpu_us(self) -> float:
        return self.median(lambda r: r.wrk.cpu_us_per_request)


# --- keys, requests ----------------------------------------------------------------------------

def _jose() -> Any:
    from tests.fapi import jose  # joserfc: an encoder this project did not write

    return jose


@dataclass(frozen=True)
class Keys:
    """The client's signing keys (its JWK secrets hold their public halves) and the DPoP key."""

    rsa: Any
    ec: Any
    dpop: Any

    @classmethod
    def generate(cls) -> Keys:
        jose = _jose()
        return cls(jose.rsa_key(RSA_KID), jose.ec_key(EC_KID), jose.ec_key())

    def private_jwks(self) -> dict[str, dict[str, Any]]:
        return {name: getattr(self, name).as_dict(private=True) for name in ("rsa", "ec", "dpop")}

    @classmethod
    def from_private_jwks(cls, jwks: dict[str, dict[str, Any]]) -> Keys:
        from joserfc.jwk import ECKey, RSAKey

        return cls(RSAKey.import_key(jwks["rsa"]), ECKey.import_key(jwks["ec"]),
                   ECKey.import_key(jwks["dpop"]))

    def signing(self, alg: str) -> Any:
        return self.rsa if alg.startswith(("RS", "PS")) else self.ec


def clients_document(keys: Keys) -> dict[str, Any]:
    """One client for every mode: a shared secret ("secret") and two public JWKs."""
    jose = _jose()
    return {"IdentityServer": {
        "ApiScopes": [{"Name": "api1"}],
        "ApiResources": [{"Name": "api1", "Scopes": ["api1"]}],
        "Clients": [{
            "ClientId": CLIENT_ID,
            "ClientName": "FAPI benchmark",
            "ClientSecrets": [
                {"Value": te.SECRET_SHA256},
                {"Type": "JWK", "Value": json.dumps(jose.public_jwk(keys.rsa))},
                {"Type": "JWK", "Value": json.dumps(jose.public_jwk(keys.ec))},
            ],
            "AllowedGrantTypes": ["client_credentials"],
            "AllowedScopes": ["api1"],
        }],
    }}


def request_lines(mode: Mode, keys: Keys, issuer: str, count: int) -> list[tuple[str, str]]:
    """`count` requests of `mode`, each (form body, DPoP proof or ""), every one fresh."""
    jose = _jose()
    if mode.assertion_alg is None and not mode.dpop:
        return [(te.FORM_BODY, "")] * count
    key = keys.signing(mode.assertion_alg) if mode.assertion_alg else None
    token_url = issuer + TOKEN_PATH
    lines = []
    for _ in range(count):
        body = te.FORM_BODY
        if mode.assertion_alg:
            assertion = jose.assertion(CLIENT_ID, key, mode.assertion_alg, aud=issuer,
                                       lifetime=ASSERTION_LIFETIME)
            body += f"&client_assertion_type={ASSERTION_TYPE}&client_assertion={assertion}"
        proof = jose.dpop_proof(keys.dpop, "POST", token_url, alg="ES256") if mode.dpop else ""
        lines.append((body, proof))
    return lines


def authorization(mode: Mode) -> str:
    return harness.basic(CLIENT_ID, te.CLIENT_SECRET) if mode.assertion_alg is None else ""


def post_raw(url: str, body: str, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body.encode(), method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def send(base: str, mode: Mode, line: tuple[str, str]) -> tuple[int, dict[str, Any]]:
    body, proof = line
    headers = {"Authorization": authorization(mode)} if authorization(mode) else {}
    if proof:
        headers["DPoP"] = proof
    status, raw = post_raw(base + TOKEN_PATH, body, headers)
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        answer = {"raw": raw[:500].decode("utf-8", "replace")}
    return status, answer if isinstance(answer, dict) else {"raw": answer}


def _segment(token: str, index: int) -> dict[str, Any]:
    part = token.split(".")[index]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def check_mode(server: harness.Server, mode: Mode, keys: Keys) -> None:
    """One request of the mode must give an RS256 JWT of the right type (bound when DPoP)."""
    status, answer = send(server.base, mode, request_lines(mode, keys, server.base, 1)[0])
    token = answer.get("access_token")
    problem = None
    if status != 200 or not isinstance(token, str) or token.count(".") != 2:
        problem = f"answered {status}, not 200 with a JWT access token"
    else:
        header, claims = _segment(token, 0), _segment(token, 1)
        wanted_type = "DPoP" if mode.dpop else "Bearer"
        jkt = (claims.get("cnf") or {}).get("jkt")
        if header.get("alg") != "RS256":
            problem = f"access token alg {header.get('alg')!r}, expected RS256"
        elif answer.get("token_type") != wanted_type:
            problem = f"token_type {answer.get('token_type')!r}, expected {wanted_type}"
        elif mode.dpop and jkt != _jose().thumbprint(keys.dpop):
            problem = f"cnf.jkt {jkt!r} is not the proof key's thumbprint"
        elif not mode.dpop and jkt is not None:
            problem = "a token without DPoP carries cnf.jkt"
    if problem:
        raise BenchError(f"{mode.label}: {problem}:\n{json.dumps(answer)[:1000]}\n"
                         f"--- server log ---\n{log_tail(server.log)}")


def check_replays(server: harness.Server, modes: list[Mode], keys: Keys) -> list[str]:
    """A replayed assertion must get 401 invalid_client, a replayed proof 400
    invalid_dpop_proof: else the runs would not measure single use."""
    done = []
    jwt_mode = next((m for m in modes if m.assertion_alg and not m.dpop), None)
    dpop_mode = next((m for m in modes if m.dpop and not m.assertion_alg), None)
    for mode, status_wanted, error in ((jwt_mode, 401, "invalid_client"),
                                       (dpop_mode, 400, "invalid_dpop_proof")):
        if mode is None:
            continue
        line = request_lines(mode, keys, server.base, 1)[0]
        first = send(server.base, mode, line)
        again = send(server.base, mode, line)
        if first[0] != 200 or again[0] != status_wanted or again[1].get("error") != error:
            raise BenchError(f"{mode.label}: first use {first[0]}, replay answered {again[0]} "
                             f"{again[1]}, expected {status_wanted} {error}")
        done.append(f"{mode.label}: the same request again -> {again[0]} {error}")
    return done


# --- wrk ---------------------------------------------------------------------------------------

def write_pool(work: Path, tag: str, mode: Mode, lines: list[tuple[str, str]],
               cycle: bool) -> Path:
    """Share `lines` (body, proof) out among the wrk threads; write them and the script; return
    the script. Every thread sends each of its lines once; `cycle` (the shared-secret mode, which
    has nothing single-use) goes round its pool instead."""
    pool = wrk.write_pool(work / f"pool-{tag}", [f"{body}\t{proof}" for body, proof in lines],
                          WRK_THREADS)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if authorization(mode):
        headers["Authorization"] = authorization(mode)
    return wrk.write_script(work / f"pool-{tag}.lua", method="POST", headers=headers, pool=pool,
                            cycle=cycle)


def drop_pool(work: Path, tag: str) -> None:
    wrk.drop_pool(work / f"pool-{tag}")
    (work / f"pool-{tag}.lua").unlink(missing_ok=True)


def run_wrk(server: harness.Server, lua: Path, seconds: float, pool_per_thread: int) -> Run:
    """Run wrk once, accounting the server's CPU time and the CPU others used (as
    bench/token_endpoint.py does)."""
    pgid = server.process.pid
    server_before = harness.group_cpu_seconds(pgid)
    busy_before, total_before = harness.machine_ticks()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cmd = ["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{seconds:g}s", "--latency",
           "-s", str(lua), server.base + TOKEN_PATH]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy_after, total_after = harness.machine_ticks()
    server_cpu = harness.group_cpu_seconds(pgid) - server_before
    data = wrk.summary(done, cmd)
    result = te.WrkResult.from_summary(data, server_cpu)
    wrk_cpu = (children_after.ru_utime + children_after.ru_stime
               - children_before.ru_utime - children_before.ru_stime)
    capacity = (total_after - total_before) / harness.CLOCK_TICKS
    busy = (busy_after - busy_before) / harness.CLOCK_TICKS
    if capacity > 0:
        result.others_cpu_share = max(0.0, busy - server_cpu - wrk_cpu) / capacity
    return Run(result, data["exhausted"], data["used"] / max(1, pool_per_thread))


def pool_size(item: Measured, seconds: float, factor: float) -> int:
    """Requests to prepare for one run: the rate seen so far, with a margin, for `seconds`."""
    return int(math.ceil(item.rate_guess * seconds * factor)) + 50 * WRK_THREADS


def measure(server: harness.Server, item: Measured, keys: Keys, work: Path, tag: str,
            seconds: float, count: int) -> tuple[Run, float]:
    """Prepare `count` requests (untimed), run wrk for `seconds`; return the run and the time
    the preparation took."""
    cycle = item.mode.assertion_alg is None and not item.mode.dpop
    started = time.perf_counter()
    lines = request_lines(item.mode, keys, server.base, WRK_THREADS if cycle else count)
    lua = write_pool(work, tag, item.mode, lines, cycle)
    made = time.perf_counter() - started
    try:
        run = run_wrk(server, lua, seconds, max(1, len(lines) // WRK_THREADS))
    finally:
        drop_pool(work, tag)
    if cycle:
        run.pool_share = 0.0
    return run, made


# --- part 2: in-process ------------------------------------------------------------------------

def redis_version(url: str) -> str | None:
    """Return the Redis server's version, or None when it does not answer."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379),
                                      timeout=1):
            pass
        import redis

        return str(redis.Redis.from_url(url, socket_timeout=2).info("server")["redis_version"])
    except Exception:  # any failure means: no Redis row
        return None


def delete_redis_keys(url: str, prefix: str) -> None:
    """Delete the keys under this run's prefix (Django's `prefix:version:key`), and no other."""
    import redis

    client = redis.Redis.from_url(url)
    stale = list(client.scan_iter(match=f"{prefix}:*", count=1000))
    for start in range(0, len(stale), 500):
        client.delete(*stale[start:start + 500])


def micro_child(result_file: Path, keys_file: Path, rounds: int, iterations: int,
                redis_url: str) -> int:
    """Time the server-side checks in this process (Django set up from the environment)."""
    import django

    django.setup()
    from django.core.cache import caches
    from django.db import connection
    from django.test import RequestFactory
    from django.test.utils import override_settings

    from identity import clock
    from identity.conf import identity_settings
    from identity.freshness import cache_is_shared
    from identity.http import replay
    from identity.http.client_authentication import _assertion_verifier
    from identity.http.client_jwks import client_keys
    from identity.stores.registry import get_client_store
    from identity.tokens.client_keys import verify_with
    from identity.tokens.dpop import check_proof
    from identity.validation.client_assertion import check_assertion_claims

    jose = _jose()
    keys = Keys.from_private_jwks(json.loads(keys_file.read_text()))
    issuer = "http://127.0.0.1"
    audiences = frozenset({issuer, issuer + TOKEN_PATH})
    token_url = issuer + TOKEN_PATH
    max_lifetime = identity_settings.CLIENT_ASSERTION_MAX_LIFETIME
    proof_lifetime = identity_settings.DPOP_PROOF_LIFETIME
    client = get_client_store().find_client_by_id(CLIENT_ID)
    if client is None:
        raise SystemExit(f"{CLIENT_ID} is not in the database")
    skew = client.dpop_clock_skew
    client_key_list = client_keys(client, clock.now())
    if len(client_key_list) != 2:
        raise SystemExit(f"expected the client's 2 JWKs, found {len(client_key_list)}")
    total = rounds * iterations

    def assertions(alg: str, count: int) -> list[str]:
        return [jose.assertion(CLIENT_ID, keys.signing(alg), alg, aud=issuer,
                               lifetime=ASSERTION_LIFETIME) for _ in range(count)]

    made = time.perf_counter()
    inputs: dict[str, list[Any]] = {
        "RS256": assertions("RS256", total), "ES256": assertions("ES256", total),
        "dpop": [jose.dpop_proof(keys.dpop, "POST", token_url, alg="ES256")
                 for _ in range(total)],
    }
    made = time.perf_counter() - made

    def assertion_check(token: str) -> tuple[str, float]:
        _, claims, _ = verify_with(token, client_key_list)
        return check_assertion_claims(claims, CLIENT_ID, audiences, time.time(), max_lifetime)

    def first_use(value: str) -> bool:
        return replay.first_use("assertion", value, time.time() + ASSERTION_LIFETIME)

    def proof_check(proof: str) -> Any:
        return check_proof(proof, method="POST", urls=frozenset({token_url}), now=time.time(),
                           lifetime=proof_lifetime, skew=skew)

    http = RequestFactory().post(TOKEN_PATH, HTTP_HOST="127.0.0.1")
    verifier = _assertion_verifier(http)

    def whole_verifier(token: str) -> None:
        verifier(client, token)

    # Sanity, untimed: each function does the real work on these inputs.
    jti, _ = assertion_check(inputs["RS256"][0])
    if not jti or proof_check(inputs["dpop"][0]).jkt != jose.thumbprint(keys.dpop):
        raise SystemExit("the assertion or proof check returned something unexpected")
    redis = redis_version(redis_url)
    prefix = f"fapi-bench-{secrets.token_hex(4)}"
    stores: list[tuple[str, dict[str, Any] | None]] = [("default", None)]
    if redis:
        stores.append(("redis", {"default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url,
            "KEY_PREFIX": prefix,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1}}}))
    store_names = {}
    for name, caches_setting in stores:
        with override_settings(**({"CACHES": caches_setting} if caches_setting else {})):
            value = secrets.token_urlsafe(16)
            if not first_use(value) or first_use(value):
                raise SystemExit(f"replay.first_use on {name}: not first-use-only")
            backend = type(caches[identity_settings.CACHE_ALIAS])
            store_names[name] = (f"{backend.__name__} (shared) -> the cache" if cache_is_shared()
                                 else f"{backend.__name__} (per process) -> the database table")

    # Unique values per call: the second use of a value takes another path.
    replay_values = {name: [secrets.token_urlsafe(16) for _ in range(total)]
                     for name, _ in stores}
    whole_inputs = assertions("RS256", total)
    rows: dict[str, tuple[Callable[[Any], Any], list[Any], dict[str, Any] | None]] = {
        "assertion RS256": (assertion_check, inputs["RS256"], None),
        "assertion ES256": (assertion_check, inputs["ES256"], None),
        "replay default": (first_use, replay_values["default"], None),
        "dpop ES256": (proof_check, inputs["dpop"], None),
        "whole verifier RS256, default store": (whole_verifier, whole_inputs, None),
    }
    if redis:
        rows["replay redis"] = (first_use, replay_values["redis"], stores[1][1])
    # Warm-up (imports, caches, connections), on values of their own.
    for _name, caches_setting in stores:
        with override_settings(**({"CACHES": caches_setting} if caches_setting else {})):
            for _ in range(50):
                first_use(secrets.token_urlsafe(16))
    for token in assertions("ES256", 20):
        assertion_check(token)
    times: dict[str, list[float]] = {name: [] for name in rows}
    try:
        for round_no in range(rounds):
            chunk = slice(round_no * iterations, (round_no + 1) * iterations)
            for name, (fn, values, caches_setting) in rows.items():
                with override_settings(**({"CACHES": caches_setting} if caches_setting else {})):
                    batch = values[chunk]
                    started = time.perf_counter()
                    for value in batch:
                        fn(value)
                    times[name].append((time.perf_counter() - started) / len(batch) * 1e6)
    finally:
        if redis:
            delete_redis_keys(redis_url, prefix)
    result = {"times_us": times, "stores": store_names, "redis": redis, "redis_url": redis_url,
              "made_s": made, "rounds": rounds, "iterations": iterations,
              "database": str(connection.settings_dict["NAME"])}
    result_file.write_text(json.dumps(result))
    return 0


def run_micro(env: dict[str, str], work: Path, keys: Keys, args: argparse.Namespace
              ) -> dict[str, Any]:
    """Run part 2 in a subprocess on a copy of the migrated database."""
    database = work / "identity.sqlite3"
    copy = work / "micro.sqlite3"
    shutil.copyfile(database, copy)
    keys_file = work / "keys.json"
    keys_file.write_text(json.dumps(keys.private_jwks()))
    result_file = work / "micro.json"
    child_env = {**env, "DATABASE_URL": f"sqlite:///{copy}"}
    harness.run([sys.executable, str(Path(__file__).resolve()), "--micro-child",
                 str(result_file), str(keys_file), str(args.micro_rounds),
                 str(args.micro_iterations), args.redis_url],
                cwd=ROOT, env=child_env, what="the in-process measurements")
    return json.loads(result_file.read_text())


# --- report ------------------------------------------------------------------------------------

def machine_lines(load: tuple[float, float], redis: str | None) -> list[str]:
    mem_kb = harness.read_proc("/proc/meminfo", "MemTotal").split()[0]
    memory = f"{int(mem_kb) / 1024 / 1024:.1f} GiB" if mem_kb.isdigit() else mem_kb
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    wrk_version = (wrk.stdout or wrk.stderr).strip().splitlines()[0:1]
    rows = [
        ("nproc", str(len(os.sched_getaffinity(0)))),
        ("CPU", harness.cpu_model()),
        ("memory", memory),
        ("OS", platform.platform()),
        ("Python", platform.python_version()),
        *((name, metadata.version(name)) for name in
          ("Django", "cryptography", "joserfc", "gunicorn")),
        ("wrk", wrk_version[0] if wrk_version else "unknown"),
        ("Redis", redis or "not reached"),
        ("load average (1 min)", f"{load[0]:.2f} before, {load[1]:.2f} after"),
    ]
    return ["| | |", "| --- | --- |", *(f"| {k} | {v} |" for k, v in rows)]


def endpoint_lines(results: list[Measured], args: argparse.Namespace,
                   replays: list[str]) -> list[str]:
    cache = ("local-memory cache (so single use is recorded in the database table)"
             if args.server_cache == "locmem" else
             f"Redis cache ({args.redis_url}, a per-run key prefix; single use recorded there)")
    lines = [
        "## Token endpoint", "",
        f"{args.rounds} round(s) of {args.duration:g} s per mode, interleaved (order rotating); "
        f"`wrk -t{WRK_THREADS} -c{WRK_CONNECTIONS} -d{args.duration:g}s --latency`, "
        f"client_credentials, `scope=api1`; gunicorn {WORKERS} sync workers on 127.0.0.1, "
        f"SQLite, DEBUG off, {cache}, RS256 access tokens. One server and one client for "
        "every mode; wrk runs on the same machine. Medians over the rounds; non-2xx and "
        "socket errors summed. *Server CPU/req*: user + system CPU of gunicorn's master and "
        "workers per request served. *Δ vs (a)*: the mode's median less (a)'s, in ms per "
        "request: of p50 latency, and of server CPU. *Pool used*: the largest share of a wrk "
        "thread's prepared requests sent (100% with *exhausted*: the figures are wrong). "
        "*Others' CPU*: the largest share of all CPUs used by processes other than the server "
        "and wrk during a round (noise).", "",
        "| mode | requests/s | p50 ms | p99 ms | server CPU/req µs | Δ p50 vs (a) ms "
        "| Δ CPU/req vs (a) ms | non-2xx | socket errors | pool used | requests/s per round "
        "| others' CPU |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    base = next((r for r in results if r.mode.name == "secret" and r.runs), None)
    for item in results:
        if not item.runs:
            continue
        non2xx = sum(r.wrk.non2xx for r in item.runs)
        errors = sum(r.wrk.socket_errors for r in item.runs)
        exhausted = sum(r.exhausted for r in item.runs)
        if base is None or item is base:
            d_p50 = d_cpu = "—"
        else:
            d_p50 = f"{item.p50() - base.p50():+.2f}"
            d_cpu = f"{(item.cpu_us() - base.cpu_us()) / 1000:+.2f}"
        pool = ("n/a (nothing single-use)" if item.mode.assertion_alg is None
                and not item.mode.dpop else f"{max(r.pool_share for r in item.runs):.0%}"
                + (f" **exhausted ×{exhausted}**" if exhausted else ""))
        lines.append(
            f"| {item.mode.label} | {item.rps():.0f} | {item.p50():.2f} | {item.p99():.2f} | "
            f"{item.cpu_us():.0f} | {d_p50} | {d_cpu} | "
            f"{non2xx}{' **(errors)**' if non2xx else ''} | "
            f"{errors}{' **(errors)**' if errors else ''} | {pool} | "
            + ", ".join(f"{r.wrk.rps:.0f}" for r in item.runs)
            + f" | {max(r.wrk.others_cpu_share for r in item.runs):.0%} |")
    if base is not None:
        lines += ["", "Requests/s relative to (a): " + ", ".join(
            f"{item.mode.label} {item.rps() / base.rps():.0%}" for item in results
            if item is not base and item.runs and base.rps())]
    if replays:
        lines += ["", "Checked before the runs: " + "; ".join(replays) + "."]
    bad = [i.mode.label for i in results if any(
        r.wrk.non2xx or r.wrk.socket_errors or r.exhausted for r in i.runs)]
    if bad:
        lines += ["", f"**Runs with errors or used-up pools:** {', '.join(bad)}."]
    return lines


def micro_lines(micro: dict[str, Any]) -> list[str]:
    times: dict[str, list[float]] = micro["times_us"]
    stores: dict[str, str] = micro["stores"]

    def med(name: str) -> float:
        return statistics.median(times[name])

    labels = {
        "assertion RS256": "assertion check, RS256: `verify_with` + `check_assertion_claims`",
        "assertion ES256": "assertion check, ES256: `verify_with` + `check_assertion_claims`",
        "replay default": f"replay cache `first_use`, default: {stores.get('default', '')}",
        "replay redis": f"replay cache `first_use`, Redis: {stores.get('redis', '')}",
        "dpop ES256": "DPoP proof check, ES256: `check_proof`",
        "whole verifier RS256, default store": "cross-check: the server's whole assertion "
        "verifier (`client_keys` + the above + `first_use`), RS256, default store",
    }
    lines = [
        "## Server-side checks, in process", "",
        f"One process with the server's settings (`bench.settings`, DEBUG off, local-memory "
        f"cache) on its own copy of the database (SQLite); {micro['rounds']} rounds of "
        f"{micro['iterations']} calls per function, interleaved; wall time (`perf_counter`), "
        "a fresh assertion, proof or replay value per call (made beforehand, "
        f"{micro['made_s']:.1f} s, untimed). Redis: {micro['redis_url']} "
        f"({'version ' + micro['redis'] if micro['redis'] else 'not reached: skipped'}), "
        "keys under a per-run prefix, deleted afterwards.", "",
        "| function | µs per call (median) | min – max over rounds |",
        "| --- | ---: | --- |",
    ]
    for name, label in labels.items():
        if name in times:
            lines.append(f"| {label} | {med(name):.0f} | "
                         f"{min(times[name]):.0f} – {max(times[name]):.0f} |")
    where = {"default": "default: database table", "redis": "Redis"}
    lines += ["", f"### Bound: assertion check + replay cache < {BOUND_MS} ms", "",
              "| sum of medians | µs | under 0.3 ms? |", "| --- | ---: | --- |"]
    for alg in ("RS256", "ES256"):
        for store in ("default", "redis"):
            if f"replay {store}" not in times:
                continue
            total = med(f"assertion {alg}") + med(f"replay {store}")
            lines.append(f"| {alg} assertion + replay ({where[store]}) | {total:.0f} | "
                         f"{'yes' if total < BOUND_MS * 1000 else '**no**'} |")
    whole = med("whole verifier RS256, default store")
    lines.append(f"| whole verifier, RS256, default store (measured, not summed) | {whole:.0f} | "
                 f"{'yes' if whole < BOUND_MS * 1000 else '**no**'} |")
    for store in ("default", "redis"):
        if f"replay {store}" in times:
            total = med("dpop ES256") + med(f"replay {store}")
            lines.append(f"| DPoP proof check + replay ({where[store]}) (no bound, for "
                         f"reference) | {total:.0f} | — |")
    return lines


def report(started: datetime, args: argparse.Namespace, results: list[Measured],
           micro: dict[str, Any] | None, replays: list[str], load: tuple[float, float]) -> str:
    lines = [f"# FAPI client authentication and DPoP, {started:%Y-%m-%d %H:%M} UTC", "",
             f"`{' '.join(['bench/fapi.py', *sys.argv[1:]])}`", "", "## Machine", "",
             *machine_lines(load, micro.get("redis") if micro else redis_version(args.redis_url)),
             ""]
    if results:
        lines += [*endpoint_lines(results, args, replays), ""]
    if micro:
        lines += [*micro_lines(micro), ""]
    return "\n".join(lines)


# --- main --------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds per mode (3)")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per wrk run (4)")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="seconds of the warm-up wrk run per mode (2)")
    parser.add_argument("--pool-factor", type=float, default=2.0,
                        help="prepared requests = rate seen x duration x this (2)")
    parser.add_argument("--micro-rounds", type=int, default=7)
    parser.add_argument("--micro-iterations", type=int, default=300)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL,
                        help=f"Redis for the replay-cache row ({DEFAULT_REDIS_URL})")
    parser.add_argument("--server-cache", choices=("locmem", "redis"), default="locmem",
                        help="the server's Django cache: locmem (default, as "
                        "bench/token_endpoint.py; single use then goes to the database) or "
                        "Redis at --redis-url (a per-run key prefix)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 1 round of 2 s, 3 x 100 in-process calls")
    parser.add_argument("--only", default="", help=f"comma-separated modes: {', '.join(BY_NAME)}")
    parser.add_argument("--skip-micro", action="store_true", help="token endpoint only")
    parser.add_argument("--skip-endpoint", action="store_true", help="in-process part only")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.duration, args.warmup = 1, 2.0, 1.0
        args.micro_rounds, args.micro_iterations = 3, 100
    names = [n.strip().lower() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        parser.error(f"unknown mode(s) {', '.join(unknown)}; known: {', '.join(BY_NAME)}")
    args.modes = [m for m in MODES if not names or m.name in names]
    if args.rounds < 1 or args.duration <= 0 or args.micro_rounds < 1 \
            or args.micro_iterations < 1 or args.pool_factor < 1:
        parser.error("--rounds, --micro-rounds, --micro-iterations >= 1, --duration > 0, "
                     "--pool-factor >= 1")
    return args


def prepare(work: Path, keys: Keys) -> dict[str, str]:
    """Migrate a fresh SQLite database and import the client; return the server's env."""
    env = te.project_env(work)
    document = work / "clients.json"
    document.write_text(json.dumps(clients_document(keys), indent=2))
    harness.manage(env, "migrate", "--noinput")
    out = harness.manage(env, "import_clients", str(document))
    print(f"  database: {out.strip().splitlines()[-1]}", flush=True)
    return env


def run_endpoint(env: dict[str, str], work: Path, keys: Keys, args: argparse.Namespace,
                 stack: ExitStack) -> tuple[list[Measured], list[str]]:
    if args.server_cache == "redis":
        if redis_version(args.redis_url) is None:
            raise BenchError(f"--server-cache redis: {args.redis_url} does not answer")
        prefix = f"fapi-bench-{secrets.token_hex(4)}"
        env = {**env, "CACHE_URL": f"{args.redis_url}?key_prefix={prefix}"}
        stack.callback(delete_redis_keys, args.redis_url, prefix)
    server = harness.start_server("fapi", env, work / "server.log")
    stack.callback(harness.stop_server, server)
    for mode in args.modes:
        check_mode(server, mode, keys)
    replays = check_replays(server, args.modes, keys)
    print(f"  server on port {server.port}: every mode answers 200; "
          + "; ".join(replays), flush=True)
    results = [Measured(mode) for mode in args.modes]
    for item in results:  # warm-up, and the rate that sizes the pools
        count = int(1500 * args.warmup)  # above the rates seen on 2 CPUs (else: doubled)
        run, made = measure(server, item, keys, work, f"{item.mode.name}-warm", args.warmup,
                            count)
        item.rate_guess = run.wrk.rps * (2 if run.exhausted else 1)
        print(f"  warm-up {item.mode.label:42} {run.wrk.rps:7.0f} req/s "
              f"(prepared {count} in {made:.1f} s)", flush=True)
    for round_no in range(args.rounds):
        shift = round_no % len(results)
        for item in results[shift:] + results[:shift]:
            count = pool_size(item, args.duration, args.pool_factor)
            run, made = measure(server, item, keys, work, f"{item.mode.name}-{round_no}",
                                args.duration, count)
            item.runs.append(run)
            item.rate_guess = max(item.rate_guess, run.wrk.rps)
            w = run.wrk
            flag = "" if not (w.non2xx or w.socket_errors or run.exhausted) else (
                f"  ({w.non2xx} non-2xx, {w.socket_errors} socket errors, "
                f"{run.exhausted} pools used up)")
            print(f"round {round_no + 1}/{args.rounds}  {item.mode.label:42} {w.rps:7.0f} req/s"
                  f"  p50 {w.p50_ms:6.2f} ms  p99 {w.p99_ms:6.2f} ms  "
                  f"{w.cpu_us_per_request:6.0f} µs CPU/req  pool {run.pool_share:4.0%}"
                  f"  (prepared in {made:.1f} s){flag}", flush=True)
    return results, replays


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.skip_endpoint and shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, harness.exit_on_sigterm)
    started = datetime.now(UTC)
    load_before = os.getloadavg()[0]
    results: list[Measured] = []
    replays: list[str] = []
    micro = None
    with tempfile.TemporaryDirectory(prefix="fapi-bench-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        print("preparing the project", flush=True)
        keys = Keys.generate()
        env = prepare(work, keys)
        if not args.skip_micro:
            print("in-process checks", flush=True)
            micro = run_micro(env, work, keys, args)
        if not args.skip_endpoint:
            print("token endpoint", flush=True)
            results, replays = run_endpoint(env, work, keys, args, stack)
    text = report(started, args, results, micro, replays, (load_before, os.getloadavg()[0]))
    harness.write_report("fapi", text, started, quick=args.quick)
    return 0


def _child_main(argv: list[str]) -> int:
    result_file, keys_file, rounds, iterations, redis_url = argv
    return micro_child(Path(result_file), Path(keys_file), int(rounds), int(iterations),
                       redis_url)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--micro-child":
        sys.exit(_child_main(sys.argv[2:]))
    harness.run_main(main, "server stopped")
