"""The grant pipeline of the token endpoint, and the life of every persisted grant.

- `handler`: the `GrantHandler` protocol and the one context object of a token request.
- `registry`: the table of grant handlers, one line per `grant_type`.
- one module per grant: `authorization_code`, `client_credentials`, `refresh_token`.
- `pipeline`: select the handler, validate, redeem (the one step that changes the store), issue.
- `issuing`: the token response (access, refresh and ID tokens).
- `handles`, `records`, `families`: handles and their storage keys, the typed data of each kind
  of persisted grant and its serialisation, family and replay revocation.
"""
