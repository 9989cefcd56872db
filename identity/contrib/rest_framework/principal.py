"""The `request.user` of a request authenticated by an access token.

Not a Django user: the API has no user table of ours (and perhaps no database), and a token may
stand for a client acting for itself, without a user. It answers what DRF and Django's code
commonly ask of a user (is_authenticated, is_anonymous, pk, ...) so that throttles and
permissions written for users keep working.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from identity.contrib.rest_framework.claims import scopes_of


@dataclass(frozen=True, slots=True, eq=False)
class TokenUser:
    """Who the access token speaks for: `sub` (None for a client's own token), `client_id`,
    the granted `scopes` and every validated claim."""

    sub: str | None
    client_id: str | None
    scopes: frozenset[str]
    claims: Mapping[str, Any]

    is_authenticated: ClassVar[bool] = True
    is_anonymous: ClassVar[bool] = False
    is_active: ClassVar[bool] = True
    is_staff: ClassVar[bool] = False
    is_superuser: ClassVar[bool] = False

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> TokenUser:
        sub = claims.get("sub")
        client_id = claims.get("client_id")
        return cls(sub=sub if isinstance(sub, str) else None,
                   client_id=client_id if isinstance(client_id, str) else None,
                   scopes=scopes_of(claims), claims=claims)

    @property
    def pk(self) -> str:
        """The subject, else "client:" and the client id: a key for per-caller throttling."""
        return self.sub if self.sub is not None else f"client:{self.client_id or ''}"

    @property
    def username(self) -> str:
        return self.pk

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def __str__(self) -> str:
        return self.pk
