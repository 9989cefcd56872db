"""The audit trail of changes made by programs: the management API and client registration.

Recorded in the transaction of the change, so a change and its record land or fail together.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from identity import clock
from identity.models import AuditEvent


def record(*, actor: str, via: str, action: str, target_type: str, target: str,
           changes: Mapping[str, tuple[Any, Any]] | None = None) -> AuditEvent:
    """Store one audit event; `changes` maps field names to (before, after), JSON-compatible."""
    return AuditEvent.objects.create(
        at=clock.now(), actor=actor[:400], via=via, action=action, target_type=target_type,
        target=target[:200], changes={k: list(v) for k, v in (changes or {}).items()})
