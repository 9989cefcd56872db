"""Routes of the management API; a project includes them under `api/`."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import APIRootView, DefaultRouter

from clients_app.api import schema as _schema  # noqa: F401 - registers the auth schemes
from clients_app.api.access import ManagementPermission, StaffSessionAuthentication
from clients_app.api.access import TokenAuthentication as _TokenAuthentication
from clients_app.api.clients import ClientViewSet
from clients_app.api.operations import (
    AuditEventViewSet,
    ConsentViewSet,
    GrantViewSet,
    SigningKeyViewSet,
)
from clients_app.api.resources import ApiResourceViewSet, ApiScopeViewSet, IdentityResourceViewSet
from clients_app.api.secrets import ApiResourceSecretViewSet, ClientSecretViewSet
from clients_app.api.throttling import CallerRateThrottle


class RootView(APIRootView):
    """The list of resources, for the API's callers only: DRF's defaults would also take HTTP
    Basic user passwords here, past the sign-in limits."""

    authentication_classes = [_TokenAuthentication, StaffSessionAuthentication]
    permission_classes = [ManagementPermission]
    throttle_classes = [CallerRateThrottle]
    # Staff need no model permission to see which resources exist.
    action_permissions: dict[str | None, list[str]] = {None: []}


router = DefaultRouter()
router.APIRootView = RootView
router.trailing_slash = "/?"  # /api/clients and /api/clients/ alike: no redirect for a POST
router.register("clients", ClientViewSet, basename="client")
router.register(r"clients/(?P<client_id>[^/]+)/secrets", ClientSecretViewSet,
                basename="client-secret")
router.register("signing-keys", SigningKeyViewSet, basename="signing-key")
router.register("grants", GrantViewSet, basename="grant")
router.register("consents", ConsentViewSet, basename="consent")
router.register("audit-events", AuditEventViewSet, basename="audit-event")
router.register("identity-resources", IdentityResourceViewSet, basename="identity-resource")
router.register("api-scopes", ApiScopeViewSet, basename="api-scope")
router.register("api-resources", ApiResourceViewSet, basename="api-resource")
router.register(r"api-resources/(?P<name>[^/]+)/secrets", ApiResourceSecretViewSet,
                basename="api-resource-secret")


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 description of this API, for the callers allowed to read it."""

    authentication_classes = [_TokenAuthentication, StaffSessionAuthentication]
    permission_classes = [ManagementPermission]
    throttle_classes = [CallerRateThrottle]
    permission_model = None
    # Staff need no model permission to read the description of the API.
    action_permissions: dict[str | None, list[str]] = {None: []}


urlpatterns = [
    path("schema", SchemaView.as_view(), name="management-schema"),
    path("", include(router.urls)),
]
