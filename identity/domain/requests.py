"""Validated requests: what a validator hands to a response generator."""

from __future__ import annotations

from dataclasses import dataclass

from identity.domain.client import Client
from identity.domain.resources import Resources


@dataclass(frozen=True, slots=True)
class ValidatedTokenRequest:
    """A token request that passed every check: who asks, for which grant, with which scopes."""

    client: Client
    grant_type: str
    scopes: tuple[str, ...]
    resources: Resources
    subject: str | None = None
