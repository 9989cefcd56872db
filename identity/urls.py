"""Protocol endpoints of the identity app (IdentityServer's paths)."""

from __future__ import annotations

from django.urls import path

from identity.endpoints.account import grants_page, login_page
from identity.endpoints.authorize import authorize_endpoint
from identity.endpoints.consent import consent_page
from identity.endpoints.device import device_page
from identity.endpoints.device_authorization import device_authorization_endpoint
from identity.endpoints.discovery import oauth_authorization_server, openid_configuration
from identity.endpoints.end_session import end_session_endpoint
from identity.endpoints.home import home
from identity.endpoints.introspection import introspection_endpoint
from identity.endpoints.jwks import jwks_endpoint
from identity.endpoints.password_reset import (
    password_reset_complete_page,
    password_reset_confirm_page,
    password_reset_page,
    password_reset_sent_page,
)
from identity.endpoints.pushed_authorization import pushed_authorization_endpoint
from identity.endpoints.registration import registration_client_endpoint, registration_endpoint
from identity.endpoints.revocation import revocation_endpoint
from identity.endpoints.token import token_endpoint
from identity.endpoints.userinfo import userinfo_endpoint

app_name = "identity"

urlpatterns = [
    path("connect/token", token_endpoint, name="token"),  # first: the busiest route
    path("", home, name="home"),
    path(".well-known/openid-configuration", openid_configuration, name="discovery"),
    path(".well-known/oauth-authorization-server", oauth_authorization_server,
         name="oauth-metadata"),
    path(".well-known/openid-configuration/jwks", jwks_endpoint, name="jwks"),
    path("connect/authorize", authorize_endpoint, name="authorize"),
    path("connect/par", pushed_authorization_endpoint, name="pushed_authorization"),
    path("connect/deviceauthorization", device_authorization_endpoint,
         name="device_authorization"),
    path("device", device_page, name="device"),
    path("connect/userinfo", userinfo_endpoint, name="userinfo"),
    path("connect/introspect", introspection_endpoint, name="introspection"),
    path("connect/revocation", revocation_endpoint, name="revocation"),
    path("connect/dcr", registration_endpoint, name="registration"),
    path("connect/dcr/<str:client_id>", registration_client_endpoint, name="registration_client"),
    path("connect/endsession", end_session_endpoint, name="end_session"),
    path("connect/consent", consent_page, name="consent"),
    path("account/login", login_page, name="login"),
    path("account/grants", grants_page, name="grants"),
    path("account/password/reset", password_reset_page, name="password_reset"),
    path("account/password/reset/sent", password_reset_sent_page, name="password_reset_sent"),
    path("account/password/reset/done", password_reset_complete_page,
         name="password_reset_complete"),
    path("account/password/reset/<uidb64>/<token>", password_reset_confirm_page,
         name="password_reset_confirm"),
]
