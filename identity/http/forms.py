"""Read a back-channel form post from Django's request, with the configured limits."""

from __future__ import annotations

from collections.abc import Mapping

from django.http import HttpRequest
from django.http.request import RawPostDataException

from identity.conf import identity_settings
from identity.errors import InvalidRequest
from identity.validation.params import parse_form


def read_form(http: HttpRequest) -> Mapping[str, str]:
    """Return the form parameters, refusing oversized bodies before reading them."""
    limit = identity_settings.MAX_REQUEST_BODY
    try:
        declared = int(http.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise InvalidRequest("invalid Content-Length") from None
    if declared > limit:
        raise InvalidRequest("the request body is too large")
    try:
        body = http.read(limit + 1)
    except (OSError, RawPostDataException):
        raise InvalidRequest("the request body could not be read") from None
    return parse_form(body, http.content_type or "", max_body=limit,
                      max_lengths=identity_settings.INPUT_LENGTHS,
                      default_max_length=identity_settings.DEFAULT_INPUT_LENGTH)
