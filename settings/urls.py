"""URLs of the serving project: the identity endpoints at the root, the admin under /admin/."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("identity.urls")),  # first: the protocol endpoints carry the load
    path("admin/", admin.site.urls),
]
