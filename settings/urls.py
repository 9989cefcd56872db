"""URLs of the serving project: the identity endpoints at the root, the admin under /admin/."""

from django.contrib import admin
from django.urls import include, path

from identity.endpoints.account import admin_login

urlpatterns = [
    path("", include("identity.urls")),  # first: the protocol endpoints carry the load
    path("admin/login/", admin_login),  # ahead of the admin's own: failed sign-ins are limited
    path("admin/", admin.site.urls),
    path("api/", include("clients_app.api.urls")),
]
