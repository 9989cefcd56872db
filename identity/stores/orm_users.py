"""Users are Django's: whether a subject may still get tokens, and its claims."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser

from identity.conf import identity_settings


def default_user_claims(user: Any, claim_types: frozenset[str]) -> dict[str, Any]:
    """Map a Django user to OpenID Connect standard claims (OIDC Core §5.1).

    `sub` is the primary key as a string; `name` joins first and last names.
    """
    full_name = " ".join(p for p in (user.first_name, user.last_name) if p)
    available: dict[str, Any] = {
        "sub": str(user.pk),
        "preferred_username": user.get_username(),
        "name": full_name or None,
        "given_name": user.first_name or None,
        "family_name": user.last_name or None,
        "email": user.email or None,
        "email_verified": False if user.email else None,
        "updated_at": int(user.last_login.timestamp()) if user.last_login else None,
    }
    return {k: v for k, v in available.items() if k in claim_types and v is not None}


class DjangoUserStore:
    """Look users up by subject id (the primary key) in Django's user model."""

    def _user(self, subject_id: str) -> AbstractBaseUser | None:
        model = get_user_model()
        try:
            return model._default_manager.filter(pk=subject_id, is_active=True).first()
        except (ValueError, TypeError):
            return None

    def is_active(self, subject_id: str) -> bool:
        """Tell whether the user exists and may still get tokens."""
        return self._user(subject_id) is not None

    def claims(self, subject_id: str, claim_types: Iterable[str]) -> dict[str, Any]:
        """Return the user's claims of the given types, through the USER_CLAIMS hook."""
        user = self._user(subject_id)
        if user is None:
            return {}
        hook = identity_settings.USER_CLAIMS
        result: dict[str, Any] = hook(user, frozenset(claim_types))
        return result


def account_key(username: str) -> str:
    """Return who a sign-in attempt is really for: the account the user name resolves to, or,
    when none does, the name case-folded (so spellings of one unknown name count together)."""
    model = get_user_model()
    if username and "\x00" not in username:  # PostgreSQL refuses NUL in text
        try:
            user = model._default_manager.get_by_natural_key(username)
        except model.DoesNotExist:
            pass
        else:
            return f"user:{user.pk}"
    return "name:" + username.casefold()
