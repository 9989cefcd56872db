"""Which application a page speaks for: its name, logo and home page, as the pages show them."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from django.urls import reverse

from identity.domain.client import Client
from identity.stores.interfaces import find_enabled_client
from identity.stores.registry import get_client_store

_URL_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class Branding:
    """The client as a page names it; `logo` and `link` only when they are web URLs."""

    name: str
    logo: str | None
    link: str | None


def _web_url(value: str | None) -> str | None:
    # Only http(s): a javascript: or data: URI from a client's configuration never reaches a page.
    if not value or len(value) > _URL_LIMIT:
        return None
    parts = urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.netloc else None


def branding(client: Client | None) -> Branding | None:
    """Return how a page shows `client` (None for none)."""
    if client is None:
        return None
    return Branding(client.client_name or client.client_id, _web_url(client.logo_uri),
                    _web_url(client.client_uri))


def authorize_query(url: str) -> dict[str, list[str]] | None:
    """Return the parameters of `url` when it is our own authorize endpoint's URL (the login
    page's `next`, the consent page's `return`), or None for any other URL."""
    if not url or len(url) > _URL_LIMIT * 4:
        return None
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or parts.path != reverse("identity:authorize"):
        return None
    return parse_qs(parts.query)


def client_of_authorize_url(url: str) -> Client | None:
    """Return the enabled client named by our authorize URL `url`, or None."""
    ids = (authorize_query(url) or {}).get("client_id", [])
    if len(ids) != 1 or not ids[0] or len(ids[0]) > 200 or "\x00" in ids[0]:
        return None
    return find_enabled_client(get_client_store(), ids[0])
