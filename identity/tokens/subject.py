"""Subject identifiers: public, or pairwise per sector when the client has a salt.

Spec: OpenID Connect Core §8.1 (pairwise identifiers).
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlsplit

from identity.domain.client import Client


def subject_for(client: Client, subject_id: str) -> str:
    """Return the `sub` this client sees for a user."""
    salt = client.pair_wise_subject_salt
    if not salt:
        return subject_id
    sector = urlsplit(client.redirect_uris[0]).hostname if client.redirect_uris else None
    material = f"{sector or client.client_id}{subject_id}{salt}".encode()
    return base64.urlsafe_b64encode(hashlib.sha256(material).digest()).rstrip(b"=").decode()
