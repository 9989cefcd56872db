#!/usr/bin/env python
"""Benchmark the CPU cost of accepting an access token in an API: identity.contrib.rest_framework.

A DRF APIView is called in-process (Django's RequestFactory, no server, no rendering) in an API
project of its own: no database, no identity apps, `UNAUTHENTICATED_USER: None`, as the guide
sets one up. Scenarios, each the same view:

    bare            no authentication class, AllowAny: the baseline
    rs256 / es256   IdentityTokenAuthentication + IsAuthenticated, a valid JWT access token
                    (RSA 2048 / P-256), the JWKS already fetched and cached
    rs256+scopes    the same with HasScopes (two required scopes)
    reference       a reference token whose introspection answer is in Django's local-memory
                    cache (a SHA-256 and a cache read per request)

CPU time (time.process_time) over many calls, several interleaved rounds, median per call; the
overhead is a scenario's median less the baseline's. The product target is <= 0.15 ms of
overhead per request with a cached JWKS.

    .venv/bin/python bench/resource_auth.py [--rounds 7] [--iterations 3000] [--quick]
                                            [--profile]

The report is printed and written to bench/results/.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import platform
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
AUTHORITY = "https://id.bench.invalid"
TARGET_MS = 0.15
SCENARIOS = ("bare", "rs256", "es256", "rs256+scopes", "reference")


def _configure() -> None:
    """Set Django up as a database-free API project using the contrib classes."""
    sys.path.insert(0, str(ROOT))
    import django
    from django.conf import settings

    settings.configure(
        SECRET_KEY="bench", DEBUG=False, ALLOWED_HOSTS=["testserver"], DATABASES={},
        INSTALLED_APPS=["rest_framework"], USE_TZ=True,
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        REST_FRAMEWORK={"UNAUTHENTICATED_USER": None,
                        "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]},
        IDENTITY_RESOURCE_SERVER={"AUTHORITY": AUTHORITY, "AUDIENCE": "api1",
                                  "INTROSPECTION_CLIENT_ID": "api1",
                                  "INTROSPECTION_CLIENT_SECRET": "bench-secret"})
    django.setup()


def _scenarios() -> dict[str, Callable[[], Any]]:
    """Build the views and tokens; return a call per scenario (one request each)."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from django.test import RequestFactory
    from jwt.algorithms import ECAlgorithm, RSAAlgorithm
    from rest_framework.permissions import AllowAny, IsAuthenticated
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from identity.contrib.rest_framework import HasScopes, IdentityTokenAuthentication
    from identity.contrib.rest_framework import keys as keys_module

    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    jwks = {"keys": [{**RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True), "kid": "r1"},
                     {**ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True), "kid": "e1"}]}
    now = int(time.time())
    claims = {"iss": AUTHORITY, "aud": "api1", "exp": now + 86400, "iat": now, "nbf": now,
              "client_id": "bench.client", "sub": "88421113", "scope": "api1 api1.read",
              "jti": "4C3B2A1D0E9F8A7B6C5D4E3F2A1B0C9D", "auth_time": now, "idp": "local",
              "amr": ["pwd"]}
    rs256 = jwt.encode(claims, rsa_key, "RS256", headers={"typ": "at+jwt", "kid": "r1"})
    es256 = jwt.encode(claims, ec_key, "ES256", headers={"typ": "at+jwt", "kid": "e1"})
    reference = "Zx8tPq3RbN5vY2wK7mL0aS4dF6gH9jJ1kQ2eR5tY8uI"

    def fetch(url: str, **kwargs: Any) -> dict[str, Any]:
        # The identity server, answered in memory: hit once for the keys, once for the token.
        if url.endswith("/openid-configuration"):
            return {"jwks_uri": f"{AUTHORITY}/jwks",
                    "introspection_endpoint": f"{AUTHORITY}/connect/introspect"}
        if url.endswith("/jwks"):
            return jwks
        return {"active": True, "token_type": "Bearer", **claims}

    keys_module.fetch_json = fetch  # type: ignore[assignment]
    from identity.contrib.rest_framework import introspection
    introspection.fetch_json = fetch  # type: ignore[assignment]

    class Bare(APIView):
        authentication_classes: list[Any] = []
        permission_classes = [AllowAny]

        def get(self, request: Any) -> Response:
            return Response({"ok": True})

    class Authenticated(Bare):
        authentication_classes = [IdentityTokenAuthentication]
        permission_classes = [IsAuthenticated]

    class Scoped(Authenticated):
        permission_classes = [HasScopes]
        required_scopes = ["api1", "api1.read"]

    factory = RequestFactory()
    bare, authenticated, scoped = Bare.as_view(), Authenticated.as_view(), Scoped.as_view()

    def call(view: Callable[..., Any], token: str | None) -> Callable[[], Any]:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}

        def once() -> Any:
            response = view(factory.get("/orders", **headers))
            if response.status_code != 200:
                raise SystemExit(f"unexpected {response.status_code}: {response.data}")
            return response

        return once

    calls = {"bare": call(bare, None), "rs256": call(authenticated, rs256),
             "es256": call(authenticated, es256), "rs256+scopes": call(scoped, rs256),
             "reference": call(authenticated, reference)}
    for once in calls.values():  # fetch the keys, fill the introspection cache, warm up
        for _ in range(50):
            once()
    return calls


def measure(calls: dict[str, Callable[[], Any]], rounds: int,
            iterations: int) -> dict[str, list[float]]:
    """Return, per scenario, the CPU ms per call of each round (rounds interleaved)."""
    results: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, once in calls.items():
            start = time.process_time()
            for _ in range(iterations):
                once()
            results[name].append((time.process_time() - start) * 1000 / iterations)
    return results


def profile(calls: dict[str, Callable[[], Any]], iterations: int) -> str:
    """cProfile the RS256 scenario; return the top of the cumulative listing."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(iterations):
        calls["rs256"]()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
    return out.getvalue()


def machine() -> dict[str, str]:
    """Describe the machine and the versions the numbers depend on."""
    import cryptography
    import django
    import jwt
    import rest_framework

    cpu, memory = "unknown", "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in
                   Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
        kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
        memory = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        pass
    return {"Date": datetime.now().astimezone().isoformat(timespec="seconds"),
            "nproc": str(len(os.sched_getaffinity(0))), "CPU": cpu, "Memory": memory,
            "Python": platform.python_version(), "Django": django.get_version(),
            "DRF": rest_framework.VERSION, "PyJWT": jwt.__version__,
            "cryptography": cryptography.__version__,
            "Load average (1 min)": f"{os.getloadavg()[0]:.2f}"}


def render(info: dict[str, str], results: dict[str, list[float]], rounds: int,
           iterations: int) -> str:
    base = statistics.median(results["bare"])
    lines = ["# Resource server authentication: CPU per request", "",
             "machine: " + ", ".join(f"{k} {v}" for k, v in info.items()), "",
             f"{rounds} rounds x {iterations} calls per scenario, interleaved; CPU time "
             "(process_time) per call, median of the rounds; overhead = scenario - bare.", "",
             "| Scenario | median ms | min ms | max ms | overhead ms | target |",
             "| --- | ---: | ---: | ---: | ---: | --- |"]
    for name, per_round in results.items():
        median = statistics.median(per_round)
        overhead = median - base
        verdict = ("" if name in ("bare", "reference")
                   else "met" if overhead <= TARGET_MS else "MISSED")
        lines.append(f"| {name} | {median:.4f} | {min(per_round):.4f} | {max(per_round):.4f} "
                     f"| {'' if name == 'bare' else f'{overhead:.4f}'} | {verdict} |")
    lines += ["", f"Target: <= {TARGET_MS} ms CPU overhead per request with a cached JWKS."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--quick", action="store_true", help="3 rounds of 300 calls")
    parser.add_argument("--profile", action="store_true",
                        help="also print a cProfile listing of the rs256 scenario")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    rounds, iterations = (3, 300) if args.quick else (args.rounds, args.iterations)
    _configure()
    calls = _scenarios()
    results = measure(calls, rounds, iterations)
    report = render(machine(), results, rounds, iterations)
    print(report)
    if args.profile:
        print(profile(calls, iterations))
    if not args.no_write:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        stem = f"resource_auth-{datetime.now():%Y%m%d-%H%M%S}{'-quick' if args.quick else ''}"
        (RESULTS_DIR / f"{stem}.md").write_text(report, encoding="utf-8")
        (RESULTS_DIR / f"{stem}.json").write_text(json.dumps(results, indent=2) + "\n",
                                                  encoding="utf-8")
    base = statistics.median(results["bare"])
    missed = [n for n in ("rs256", "es256")
              if statistics.median(results[n]) - base > TARGET_MS]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
