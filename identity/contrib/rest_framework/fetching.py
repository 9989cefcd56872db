"""HTTP calls to the identity server with the standard library: GET for the discovery
document and the keys, POST for introspection.

urllib.request keeps the package free of an HTTP client dependency. Every call has a timeout
(a hung identity server must not hold the API's workers) and a size bound (a wrong URL must
not make the API read a large download into memory).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlencode

from identity.contrib.rest_framework.failures import _Unavailable

MAX_BYTES: Final = 1024 * 1024


def fetch_json(url: str, *, timeout: float, form: Mapping[str, str] | None = None,
               headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    """GET `url` (POST `form`, form-urlencoded, when given) and return its JSON object; raise
    _Unavailable on any network error, non-200 answer or body that is not a JSON object."""
    sent = {"Accept": "application/json", **(headers or {})}
    data = None
    if form is not None:
        data = urlencode(form).encode("ascii")
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    request = urllib.request.Request(url, data=data, headers=sent,
                                     method="POST" if form is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status = response.status
            body = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as err:
        raise _Unavailable(f"{url} answered HTTP {err.code}") from None
    except (OSError, ValueError) as err:  # URLError, timeouts, resets, malformed URLs
        raise _Unavailable(f"{url} could not be reached: {err}") from None
    if status != 200:
        raise _Unavailable(f"{url} answered HTTP {status}")
    if len(body) > MAX_BYTES:
        raise _Unavailable(f"{url} answered more than {MAX_BYTES} bytes")
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        raise _Unavailable(f"{url} did not answer JSON") from None
    if not isinstance(document, dict):
        raise _Unavailable(f"{url} did not answer a JSON object")
    return document
