"""Views of the API project, written as an API developer would with the contrib classes."""

from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from identity.contrib.rest_framework import HasScopes, any_scope


class Open(APIView):
    permission_classes = [AllowAny]

    def get(self, request):
        user = request.user
        return Response({"open": True, "authenticated": bool(user and user.is_authenticated)})


class WhoAmI(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request):
        user = request.user
        return Response({"sub": user.sub, "client_id": user.client_id,
                         "scopes": sorted(user.scopes), "aud": request.auth.get("aud")})


class NeedsApi1(WhoAmI):
    permission_classes = [HasScopes]
    required_scopes = ["api1"]


class NeedsApi2ReadOnly(WhoAmI):
    permission_classes = [HasScopes]
    required_scopes = ["api2.read_only"]


class NeedsEither(WhoAmI):
    permission_classes = [any_scope("api2.read_only", "api1")]
