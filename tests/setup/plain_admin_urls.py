"""A project that routes the admin without identity's sign-in limits (for identity.W002)."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [path("", include("identity.urls")), path("admin/", admin.site.urls)]
