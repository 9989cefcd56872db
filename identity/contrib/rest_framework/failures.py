"""Why a token was not accepted, before it becomes Django REST framework's 401.

The verifying modules raise these rather than DRF's exceptions so that they can be read and
tested without a request, and so that the authentication class alone decides what the client
is told (a fetch failure is logged in detail but answered like any invalid token).
"""

from __future__ import annotations


class _InvalidToken(Exception):
    """The token is malformed, forged, expired or not meant for this API. The message is
    safe to send back as the challenge's error_description: it never quotes the token."""


class _Unavailable(Exception):
    """The identity server's metadata, keys or introspection could not be had: the token could
    not be checked. The message is for the log; the client sees an invalid_token answer."""
