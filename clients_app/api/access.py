"""Who may call the management API, and what they may do.

Two kinds of caller. Programs present an access token issued by this server, verified as
introspection would (deny list, client enabled, user active); the management scope allows
everything, the read scope only reads. Staff use their Django session (the browsable API), with
CSRF protection, and are held to the model permissions the admin asks for: view, add, change,
delete.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from identity.conf import identity_settings
from identity.errors import OAuthError
from identity.grants.lookup import FoundToken
from identity.http.bearer import token_scopes, verify_access_token

REALM = "identity-management"


@dataclass(frozen=True)
class TokenCaller:
    """The caller behind an access token: its client, and its user when it has one."""

    client_id: str
    subject: str | None
    scopes: frozenset[str]

    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False

    @property
    def pk(self) -> None:  # DRF's throttles and Django's auth look for it
        return None

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False  # tokens are judged by their scopes, never by model permissions

    def __str__(self) -> str:
        user = f" for user:{self.subject}" if self.subject else ""
        return f"client:{self.client_id}{user}"


class TokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <access token issued here>`."""

    def authenticate(self, request: Request) -> tuple[TokenCaller, FoundToken] | None:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer":
            return None  # not ours to judge: the session, or no authentication
        if not value.strip():
            raise exceptions.AuthenticationFailed("The Bearer credentials are empty.")
        try:
            found = verify_access_token(request._request, value.strip())
        except OAuthError as error:
            raise exceptions.AuthenticationFailed(
                f"The access token is not accepted: {error.description}.") from None
        caller = TokenCaller(found.client_id, found.subject_id, token_scopes(found))
        return caller, found

    def authenticate_header(self, request: Request) -> str:
        return f'Bearer realm="{REALM}"'


class StaffSessionAuthentication(SessionAuthentication):
    """A staff member signed in to the admin; CSRF is enforced on writes, as DRF does."""

    def authenticate(self, request: Request) -> tuple[Any, None] | None:
        found = super().authenticate(request)
        if found is None or not found[0].is_staff:
            return None
        return found


# What each method asks of a user, as the admin asks it.
_ACTIONS = {"GET": "view", "HEAD": "view", "OPTIONS": "view", "POST": "add", "PUT": "change",
            "PATCH": "change", "DELETE": "delete"}


class ManagementPermission(BasePermission):
    """Scopes for tokens, model permissions for staff.

    A view says which model a request touches (`permission_model`) and may name other
    permissions an action needs (`action_permissions`, action name -> permission strings, e.g.
    revoking a signing key).
    """

    message = "You do not have permission to perform this action."

    def has_permission(self, request: Request, view: Any) -> bool:
        user: Any = request.user  # a TokenCaller, a User or AnonymousUser
        if isinstance(user, TokenCaller):
            return _token_allows(request, user)
        if not (user and user.is_authenticated and user.is_active and user.is_staff):
            return False
        return all(user.has_perm(perm) for perm in required_permissions(request, view))


def _token_allows(request: Request, caller: TokenCaller) -> bool:
    settings = identity_settings
    if settings.MANAGEMENT_SCOPE in caller.scopes:
        return True
    if request.method in SAFE_METHODS and settings.MANAGEMENT_READ_SCOPE in caller.scopes:
        return True
    accepted = (settings.MANAGEMENT_READ_SCOPE if request.method in SAFE_METHODS
                else settings.MANAGEMENT_SCOPE)
    raise exceptions.PermissionDenied(f"The access token needs the {accepted} scope.")


def required_permissions(request: Request, view: Any) -> list[str]:
    """Return the permissions a staff user needs for this request."""
    action = getattr(view, "action", None)
    special = getattr(view, "action_permissions", {})
    if action in special:
        return list(special[action])
    model = view.permission_model
    opts = model._meta
    verb = _ACTIONS.get(request.method or "GET", "change")
    return [f"{opts.app_label}.{verb}_{opts.model_name}"]


def caller_name(request: HttpRequest | Request) -> str:
    """Name the caller for the audit trail: `user:<username>` or `client:<id>[ for user:<sub>]`."""
    user: Any = request.user
    if isinstance(user, TokenCaller):
        return str(user)
    return f"user:{user.get_username()}"
