"""Optimistic concurrency: an `ETag` on every object, `If-Match` honoured on every write.

The tag is a digest of the object's representation, so any change (by the API, the admin or an
import) gives a new one. A write carrying `If-Match` is refused with 412 when the object no
longer has that tag, checked against the row locked for the write, so that of two writers who
read the same version only the first succeeds. Spec: RFC 9110 §8.8.3, §13.1.1.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.request import Request


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = ("The object was changed since you read it; read it again (GET), then "
                      "repeat your change with its new ETag in If-Match.")
    default_code = "precondition_failed"


def etag(representation: Any) -> str:
    """Return the strong entity tag of a representation."""
    canonical = json.dumps(representation, sort_keys=True, separators=(",", ":"), default=str)
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'


def check_if_match(request: Request, current: Any) -> None:
    """Raise PreconditionFailed unless `If-Match` is absent, `*`, or names the current tag."""
    header = request.headers.get("If-Match")
    if header is None:
        return
    tags = [t.strip() for t in header.split(",") if t.strip()]
    if "*" in tags:
        return
    # Weak comparison is not allowed for If-Match (RFC 9110 §13.1.1): W/ tags never match.
    if etag(current) not in tags:
        raise PreconditionFailed()
