"""Events other apps can listen to. Receivers get ids and codes, never tokens or secrets."""

from __future__ import annotations

from django.dispatch import Signal

# client_id, grant_type, scopes
token_issued = Signal()
# client_id, address, reason (the error's detail)
client_authentication_failed = Signal()
# client_id: sent at most once per LAST_USED_INTERVAL per process, for "last used" bookkeeping
client_used = Signal()
# client_id, kind ("access_token" or "refresh_token")
token_revoked = Signal()
