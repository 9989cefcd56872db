"""Protocol endpoints of the identity app (IdentityServer's paths)."""

from __future__ import annotations

from django.urls import path

from identity import views
from identity.endpoints.discovery import oauth_authorization_server, openid_configuration
from identity.endpoints.jwks import jwks_endpoint
from identity.endpoints.token import token_endpoint

app_name = "identity"

urlpatterns = [
    path("", views.home, name="home"),
    path(".well-known/openid-configuration", openid_configuration, name="discovery"),
    path(".well-known/oauth-authorization-server", oauth_authorization_server,
         name="oauth-metadata"),
    path(".well-known/openid-configuration/jwks", jwks_endpoint, name="jwks"),
    path("connect/token", token_endpoint, name="token"),
]
