"""The project's URLs, plus the ceiling views of the token endpoint benchmark under /bench/."""

from __future__ import annotations

from django.urls import include, path

from bench import ceiling_views

urlpatterns = [
    path("bench/ceiling/django", ceiling_views.django_ceiling),
    path("bench/ceiling/rs256", ceiling_views.rs256_ceiling),
    path("bench/ceiling/es256", ceiling_views.es256_ceiling),
    path("", include("settings.urls")),
]
