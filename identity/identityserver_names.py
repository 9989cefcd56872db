"""IdentityServer's PascalCase property names for our snake_case attributes."""

from __future__ import annotations

from typing import Final

# Where IdentityServer's spelling is not a plain PascalCase of our attribute name.
_IRREGULAR: Final = {
    "require_dpop": "RequireDPoP",
    "dpop_validation_mode": "DPoPValidationMode",
    "dpop_clock_skew": "DPoPClockSkew",
    "allowed_cors_origins": "AllowedCorsOrigins",
}


def json_name(attribute: str) -> str:
    """Return IdentityServer's name for `attribute`, e.g. `client_id` -> `ClientId`."""
    return _IRREGULAR.get(attribute) or "".join(p.capitalize() for p in attribute.split("_"))
