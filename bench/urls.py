"""The project's URLs, plus the ceiling views of the token endpoint benchmark under /bench/.

The project's patterns are spliced in, not included: an `include()` would add a level of
resolution to every request of the project (about 3 µs for the token endpoint, measured), which
the ceilings would not pay, and which a deployment (settings.urls) does not have.
"""

from __future__ import annotations

from django.urls import path

from bench import ceiling_views
from settings.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    path("bench/ceiling/django", ceiling_views.django_ceiling),
    path("bench/ceiling/rs256", ceiling_views.rs256_ceiling),
    path("bench/ceiling/es256", ceiling_views.es256_ceiling),
    path("bench/ceiling/rs256-mget", ceiling_views.rs256_ceiling_mget),
    path("bench/ceiling/es256-mget", ceiling_views.es256_ceiling_mget),
    *project_urlpatterns,
]
