"""OAuth 2.0 / OpenID Connect protocol app."""

__version__ = "0.1.0"
