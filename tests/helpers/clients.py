"""Client factories more than one test folder needs, on top of tests/factories.py."""

from __future__ import annotations

from typing import Any


def reference_client(client_id: str = "interactive", **overrides: Any) -> Any:
    """A client whose access tokens are opaque handles (IdentityServer AccessTokenType
    Reference): the interactive client's settings for "interactive", a client-credentials
    client's for any other id."""
    from identity.constants import AccessTokenType
    from tests.factories import make_client, make_interactive_client

    make = make_interactive_client if client_id == "interactive" else make_client
    return make(client_id, access_token_type=AccessTokenType.Reference, **overrides)
