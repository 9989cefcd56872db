"""Routes of the management API; a project includes them under `api/`."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from clients_app.api.access import ManagementPermission, StaffSessionAuthentication
from clients_app.api.access import TokenAuthentication as _TokenAuthentication
from clients_app.api.clients import ClientSecretViewSet, ClientViewSet

router = DefaultRouter()
router.trailing_slash = "/?"  # /api/clients and /api/clients/ alike: no redirect for a POST
router.register("clients", ClientViewSet, basename="client")
router.register(r"clients/(?P<client_id>[^/]+)/secrets", ClientSecretViewSet,
                basename="client-secret")


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 description of this API, for the callers allowed to read it."""

    authentication_classes = [_TokenAuthentication, StaffSessionAuthentication]
    permission_classes = [ManagementPermission]
    permission_model = None
    action_permissions = {None: []}


urlpatterns = [
    path("schema", SchemaView.as_view(), name="management-schema"),
    path("", include(router.urls)),
]
