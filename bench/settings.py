"""Settings of the token endpoint benchmark: the project's own, plus the ceiling views' URLs.

Everything else (database, cache, logging, the middleware) is `settings.settings`, read from the
same environment variables, with one change to the middleware: the ceiling views skip the
Accept-Language negotiation, as the protocol endpoints do (bench.middleware).
BENCH_SIGNING_ALGORITHM picks the algorithm that signs access tokens (RS256 by default).
"""

from __future__ import annotations

from settings.settings import *  # noqa: F403
from settings.settings import IDENTITY, MIDDLEWARE, env

ROOT_URLCONF = "bench.urls"
_PAGE_LOCALE = "identity.http.locale.PageLocaleMiddleware"
if _PAGE_LOCALE not in MIDDLEWARE:
    raise RuntimeError(f"bench.settings: {_PAGE_LOCALE} is no longer in settings.MIDDLEWARE")
MIDDLEWARE = ["bench.middleware.CeilingLocaleMiddleware" if name == _PAGE_LOCALE else name
              for name in MIDDLEWARE]
IDENTITY = {
    **IDENTITY,
    "SIGNING_ALGORITHMS": [env.str("BENCH_SIGNING_ALGORITHM", default="RS256")],
}
