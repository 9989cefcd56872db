"""Settings of the production benchmark (bench/production.py): bench.settings (the project's own
settings plus the ceiling views), behind a load balancer, with per-request counting.

- `bench.counting.CountingMiddleware` first, so that it sees every statement and Redis call of
  every request (the ceiling views' included);
- the caller's address from X-Forwarded-For, written by the one proxy in front (the balancer),
  as a deployment behind a proxy sets it (see docs/deployment.rst).

Database, cache, issuer and signing algorithm come from the environment, as for bench.settings.
"""

from __future__ import annotations

from bench.settings import *  # noqa: F403
from bench.settings import IDENTITY, MIDDLEWARE

MIDDLEWARE = ["bench.counting.CountingMiddleware", *MIDDLEWARE]
IDENTITY = {**IDENTITY, "CLIENT_IP_HEADER": "HTTP_X_FORWARDED_FOR", "TRUSTED_PROXIES": 1}
