"""Settings of the token endpoint benchmark: the project's own, plus the ceiling views' URLs.

Everything else (middleware, database, cache, logging) is `settings.settings` unchanged, read from
the same environment variables. BENCH_SIGNING_ALGORITHM picks the algorithm that signs access
tokens (RS256 by default).
"""

from __future__ import annotations

from settings.settings import *  # noqa: F403
from settings.settings import IDENTITY, env

ROOT_URLCONF = "bench.urls"
IDENTITY = {
    **IDENTITY,
    "SIGNING_ALGORITHMS": [env.str("BENCH_SIGNING_ALGORITHM", default="RS256")],
}
