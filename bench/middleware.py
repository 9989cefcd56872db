"""Middleware of the benchmark settings (bench.settings)."""

from __future__ import annotations

from django.urls import reverse

from bench import ceiling_views
from bench.urls import urlpatterns
from identity.http.locale import PageLocaleMiddleware


class CeilingLocaleMiddleware(PageLocaleMiddleware):
    """The project's PageLocaleMiddleware, keeping Accept-Language negotiation off the ceiling
    views as it keeps it off the protocol endpoints.

    A ceiling is the frame of a protocol endpoint plus a signature: the negotiation (about 30 µs
    of CPU a request, measured in one process) is work the token endpoint does not do, and a
    ceiling that did it would make every ratio to it look better than it is.
    """

    def skipped_paths(self) -> frozenset[str]:
        ceilings = {reverse(p.callback) for p in urlpatterns
                    if getattr(p, "callback", None) is not None
                    and p.callback.__module__ == ceiling_views.__name__}
        return super().skipped_paths() | ceilings
