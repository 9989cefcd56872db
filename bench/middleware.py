"""Middleware of the benchmark settings (bench.settings)."""

from __future__ import annotations

from identity.http.locale import PageLocaleMiddleware

CEILING_PREFIX = "/bench/ceiling/"


class CeilingLocaleMiddleware(PageLocaleMiddleware):
    """The project's PageLocaleMiddleware, keeping Accept-Language negotiation off the ceiling
    views as it keeps it off the protocol endpoints.

    A ceiling is the frame of a protocol endpoint plus a signature: the negotiation (about 30 µs
    of CPU a request, measured in one process) is work the token endpoint does not do, and a
    ceiling that did it would make every ratio to it look better than it is.
    """

    def skips(self, path: str) -> bool:
        return path.startswith(CEILING_PREFIX) or super().skips(path)
