"""How the OpenAPI schema describes the API's callers: a bearer token or a staff session.

drf-spectacular finds these extensions once this module is imported (by the URL configuration).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from identity.conf import identity_settings


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "clients_app.api.access.TokenAuthentication"
    name = "accessToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT or reference token",
                "description": f"An access token issued by this server with the "
                               f"{identity_settings.MANAGEMENT_SCOPE} scope (reads also accept "
                               f"{identity_settings.MANAGEMENT_READ_SCOPE})."}


class StaffSessionScheme(OpenApiAuthenticationExtension):
    target_class = "clients_app.api.access.StaffSessionAuthentication"
    name = "staffSession"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid",
                "description": "A staff member signed in to the admin; writes need the CSRF "
                               "token in X-CSRFToken. Django model permissions apply."}
