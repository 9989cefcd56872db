"""Scope permissions for views behind IdentityTokenAuthentication.

`HasScopes` wants every scope in the view's `required_scopes`, `HasAnyScope` one of them;
`scopes(...)` and `any_scope(...)` make the same with the scopes fixed, for views that mix
permission classes. A token without them gets a 403 naming the scopes that would do.

A refusal is a plain False, never an exception, so that the classes compose with DRF's `|`,
`&` and `~` like any permission (an exception would end an OR before its other side is asked).
The RFC 6750 §3.1 challenge (`error="insufficient_scope", scope="..."`) therefore cannot ride on
the exception DRF raises; the permission notes the scopes on the request and the optional
exception handler (handlers.py) adds the header to the 403.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Final

from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import (  # type: ignore[import-untyped, unused-ignore]
    BasePermission,
)

from identity.contrib.rest_framework.principal import TokenUser

# RFC 6749 §3.3: scope-token is printable ASCII without space, quote or backslash.
_SCOPE_CHARACTERS: Final = frozenset(chr(c) for c in range(0x21, 0x7F)) - {'"', "\\"}
INSUFFICIENT_SCOPE_ATTRIBUTE: Final = "_identity_insufficient_scope"


def _checked(names: Iterable[str], where: str) -> frozenset[str]:
    if isinstance(names, str):
        names = [names]
    found = frozenset(names)
    if not found or not all(n and set(n) <= _SCOPE_CHARACTERS for n in found):
        raise ImproperlyConfigured(f"{where}: give one or more scope names (no spaces, quotes "
                                   f"or backslashes), not {sorted(found)!r}.")
    return found


class HasScopes(BasePermission):  # type: ignore[misc, unused-ignore]
    """Allow a request whose access token has every scope the view's `required_scopes` names.

    An unauthenticated request is refused (DRF answers 401 with the authentication class's
    challenge); a request authenticated otherwise than by an access token too (403), since it
    has no scopes. A view without `required_scopes` is a configuration mistake, refused as one
    rather than let through."""

    every: ClassVar[bool] = True
    fixed: ClassVar[frozenset[str] | None] = None

    def required(self, view: Any) -> frozenset[str]:
        if self.fixed is not None:
            return self.fixed
        names = getattr(view, "required_scopes", None)
        if names is None:
            raise ImproperlyConfigured(f"{type(view).__name__} uses {type(self).__name__} but "
                                       "sets no required_scopes.")
        return _checked(names, f"{type(view).__name__}.required_scopes")

    def has_permission(self, request: Any, view: Any) -> bool:
        required = self.required(view)
        user = request.user
        if not isinstance(user, TokenUser):
            return False
        granted = user.scopes
        if required <= granted if self.every else not required.isdisjoint(granted):
            return True
        # DRF makes its 403 of these when this class is used alone (an instance per request).
        names = " ".join(sorted(required))
        how = "all" if self.every else "one"
        self.message = f"This resource needs {how} of the scopes: {names}."
        self.code = "insufficient_scope"
        setattr(request, INSUFFICIENT_SCOPE_ATTRIBUTE, names)
        return False


class HasAnyScope(HasScopes):
    """Allow a request whose access token has at least one of the view's `required_scopes`."""

    every: ClassVar[bool] = False


def scopes(*names: str) -> type[HasScopes]:
    """Return a permission class that wants every one of `names`: `scopes("api1.read")`."""
    fixed = _checked(names, "scopes()")
    return type(f"HasScopes({' '.join(sorted(fixed))})", (HasScopes,), {"fixed": fixed})


def any_scope(*names: str) -> type[HasScopes]:
    """Return a permission class that wants at least one of `names`."""
    fixed = _checked(names, "any_scope()")
    return type(f"HasAnyScope({' '.join(sorted(fixed))})", (HasAnyScope,), {"fixed": fixed})
