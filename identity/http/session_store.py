"""Django's database session engine, writing a signed-in session's row once.

Django's `login()` rotates the session key (against session fixation) with `cycle_key()`, which
inserts an empty row under the new key at once; the session middleware then updates that row
with the signed-in user at the end of the response: two writes for one row. Here the new key is
only drawn when the response saves the session, as Django already does after `flush()`, so the
row is inserted once, holding the user. The old row is deleted at rotation, as before.

The new key is not looked up before the insert: the insert itself refuses a key in use, and
Django's `create()` then draws another.

Use it with `SESSION_ENGINE = "identity.http.session_store"`.
"""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.utils.crypto import get_random_string


class SessionStore(db.SessionStore):
    """The database session store, with a key rotation that writes nothing until the save."""

    def cycle_key(self) -> None:
        """Drop the current key (and its row); the response's save inserts the data anew."""
        data = dict(self.items())  # loads it first, when not loaded yet
        key = self.session_key
        self._session_key = None
        self._session_cache = data
        self.modified = True  # so that the session middleware saves it, and sets the cookie
        if key:
            self.delete(key)

    def _get_new_session_key(self) -> str:
        # A collision makes the forced insert fail, and create() draws again.
        return get_random_string(32, VALID_KEY_CHARS)
